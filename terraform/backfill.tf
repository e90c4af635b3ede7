# The backfill: objects already stored go through the pipeline as if just uploaded.
#   aws stepfunctions start-execution --state-machine-arn <backfill_state_machine_arn> \
#     --input '{"bucket": "<bucket>", "prefix": "incoming/2024/"}'
# statemachine/backfill.asl.json: a Distributed Map lists s3://bucket/prefix and hands ten objects at a time to
# Express child workflows, whose function (handlers/backfill.py) sends each object the pipeline can process
# to the intake queue as the message its upload made. Admission control is the intake's (intake.tf), and an
# object already processed starts nothing new: its execution name is its upload's.

locals {
  backfill_name = "${local.name}-backfill"
  # Built from the name, like the pipeline's (functions.tf): the role's trust and policy name the state
  # machine, which cannot wait for its own role.
  backfill_state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.backfill_name}"

  # What the backfill may read, and so what Register and StartAnalysis may read of what it sends: the ingest
  # bucket's incoming/ (Register may not read the rest of it), then var.backfill_source_buckets.
  backfill_sources = concat(
    [{ bucket = aws_s3_bucket.ingest.bucket, prefix = local.ingest_prefix }],
    [for s in var.backfill_source_buckets : {
      bucket = regex("^([^/]+)/?(.*)$", s)[0]
      prefix = regex("^([^/]+)/?(.*)$", s)[1]
    }],
  )
  # Listing is granted per bucket, for its own prefixes only.
  backfill_prefixes_by_bucket = { for s in local.backfill_sources : s.bucket => s.prefix... }

  # statemachine/backfill.asl.json's ${placeholders}; tests/iac/test_asl_placeholders.py checks that each
  # gets a value and each value is used.
  backfill_template_values = {
    backfill_function_arn    = aws_lambda_function.fn["backfill"].arn
    backfill_max_concurrency = var.backfill_max_concurrency
  }
}

resource "aws_sfn_state_machine" "backfill" {
  #checkov:skip=CKV_AWS_285:Execution data in the logs would carry object keys, the uploaders' file names; events are logged without it, and the data stays in the execution history under the pipeline's key.
  name       = local.backfill_name
  type       = "STANDARD" # a Distributed Map runs in a Standard workflow; its children are Express (the ASL)
  role_arn   = aws_iam_role.backfill.arn
  definition = templatefile("${path.module}/../statemachine/backfill.asl.json", local.backfill_template_values)

  logging_configuration {
    log_destination = "${aws_cloudwatch_log_group.backfill.arn}:*"
    # Its data is bucket names, prefixes and object keys: keys are the uploaders' file names, which can name
    # people and vendors. As for the pipeline (statemachine.tf), the events are logged without their data,
    # which stays in the execution history, under the key below.
    include_execution_data = false
    level                  = var.state_machine_log_level
  }

  # Execution history (and the Distributed Map's children's) under the pipeline's key, as the pipeline's.
  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = aws_kms_key.main.arn
    kms_data_key_reuse_period_seconds = 300
  }

  tracing_configuration {
    enabled = true
  }

  # The role's permissions must exist before Step Functions checks them (it validates logging at create).
  depends_on = [aws_iam_role_policy.backfill]

  lifecycle {
    postcondition {
      condition     = self.arn == local.backfill_state_machine_arn
      error_message = "The backfill state machine ARN differs from local.backfill_state_machine_arn, which its role's trust and policy use."
    }
  }
}

resource "aws_cloudwatch_log_group" "backfill" {
  # /aws/vendedlogs/ keeps the log group out of the size-limited CloudWatch Logs resource policy.
  name              = "/aws/vendedlogs/states/${local.backfill_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "backfill" {
  name               = "${local.backfill_name}-state-machine"
  assume_role_policy = data.aws_iam_policy_document.backfill_trust.json
}

data "aws_iam_policy_document" "backfill_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.${local.dns_suffix}"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.backfill_state_machine_arn]
    }
  }
}

resource "aws_iam_role_policy" "backfill" {
  name   = "backfill"
  role   = aws_iam_role.backfill.id
  policy = data.aws_iam_policy_document.backfill.json
}

# The state machine lists the sources and runs its children; the children's function does the rest with
# its own role (grant read_backfill_sources, send_to_intake, encrypt_with_key in functions.tf).
data "aws_iam_policy_document" "backfill" {
  source_policy_documents = [data.aws_iam_policy_document.list_backfill_sources.json]

  statement {
    sid       = "InvokeTheBackfillFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.fn["backfill"].arn]
  }

  # A Distributed Map starts its child workflows as executions of this very state machine, and watches and
  # stops them (AWS: "IAM policies for using Distributed Map states").
  statement {
    sid       = "StartMapRunChildren"
    actions   = ["states:StartExecution"]
    resources = [local.backfill_state_machine_arn]
  }
  statement {
    sid       = "WatchMapRunChildren"
    actions   = ["states:DescribeExecution", "states:StopExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.backfill_name}/*"]
  }

  # CloudWatch Logs' log-delivery APIs have no resource-level permissions: "*" is the only valid resource.
  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  # The role encrypts and decrypts this state machine's data only (Step Functions names the state machine in
  # the encryption context: Developer Guide, "Data at rest encryption"), as the pipeline's role does.
  statement {
    sid       = "StateMachineKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:states:stateMachineArn"
      values   = [local.backfill_state_machine_arn]
    }
  }

  # Logs of an encrypted state machine: the role makes the data key log delivery uses (same page), for this
  # account's log groups only. The key policy already lets delivery.logs decrypt (storage.tf).
  statement {
    sid       = "EncryptedLogDelivery"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:SourceArn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:*"]
    }
  }

  # X-Ray has no resource-level permissions for writing traces: "*" is the only valid resource.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

# Listing a source: its bucket, under its own prefixes only (a whole-bucket source lists anything in it).
data "aws_iam_policy_document" "list_backfill_sources" {
  dynamic "statement" {
    for_each = local.backfill_prefixes_by_bucket
    content {
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${statement.key}"]
      dynamic "condition" {
        for_each = contains(statement.value, "") ? [] : [1]
        content {
          test     = "StringLike"
          variable = "s3:prefix"
          values   = [for p in statement.value : "${p}*"]
        }
      }
    }
  }
}
