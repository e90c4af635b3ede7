# Admission control inside the pipeline: a document waits (QUEUED) in the Queue state for one of
# var.textract_max_jobs Textract slots, and starts at most var.textract_start_rate a second (the Wait state
# holds it until the start time its slot came with). Slots live in Postgres (functions/.../adapters/slots.py);
# whatever frees one (a completion, a failure) hands it to the next waiting document at once. This schedule
# is the safety net: every minute it reclaims the slots of executions that died without releasing them, and
# publishes the queue's gauges (the oldest-queued alarm and the dashboard are in observability.tf). Waiting costs no state transitions and no polling.

resource "aws_cloudwatch_event_rule" "dispatch" {
  name                = "${local.name}-dispatch"
  description         = "Reclaim stale Textract slots, hand out free ones, report the queue of ${local.name}"
  schedule_expression = "rate(1 minute)"
}

resource "aws_cloudwatch_event_target" "dispatch" {
  rule      = aws_cloudwatch_event_rule.dispatch.name
  target_id = "dispatch"
  arn       = aws_lambda_function.fn["dispatch"].arn
}

resource "aws_lambda_permission" "dispatch_from_schedule" {
  statement_id  = "EveryMinute"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn["dispatch"].function_name
  principal     = "events.${local.dns_suffix}"
  source_arn    = aws_cloudwatch_event_rule.dispatch.arn
}

locals {
  # Textract's default quotas for asynchronous expense analysis (StartExpenseAnalysis calls a second, jobs
  # running at once): us-east-1 and us-west-2 have the larger ones. The README's table lists them.
  textract_quota_start_rate = contains(["us-east-1", "us-west-2"], var.region) ? 5 : 1
  textract_quota_max_jobs   = var.region == "us-east-1" ? 600 : 100
  textract_start_rate       = coalesce(var.textract_start_rate, local.textract_quota_start_rate)
  textract_max_jobs         = coalesce(var.textract_max_jobs, local.textract_quota_max_jobs)
}
