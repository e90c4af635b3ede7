"""Deterministic, realistic sample invoices for local runs, tests and demos.

`generate(out_dir, seed=7)` writes digital PDFs in six locales (en-US, de-DE, fr-FR, nl-NL, es-ES, en-GB), a
two-page German invoice, a scanned-looking Swiss JPEG, one truncated PDF, and labels.jsonl with the ground truth
of every valid invoice. All vendors, customers, addresses and numbers are fictional. Command line:
`python -m invoice_local.samples OUT_DIR [--seed N]`."""

from invoice_local.samples.generate import BROKEN, LABELS, generate
from invoice_local.samples.run_set import FACTURX_SAMPLE, RESENT_FROM, RESENT_SAMPLE, run_set

__all__ = ["BROKEN", "FACTURX_SAMPLE", "LABELS", "RESENT_FROM", "RESENT_SAMPLE", "generate", "run_set"]
