"""I/O adapters: Postgres, AWS clients. Created once per process and reused."""
