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

# Its policy (queue_policies.tf): only the rule above may send.
resource "aws_sqs_queue" "events_dlq" {
  name                      = local.queues.events_dlq.name
  kms_master_key_id         = aws_kms_key.main.arn
  message_retention_seconds = 1209600 # 14 days, the maximum: time to notice, fix and redrive
  policy                    = data.aws_iam_policy_document.queue["events_dlq"].json
}
