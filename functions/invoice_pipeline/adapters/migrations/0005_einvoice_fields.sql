-- What only a structured invoice states (issue 11): the e-invoice reader fills these, the OCR engines leave them
-- null (an OCR engine may set document_type, see domain/document_type.py). NULL means "the engine stated
-- nothing"; an e-invoice that states no allowances says so with an empty array. Which engine read the invoice,
-- and an e-invoice's format, syntax and profile, stay in provenance (engine, format, syntax, profile), which the
-- API exposes as they are.
--
-- New columns of tables already granted: the table-level grants of 0004_roles.sql cover them.
ALTER TABLE invoices
    ADD COLUMN document_type      text CHECK (document_type ~ '^[0-9]{1,3}$'),
    ADD COLUMN delivery_date      date,
    ADD COLUMN prepaid            numeric,
    ADD COLUMN allowances_charges jsonb,
    ADD COLUMN tax_breakdown      jsonb,
    ADD COLUMN payment            jsonb;
COMMENT ON COLUMN invoices.document_type IS
    'UNTDID 1001 code (BT-3): 380 invoice, 381 credit note, 384 corrected invoice, ... Amounts are stored as the '
    'document states them, never sign-flipped: a credit note is told apart by this code (schemas/invoice.schema.json).';

ALTER TABLE line_items
    ADD COLUMN unit     text,
    ADD COLUMN tax_rate numeric;
