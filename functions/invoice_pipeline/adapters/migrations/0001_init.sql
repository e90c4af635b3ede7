-- Documents: one row per uploaded object (bucket, key, version). Status moves
-- RECEIVED -> ANALYZING -> PARSING -> VALIDATING -> COMPLETED | NEEDS_REVIEW | FAILED | DUPLICATE.
CREATE TABLE documents (
    id              uuid PRIMARY KEY,
    bucket          text NOT NULL,
    object_key      text NOT NULL,
    -- S3 version id, or the ETag when the bucket is not versioned: a redelivered event names the same
    -- version, a new upload under the same key does not.
    object_version  text NOT NULL,
    sha256          char(64),
    size_bytes      bigint,
    media_type      text,
    page_count      integer,
    status          text NOT NULL CHECK (status IN ('RECEIVED', 'ANALYZING', 'PARSING', 'VALIDATING',
                                                    'COMPLETED', 'NEEDS_REVIEW', 'FAILED', 'DUPLICATE')),
    duplicate_of    uuid REFERENCES documents (id),
    error_code      text,
    error_message   text,
    execution_arn   text,
    textract_job_id text,
    result_key      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT documents_source_unique UNIQUE (bucket, object_key, object_version),
    CONSTRAINT documents_duplicate_has_original CHECK ((status = 'DUPLICATE') = (duplicate_of IS NOT NULL))
);

-- At most one live document per content: a second upload of the same bytes becomes a DUPLICATE of it.
-- FAILED documents leave the index, so re-uploading a file that failed processes it again.
CREATE UNIQUE INDEX documents_canonical_content ON documents (sha256)
    WHERE sha256 IS NOT NULL AND status NOT IN ('FAILED', 'DUPLICATE');
CREATE INDEX documents_status_created ON documents (status, created_at DESC, id);
CREATE INDEX documents_created ON documents (created_at DESC, id);

CREATE TABLE document_events (
    id            bigserial PRIMARY KEY,
    document_id   uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    from_status   text,
    to_status     text NOT NULL,
    detail        jsonb NOT NULL DEFAULT '{}'::jsonb,
    execution_arn text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX document_events_document ON document_events (document_id, id);

CREATE TABLE invoices (
    id               uuid PRIMARY KEY,
    document_id      uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    seq              integer NOT NULL,
    invoice_number   text,
    vendor_name      text,
    vendor_address   text,
    vendor_tax_id    text,
    customer_name    text,
    customer_address text,
    invoice_date     date,
    due_date         date,
    po_number        text,
    currency         char(3),
    subtotal         numeric,
    tax              numeric,
    discount         numeric,
    total            numeric,
    amount_due       numeric,
    validation_status text NOT NULL CHECK (validation_status IN ('COMPLETED', 'NEEDS_REVIEW')),
    issues           jsonb NOT NULL DEFAULT '[]'::jsonb,
    confidence       jsonb NOT NULL DEFAULT '{}'::jsonb,
    alternatives     jsonb NOT NULL DEFAULT '{}'::jsonb,
    provenance       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invoices_document_seq UNIQUE (document_id, seq)
);
CREATE INDEX invoices_vendor ON invoices (lower(vendor_name));
CREATE INDEX invoices_date ON invoices (invoice_date);

CREATE TABLE line_items (
    invoice_id   uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    description  text,
    quantity     numeric,
    unit_price   numeric,
    amount       numeric,
    product_code text,
    page         integer,
    PRIMARY KEY (invoice_id, position)
);

-- Step Functions task tokens can be 1,024 characters; Textract's JobTag holds 64. The short id goes to
-- Textract as JobTag and comes back in the SNS notification.
CREATE TABLE task_tokens (
    id            text PRIMARY KEY CHECK (length(id) <= 64),
    document_id   uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    task_token    text NOT NULL,
    execution_arn text,
    job_id        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    consumed_at   timestamptz,
    outcome       text
);
CREATE INDEX task_tokens_document ON task_tokens (document_id);
