# Storage: the customer-managed key that encrypts the pipeline's data at rest, the ingest bucket (uploads
# under incoming/), the results bucket (normalized invoices under results/, Textract's raw output under
# var.textract_output_prefix), and the bucket receiving their S3 server access logs.

# --- the customer-managed key --------------------------------------------------------------------------

resource "aws_kms_key" "main" {
  description             = "${local.name}: invoices, results, queues, topics, logs, secrets and the database"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}

# A key policy, not an IAM policy: Resource "*" here means "this key". ARNs are built from names rather than
# taken from the resources, so the key does not wait for (or depend on) everything it protects.
data "aws_iam_policy_document" "kms" {
  statement {
    sid       = "AccountAdministersTheKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # The actions of CloudWatch Logs' documented statement ("Encrypt log data in CloudWatch Logs using AWS KMS")
  # that carry an encryption context: its kms:Describe* matched none under this condition (DescribeKey has no
  # context, so the condition always failed there), and parliament reports it (UNKNOWN_CONDITION_FOR_ACTION).
  statement {
    sid       = "CloudWatchLogsEncryptsThePipelineLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.${local.dns_suffix}"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [for p in local.log_group_name_patterns : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${p}"]
    }
  }

  # CloudWatch Logs' vended-log delivery decrypts the data key the state machine's role made for its
  # encrypted execution logs (Step Functions Developer Guide, "Data at rest encryption", CloudWatch Logs).
  statement {
    sid       = "LogDeliveryDecrypts"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["delivery.logs.${local.dns_suffix}"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # EventBridge puts upload events on the intake queue and dead letters on the events DLQ, both under this
  # key. AWS documents this grant without a condition: the SQS Developer Guide, "Amazon SQS Key
  # management", section "Configure KMS permissions for AWS services", gives the event-source service
  # kms:GenerateDataKey and kms:Decrypt on the key and no Condition; the EventBridge User Guide, "Using
  # dead-letter queues to process undelivered events" (section "Granting permissions to the dead-letter
  # queue"), scopes the sender with aws:SourceArn on the queue's resource policy only. No page documents
  # aws:SourceAccount or aws:SourceArn in the request SQS makes to KMS for EventBridge, and a condition on
  # a key that request does not carry denies it: uploads would not reach the intake queue and dead letters
  # would be dropped (InvocationsFailedToBeSentToDLQ), exactly when they matter. The sender stays scoped:
  # each queue's own policy (queue_policies.tf) takes events.amazonaws.com only from this deployment's rule.
  statement {
    sid       = "EventBridgeWritesToItsEncryptedQueues"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.${local.dns_suffix}"]
    }
  }

  # The downstream events' bus (downstream_events.tf) encrypts its events under this key: EventBridge checks
  # the key when the bus is created or changed (DescribeKey, which carries no encryption context), and uses it
  # for that bus only (EventBridge User Guide, "Authorizing EventBridge to use a customer managed key").
  statement {
    sid       = "EventBridgeChecksTheKeyOfTheEventsBus"
    actions   = ["kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.${local.dns_suffix}"]
    }
  }

  statement {
    sid       = "EventBridgeEncryptsTheEventsBus"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.${local.dns_suffix}"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:events:event-bus:arn"
      values   = [local.events_bus_arn]
    }
  }

  # Services that put messages on the encrypted queues and topics: SNS (the callback subscription's dead
  # letters) and CloudWatch (alarm notifications).
  statement {
    sid       = "ServicesWriteToEncryptedQueuesAndTopics"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["sns.${local.dns_suffix}", "cloudwatch.${local.dns_suffix}"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

locals {
  log_group_name_patterns = [
    "/aws/lambda/${local.name}-*",
    "/aws/vendedlogs/states/${local.name}-*",
    "/aws/apigateway/${local.name}-*",
    "/aws/vpc/${local.name}-*",
    "/aws/rds/instance/${local.name}-*",
  ]
}

# --- buckets -------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "ingest" {
  #checkov:skip=CKV_AWS_144:Cross-region replication needs a second region's bucket and key: a disaster-recovery decision per deployment. Versioning and the lifecycle rules cover accidental deletion here.
  bucket        = "${local.name}-ingest-${local.bucket_suffix}"
  force_destroy = var.force_destroy_buckets
}

resource "aws_s3_bucket" "results" {
  #checkov:skip=CKV_AWS_144:Cross-region replication needs a second region's bucket and key: a disaster-recovery decision per deployment. Results can be re-derived from the ingest bucket.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to results: the functions that write them pass pointers through the state machine.
  bucket        = "${local.name}-results-${local.bucket_suffix}"
  force_destroy = var.force_destroy_buckets
}

# The Lambda code package and dependency layer. Functions created from S3 rather than from a local file: the
# AWS provider uploads local files one function at a time (a global lock held through each function's
# creation wait), S3 lets them be created in parallel, and a package over 50 MB zipped can only come this way.
resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_144:Cross-region replication needs a second region's bucket and key; the packages are rebuilt from the repository by `make build`.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to a new package: Terraform itself points the functions at it.
  bucket        = "${local.name}-artifacts-${local.bucket_suffix}"
  force_destroy = var.force_destroy_buckets
}

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:S3 server access logging cannot deliver to a bucket whose default encryption is SSE-KMS; it uses SSE-S3.
  #checkov:skip=CKV2_AWS_62:Log objects are read by people and tools on demand; nothing reacts to their arrival.
  #checkov:skip=CKV_AWS_144:Access logs are not replicated to another region; they expire after access_log_expiration_days.
  bucket        = "${local.name}-access-logs-${local.bucket_suffix}"
  force_destroy = var.force_destroy_buckets
}

