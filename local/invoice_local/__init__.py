"""Local mode: the pipeline on one machine with no AWS account, and the `invoices` command line."""
