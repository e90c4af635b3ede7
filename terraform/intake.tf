# Intake: S3 "Object Created" -> EventBridge rule -> this SQS queue -> the intake function (an event source
# mapping of bounded concurrency) -> one execution per message, at most var.intake_start_rate a second.
# A burst of any size waits here (14 days, no state transitions, no Lambda throttling); the API's reprocess
# and the backfill send the same messages (functions/invoice_pipeline/domain/intake.py).

resource "aws_sqs_queue" "intake" {
  name                      = local.queues.intake.name
  kms_master_key_id         = aws_kms_key.main.arn
  message_retention_seconds = 1209600 # 14 days, the maximum: a backfill or an outage may take that long
  # AWS: at least six times the function's timeout, so a batch still being started is not handed out twice.
  visibility_timeout_seconds = 6 * local.functions["intake"].timeout
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.intake_dlq.arn
    maxReceiveCount     = var.intake_max_receive_count
  })
  policy = data.aws_iam_policy_document.queue["intake"].json
}

resource "aws_sqs_queue" "intake_dlq" {
  name                      = "${local.name}-intake-dlq"
  kms_master_key_id         = aws_kms_key.main.arn
  message_retention_seconds = 1209600
}

resource "aws_lambda_event_source_mapping" "intake" {
  event_source_arn = aws_sqs_queue.intake.arn
  function_name    = aws_lambda_function.fn["intake"].arn
  batch_size       = 10
  # A failed start (throttled, a service error) returns only its own message to the queue.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.intake_pollers
  }

  # The function's role must allow receiving before Lambda starts polling.
  depends_on = [aws_iam_role_policy.fn]
}

# The intake function consumes the queue (the event source mapping polls with the function's role).
data "aws_iam_policy_document" "consume_intake" {
  statement {
    sid       = "ConsumeIntake"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [local.queue_arns.intake]
  }
}

# The API's reprocess (and the backfill) enqueue work instead of starting executions themselves.
data "aws_iam_policy_document" "send_to_intake" {
  statement {
    sid       = "SendToIntake"
    actions   = ["sqs:SendMessage"]
    resources = [local.queue_arns.intake]
  }
}
