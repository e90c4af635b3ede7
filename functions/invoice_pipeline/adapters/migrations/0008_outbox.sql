-- Events for the systems downstream (issue 12): each is written here in the same transaction as the change it
-- announces (adapters/outbox.py), then published to the pipeline's EventBridge bus by the pipeline itself
-- (publish.py): right after the commit by the function that wrote it, and every minute by the publish-events
-- function. A bus that is down delays the events; none is lost. Each is published at least once: event_id
-- (in the detail) lets a consumer drop a repeat, id is the detail's sequence (rising per document, in the
-- order of the changes).
CREATE TABLE event_outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    event_type   text NOT NULL,
    document_id  uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    -- No reference: a reprocessed document's invoices are replaced, and the event about the old one stays due.
    invoice_id   uuid,
    detail       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX event_outbox_pending ON event_outbox (id) WHERE published_at IS NULL;

-- The pipeline writes the events of its changes (Persist, RecordFailure) and publishes every event (marks it
-- published, counts failed attempts). The API writes the events of a reviewer's decision, and nothing else.
GRANT SELECT, INSERT, UPDATE ON event_outbox TO invoice_pipeline;
GRANT INSERT ON event_outbox TO invoice_api;
GRANT USAGE ON SEQUENCE event_outbox_id_seq TO invoice_pipeline, invoice_api;
