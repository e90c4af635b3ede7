"""Lambda entry points, one module per function: parse the event, call domain code, shape the result."""
