-- The roles the functions log in as (issue 10): never the master user, which the migrate function alone keeps
-- (it owns every table and runs the DDL). Each role gets the statements its code runs (adapters/repository.py,
-- slots.py, queries.py) on the tables it runs them on, and nothing else: no DDL, no temporary tables, no
-- schema_migrations. The names are functions/manifest.json "database_roles". Their passwords are in no file:
-- the migrate function sets them from the roles' Secrets Manager secrets (adapters/dbroles.py).
--
-- Roles belong to the cluster, not to one database: the first database migrated creates them (concurrent
-- migrations of two databases may race to, hence the handlers). LOGIN without a password logs nobody in
-- until one is set.
DO $$
BEGIN
    CREATE ROLE invoice_pipeline LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$
BEGIN
    CREATE ROLE invoice_api LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- Nothing through PUBLIC: no objects in the schema (Postgres 15 already revokes that; older clusters upgraded
-- in place may not), no temporary tables in this database.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END $$;
GRANT USAGE ON SCHEMA public TO invoice_pipeline, invoice_api;

-- The pipeline: Register, admission, StartAnalysis, the callback, Parse, Validate, Persist, RecordFailure.
-- SELECT ... FOR UPDATE needs UPDATE on the table (documents, task_tokens' upsert, textract_slots, the pace).
-- Persist deletes a document's invoices; their line items go with them by ON DELETE CASCADE, which Postgres
-- runs with the table owner's rights, so line_items needs no DELETE.
GRANT SELECT, INSERT, UPDATE ON documents TO invoice_pipeline;
GRANT SELECT, INSERT ON document_events TO invoice_pipeline;
GRANT SELECT, INSERT, DELETE ON invoices TO invoice_pipeline;
GRANT SELECT, INSERT ON line_items TO invoice_pipeline;
GRANT SELECT, INSERT, UPDATE ON task_tokens TO invoice_pipeline;
GRANT SELECT, INSERT, UPDATE, DELETE ON textract_slots TO invoice_pipeline;
GRANT SELECT, UPDATE ON textract_pace TO invoice_pipeline;

-- The API reads documents, their timelines, invoices and line items, and writes one thing: the timeline event
-- a reprocess request records (repository.record_reprocess_requests). The reprocess itself runs in the
-- pipeline (the intake starts an execution; Register re-registers the document).
GRANT SELECT ON documents, document_events, invoices, line_items TO invoice_api;
GRANT INSERT ON document_events TO invoice_api;

GRANT USAGE ON SEQUENCE document_events_id_seq TO invoice_pipeline, invoice_api;

-- Later migrations' objects: Postgres gives a new table or sequence to nobody but its owner, so the functions
-- reach one only through a GRANT in the migration that creates it (tests/integration/test_database_roles.py
-- fails for a table no role was granted or deliberately denied). Functions are the exception, executable by
-- PUBLIC by default: not those the migrations create.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
