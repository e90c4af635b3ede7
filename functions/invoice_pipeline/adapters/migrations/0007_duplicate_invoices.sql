-- The duplicate-invoice control (issue 12; domain/duplicates.py, adapters/duplicates.py): the same invoice from
-- other bytes (a scan of a PDF, a re-send) is flagged POSSIBLE_DUPLICATE, linked to the earlier one and held
-- for review.
--
-- The lookup keys, filled by Persist from the normalized invoice with the Python folding of
-- domain/duplicates.py (NFKC, invisible characters, homoglyphs, OCR look-alikes, legal forms). Rows stored
-- before this migration keep NULL keys and are not compared: SQL cannot reproduce that folding exactly
-- (Postgres' lower() and character classes are not Python's casefold and isalnum), and a second definition
-- that disagrees would be worse than none. Reprocessing a document fills its keys.
ALTER TABLE invoices
    ADD COLUMN seller_tax_key text,
    ADD COLUMN seller_name_key text,
    ADD COLUMN number_key text,
    -- UNTDID 1001 credit-note codes (domain/duplicates.py CREDIT_NOTE_TYPES): compared only with each other.
    ADD COLUMN credit_note boolean NOT NULL DEFAULT false,
    -- The earlier invoice this one possibly duplicates, its document, and the tier of the match. Persist
    -- rewrites a document's invoices with new ids when it is reprocessed: the invoice link is then cleared,
    -- and the document link (which a reprocessed original never matches again) remains.
    ADD COLUMN duplicate_of_invoice uuid REFERENCES invoices (id) ON DELETE SET NULL,
    ADD COLUMN duplicate_of_document uuid REFERENCES documents (id) ON DELETE SET NULL,
    ADD COLUMN duplicate_tier text CHECK (duplicate_tier IN ('strong', 'weak')),
    -- A reviewer's decision: NULL while pending.
    ADD COLUMN duplicate_review text CHECK (duplicate_review IN ('cleared', 'confirmed')),
    ADD CONSTRAINT invoices_duplicate_link CHECK (duplicate_tier IS NOT NULL OR (duplicate_of_invoice IS NULL
                                                  AND duplicate_of_document IS NULL AND duplicate_review IS NULL));

-- Both tiers need the same total: the strong one looks up by number, the weak one by date.
CREATE INDEX invoices_duplicate_number ON invoices (number_key, total) WHERE number_key IS NOT NULL;
CREATE INDEX invoices_duplicate_date ON invoices (invoice_date, total) WHERE invoice_date IS NOT NULL;

-- Persist fills the keys and the flag after inserting the rows (adapters/duplicates.flag_duplicates); the rest of
-- an invoice it only ever inserts or deletes.
GRANT UPDATE (seller_tax_key, seller_name_key, number_key, credit_note, duplicate_of_invoice, duplicate_of_document,
              duplicate_tier, issues, validation_status) ON invoices TO invoice_pipeline;

-- The review routes clear a flag (issues and validation_status recomputed) or confirm it, and after an edit
-- look again (new keys, link and tier: adapters/duplicates.recheck_in); nothing else of an invoice is theirs to
-- change here.
GRANT UPDATE (duplicate_review, issues, validation_status, seller_tax_key, seller_name_key, number_key,
              credit_note, duplicate_of_invoice, duplicate_of_document, duplicate_tier) ON invoices TO invoice_api;
