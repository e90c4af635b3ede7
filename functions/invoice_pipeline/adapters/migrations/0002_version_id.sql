-- The object's version has one name along the whole path (state payloads, this table, the API, the CLI):
-- version_id. The unique constraint documents_source_unique follows the column (its name does not mention it).
ALTER TABLE documents RENAME COLUMN object_version TO version_id;
COMMENT ON COLUMN documents.version_id IS
    'S3 version id of the object, or its ETag when the bucket is not versioned: a redelivered event names the '
    'same version, a new upload under the same key does not.';
