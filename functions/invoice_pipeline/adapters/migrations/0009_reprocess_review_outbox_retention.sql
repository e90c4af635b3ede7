-- Two operational mends of issue 12.
--
-- 1. A reprocess that discards review work (POST /documents/{id}/reprocess?discard_review=true; api/
--    reprocess_review.py) says so in the trail first: one REPROCESS row per invoice whose decision or
--    corrections it replaces (domain/review.py Action lists the same names). The EDIT rows stay as they were.
ALTER TABLE invoice_audit DROP CONSTRAINT invoice_audit_action_check;
ALTER TABLE invoice_audit ADD CONSTRAINT invoice_audit_action_check
    CHECK (action IN ('CLAIM', 'RELEASE', 'EDIT', 'APPROVE', 'REJECT', 'CLEAR_DUPLICATE', 'REPROCESS'));

-- 2. Retention of the outbox: the publish-events function deletes published events older than
--    terraform var.outbox_retention_days, a bounded batch at a time (adapters/outbox.purge_published). Pending
--    events are never deleted (published_at IS NULL).
GRANT DELETE ON event_outbox TO invoice_pipeline;
CREATE INDEX event_outbox_published ON event_outbox (published_at) WHERE published_at IS NOT NULL;
