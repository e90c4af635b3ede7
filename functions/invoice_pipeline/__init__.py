"""Invoice pipeline: pure domain code, AWS/Postgres adapters and thin Lambda handlers."""
