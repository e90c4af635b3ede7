-- Review (issue 12): a reviewer claims an invoice, corrects it, and approves or rejects it; every change is an
-- append-only audit row (adapters/review_store.py, domain/review.py, api/review.py).

-- The two states a person decides (domain/status.py InvoiceStatus).
ALTER TABLE invoices DROP CONSTRAINT invoices_validation_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_validation_status_check
    CHECK (validation_status IN ('COMPLETED', 'NEEDS_REVIEW', 'APPROVED', 'REJECTED'));

-- version: bumped by every review change; the ETag that If-Match must name (optimistic concurrency).
-- claimed_by/claim_expires_at: who works on it now, until when. decided_*: the approval or rejection.
ALTER TABLE invoices
    ADD COLUMN version          integer NOT NULL DEFAULT 1,
    ADD COLUMN claimed_by       text,
    ADD COLUMN claim_expires_at timestamptz,
    ADD COLUMN decided_by       text,
    ADD COLUMN decided_at       timestamptz,
    ADD COLUMN decision_reason  text,
    ADD CONSTRAINT invoices_claim_has_expiry CHECK ((claimed_by IS NULL) = (claim_expires_at IS NULL));
CREATE INDEX invoices_review_queue ON invoices (validation_status, created_at);

-- The audit trail. No foreign key to invoices: a reprocess replaces a document's invoice rows (Persist), and
-- their history must outlive them; the document is kept (no ON DELETE CASCADE: deleting an audited document is
-- refused). engine/vendor are copied in at the time, for the accuracy figures, for the same reason.
CREATE TABLE invoice_audit (
    id                  bigserial PRIMARY KEY,
    invoice_id          uuid NOT NULL,
    document_id         uuid NOT NULL REFERENCES documents (id),
    actor               text NOT NULL,
    at                  timestamptz NOT NULL DEFAULT now(),
    action              text NOT NULL CHECK (action IN ('CLAIM', 'RELEASE', 'EDIT', 'APPROVE', 'REJECT', 'CLEAR_DUPLICATE')),
    field               text,
    old_value           text,
    new_value           text,
    original_value      text,
    original_confidence numeric,
    engine              text,
    vendor_name         text,
    status_after        text NOT NULL,
    reason              text,
    CONSTRAINT invoice_audit_edit_names_field CHECK ((action = 'EDIT') = (field IS NOT NULL))
);
CREATE INDEX invoice_audit_invoice ON invoice_audit (invoice_id, id);
CREATE INDEX invoice_audit_at ON invoice_audit (at) WHERE action = 'EDIT';

-- Append-only: the grants below keep the API's role to SELECT and INSERT (no UPDATE, DELETE or TRUNCATE), and
-- this trigger refuses a change to a row or its deletion to every role, the owner included. TRUNCATE is left to
-- the owner (the administrator emptying a database wholesale, as the tests do); no function role holds it.
CREATE FUNCTION invoice_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'invoice_audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER invoice_audit_no_change BEFORE UPDATE OR DELETE ON invoice_audit
    FOR EACH ROW EXECUTE FUNCTION invoice_audit_append_only();

-- The API: what review writes, column by column (a corrected field's confidence becomes a person's, 1, and
-- its conflicting alternatives go); nothing else of the invoice (its id, document, sequence, provenance,
-- creation time) and nothing of the audit but new rows. These UPDATE grants also allow SELECT ... FOR UPDATE.
GRANT UPDATE (invoice_number, vendor_name, vendor_address, vendor_tax_id, customer_name, customer_address,
              invoice_date, due_date, po_number, currency, subtotal, tax, discount, total, amount_due,
              validation_status, issues, confidence, alternatives, version, claimed_by, claim_expires_at,
              decided_by, decided_at, decision_reason)
    ON invoices TO invoice_api;
GRANT UPDATE (description, quantity, unit_price, amount, product_code) ON line_items TO invoice_api;
-- A reviewer adds a line the engine missed, or removes one it made up.
GRANT INSERT, DELETE ON line_items TO invoice_api;
GRANT SELECT, INSERT ON invoice_audit TO invoice_api;
GRANT USAGE ON SEQUENCE invoice_audit_id_seq TO invoice_api;
-- The pipeline reads the trail (a reprocess keeps it; nothing in the pipeline writes it).
GRANT SELECT ON invoice_audit TO invoice_pipeline;
