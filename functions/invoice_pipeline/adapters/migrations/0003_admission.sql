-- Admission control: a document waits (QUEUED) for one of a bounded number of Textract slots, and starts at
-- a bounded rate (adapters/slots.py, domain/admission.py).
ALTER TABLE documents DROP CONSTRAINT documents_status_check;
ALTER TABLE documents ADD CONSTRAINT documents_status_check
    CHECK (status IN ('RECEIVED', 'QUEUED', 'ANALYZING', 'PARSING', 'VALIDATING',
                      'COMPLETED', 'NEEDS_REVIEW', 'FAILED', 'DUPLICATE'));

-- One row per document waiting for a slot (WAITING: its execution waits on task_token) or holding one (HELD:
-- from the grant until Textract's completion, the document's failure, or expires_at for an execution that
-- died without either).
CREATE TABLE textract_slots (
    document_id   uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    state         text NOT NULL CHECK (state IN ('WAITING', 'HELD')),
    task_token    text NOT NULL,
    execution_arn text,
    enqueued_at   timestamptz NOT NULL DEFAULT now(),
    granted_at    timestamptz,
    start_at      timestamptz,
    expires_at    timestamptz,
    CONSTRAINT textract_slots_held_has_lease CHECK ((state = 'HELD') = (expires_at IS NOT NULL))
);
CREATE INDEX textract_slots_waiting ON textract_slots (enqueued_at, document_id) WHERE state = 'WAITING';
CREATE INDEX textract_slots_held ON textract_slots (expires_at) WHERE state = 'HELD';

-- The start-rate clock: the earliest time the next granted document may call StartExpenseAnalysis. Its one
-- row is also the lock that serializes dispatchers.
CREATE TABLE textract_pace (
    id            smallint PRIMARY KEY CHECK (id = 1),
    next_start_at timestamptz NOT NULL
);
INSERT INTO textract_pace (id, next_start_at) VALUES (1, '1970-01-01T00:00:00Z');