locals {
  buckets = {
    ingest      = aws_s3_bucket.ingest
    results     = aws_s3_bucket.results
    artifacts   = aws_s3_bucket.artifacts
    access_logs = aws_s3_bucket.access_logs
  }
  # Buckets whose access is logged (into access_logs), with their prefix there.
  logged_buckets = {
    ingest    = aws_s3_bucket.ingest.id
    results   = aws_s3_bucket.results.id
    artifacts = aws_s3_bucket.artifacts.id
  }
}

resource "aws_s3_bucket_ownership_controls" "all" {
  for_each = local.buckets
  bucket   = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: access is decided by policies alone
  }
}

resource "aws_s3_bucket_public_access_block" "all" {
  for_each                = local.buckets
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "all" {
  for_each = local.buckets
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  for_each = local.logged_buckets
  bucket   = each.value
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true # one KMS call per bucket key rather than per object: cost and throttling
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256" # the only encryption S3 log delivery writes into
    }
  }
}

resource "aws_s3_bucket_logging" "data" {
  for_each      = local.logged_buckets
  bucket        = each.value
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${each.key}/"
  # The log bucket's policy must let the logging service write before S3 (and the emulation) accept this.
  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "ingest" {
  bucket = aws_s3_bucket.ingest.id
  # Versioning must be on before a rule about noncurrent versions means anything.
  depends_on = [aws_s3_bucket_versioning.all]

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  bucket     = aws_s3_bucket.results.id
  depends_on = [aws_s3_bucket_versioning.all]

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  # Exports outlive their presigned URL (15 minutes) only to be downloaded again soon after.
  rule {
    id     = "expire-exports"
    status = "Enabled"
    filter {
      prefix = local.exports_prefix
    }
    expiration {
      days = var.export_expiration_days
    }
  }

  # Textract's raw output is only needed to debug a parse: the normalized invoice is what the pipeline keeps.
  rule {
    id     = "expire-textract-output"
    status = "Enabled"
    filter {
      prefix = "${var.textract_output_prefix}/"
    }
    expiration {
      days = var.textract_output_expiration_days
    }
  }
}

# Packages replaced by a later deploy are kept a while for a rollback, then expire.
resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket     = aws_s3_bucket.artifacts.id
  depends_on = [aws_s3_bucket_versioning.all]

  rule {
    id     = "expire-replaced-packages"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  depends_on = [aws_s3_bucket_versioning.all]

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# Browser uploads go straight to S3 through presigned URLs from POST /documents; the review view reads a PDF
# through the presigned GET of GET /documents/{id}/content (pdf.js fetches it from script, hence GET).
resource "aws_s3_bucket_cors_configuration" "ingest" {
  count  = length(var.cors_allow_origins) > 0 ? 1 : 0
  bucket = aws_s3_bucket.ingest.id
  cors_rule {
    allowed_methods = ["GET", "PUT", "POST"]
    allowed_origins = var.cors_allow_origins
    allowed_headers = ["*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3000
  }
}

# S3 sends every object event of the ingest bucket to EventBridge; events.tf picks "Object Created" under
# incoming/. (The emulation keeps no such flag: a re-plan there shows this resource drifting.)
resource "aws_s3_bucket_notification" "ingest" {
  bucket      = aws_s3_bucket.ingest.id
  eventbridge = true
}

# --- bucket policies -----------------------------------------------------------------------------------

data "aws_iam_policy_document" "access_logs" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["bucket_access_logs"].json]

  # One statement per source bucket, each limited to that bucket's prefix and identity.
  dynamic "statement" {
    for_each = local.logged_buckets
    content {
      sid       = "S3ServerAccessLogsOf${replace(title(replace(statement.key, "_", " ")), " ", "")}"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.access_logs.arn}/${statement.key}/*"]
      principals {
        type        = "Service"
        identifiers = ["logging.s3.${local.dns_suffix}"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = ["arn:${local.partition}:s3:::${statement.value}"]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "ingest" {
  bucket = aws_s3_bucket.ingest.id
  policy = data.aws_iam_policy_document.tls_only["bucket_ingest"].json
  # One bucket-level call at a time: S3 rejects concurrent configuration changes to a bucket.
  depends_on = [aws_s3_bucket_public_access_block.all]
}

resource "aws_s3_bucket_policy" "results" {
  bucket     = aws_s3_bucket.results.id
  policy     = data.aws_iam_policy_document.tls_only["bucket_results"].json
  depends_on = [aws_s3_bucket_public_access_block.all]
}

resource "aws_s3_bucket_policy" "artifacts" {
  bucket     = aws_s3_bucket.artifacts.id
  policy     = data.aws_iam_policy_document.tls_only["bucket_artifacts"].json
  depends_on = [aws_s3_bucket_public_access_block.all]
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  policy     = data.aws_iam_policy_document.access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.all]
}
