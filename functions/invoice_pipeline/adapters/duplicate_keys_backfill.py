"""The duplicate-control keys of invoices stored before migration 0007, which left them NULL: SQL cannot fold
text as domain/duplicates.py does (NFKC, invisible characters, OCR look-alikes, legal forms), so they are
computed here, by the same `keys_of` Persist uses, and written in batches. The migrate function runs it after
the SQL migrations, on every deploy: once the old rows have keys it finds nothing to do (it reads only rows
with no key at all but something to make one from).

Only the keys are filled, so that a new invoice is compared with the old ones; no old invoice is flagged
POSSIBLE_DUPLICATE after the fact (it may long have been paid)."""

from __future__ import annotations

import uuid

from invoice_pipeline.adapters.db import rows, transaction
from invoice_pipeline.domain.duplicates import keys_of

BATCH = 500

_WITHOUT_KEYS = """
SELECT id, vendor_tax_id, vendor_name, invoice_number, total, invoice_date, document_type FROM invoices
WHERE seller_tax_key IS NULL AND seller_name_key IS NULL AND number_key IS NULL
  AND (vendor_tax_id IS NOT NULL OR vendor_name IS NOT NULL OR invoice_number IS NOT NULL) AND id > :after
ORDER BY id LIMIT :n"""


def backfill(*, batch: int = BATCH) -> int:
    """Fill the keys of every invoice that has none but could; each batch its own transaction. Returns how
    many invoices got keys."""
    filled, after = 0, uuid.UUID(int=0)
    while True:
        with transaction() as con:
            found = rows(con, _WITHOUT_KEYS, after=after, n=batch)
            for row in found:
                keys = keys_of({"vendor": {"tax_id": row["vendor_tax_id"], "name": row["vendor_name"]},
                                "invoice_number": row["invoice_number"], "total": row["total"],
                                "invoice_date": row["invoice_date"], "document_type": row["document_type"]})
                if keys.seller_tax_key is None and keys.seller_name_key is None and keys.number_key is None:
                    continue
                con.run("UPDATE invoices SET seller_tax_key = :tax, seller_name_key = :name, number_key = :num,"
                        " credit_note = :credit WHERE id = :id", tax=keys.seller_tax_key, name=keys.seller_name_key,
                        num=keys.number_key, credit=keys.credit_note, id=row["id"])
                filled += 1
        if len(found) < batch:
            return filled
        after = found[-1]["id"]
