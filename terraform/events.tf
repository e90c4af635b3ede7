# Events: S3 "Object Created" under incoming/ -> EventBridge rule -> the intake queue (intake.tf), which starts
# the state machine at a bounded rate. EventBridge retries a failed delivery and then parks the event in a
# dead-letter queue, so an upload is never silently lost: the DLQ depth alarm (observability.tf) says when.

resource "aws_cloudwatch_event_rule" "object_created" {
  name        = "${local.name}-object-created"
  description = "Uploads under ${local.ingest_prefix} in the ingest bucket start the invoice pipeline"
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [aws_s3_bucket.ingest.bucket] }
      object = { key = [{ prefix = local.ingest_prefix }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "pipeline" {
  rule      = aws_cloudwatch_event_rule.object_created.name
  target_id = "pipeline"
  arn       = aws_sqs_queue.intake.arn

  retry_policy {
    maximum_retry_attempts       = var.event_retry_attempts
    maximum_event_age_in_seconds = var.event_max_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }
}

# The policy is the queue's own attribute, not a separate aws_sqs_queue_policy: the provider waits about
# 25 s for a queue's attributes to settle after each write, once here instead of twice.
resource "aws_sqs_queue" "events_dlq" {
  name                      = local.events_dlq_name
  kms_master_key_id         = aws_kms_key.main.arn
  message_retention_seconds = 1209600 # 14 days, the maximum: time to notice, fix and redrive
  policy                    = data.aws_iam_policy_document.events_dlq.json
}

locals {
  # Built from the name: the queue's policy names the queue, so it cannot wait for the queue's own ARN.
  events_dlq_name = "${local.name}-events-dlq"
  events_dlq_arn  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.events_dlq_name}"
}

data "aws_iam_policy_document" "events_dlq" {
  statement {
    sid       = "EventBridgeRuleDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [local.events_dlq_arn]
    principals {
      type        = "Service"
      identifiers = ["events.${local.dns_suffix}"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.object_created.arn]
    }
  }

  statement {
    sid       = "DenyPlainHttp"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.events_dlq_arn]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}
