# Events for the systems downstream (issue 12): InvoiceCompleted, InvoiceNeedsReview, InvoiceApproved,
# InvoiceRejected, DocumentFailed (schemas/events/) on a bus of their own, under the pipeline's key. Each is
# written to an outbox table in the transaction of the change it announces and published from there (see
# functions/invoice_pipeline/publish.py): right after the commit by Persist and RecordFailure, and every minute
# by the publish-events function, so an outage of the bus delays the events and loses none. Consumers add
# their own rules on this bus (source "invoice-pipeline", detail-type the event's name).

resource "aws_cloudwatch_event_bus" "invoices" {
  name               = "${local.name}-invoices"
  description        = "Downstream events of ${local.name}: invoices completed, needing review, approved, rejected; documents failed"
  kms_key_identifier = aws_kms_key.main.arn
}

# What is still in the outbox after an outage of the bus goes out within a minute of its end.
resource "aws_cloudwatch_event_rule" "publish_events" {
  name                = "${local.name}-publish-events"
  description         = "Publish the downstream events still in the outbox of ${local.name}"
  schedule_expression = "rate(1 minute)"
}

resource "aws_cloudwatch_event_target" "publish_events" {
  rule      = aws_cloudwatch_event_rule.publish_events.name
  target_id = "publish-events"
  arn       = aws_lambda_function.fn["publish_events"].arn
}

resource "aws_lambda_permission" "publish_events_from_schedule" {
  statement_id  = "EveryMinute"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn["publish_events"].function_name
  principal     = "events.${local.dns_suffix}"
  source_arn    = aws_cloudwatch_event_rule.publish_events.arn
}

# The functions that publish (functions/manifest.json "publish_events"): this bus only, with the pipeline's
# source only. The bus encrypts with its own grant on the key (storage.tf): the caller needs none.
data "aws_iam_policy_document" "publish_events" {
  statement {
    sid       = "PublishDownstreamEvents"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.invoices.arn]
    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = [local.events_source]
    }
  }
}

locals {
  # Built from the name: the key's policy names the bus, which the key encrypts.
  events_bus_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${local.name}-invoices"
  # domain/downstream_events.py SOURCE: what the publishing functions may send and consumers' rules match.
  events_source = "invoice-pipeline"
}

# --- local mode: the bus as `invoices events --follow` reads it ---------------------------------------------
# A rule taking every event of the bus to a queue, which the command reads (moto delivers a bus's events to
# SQS targets). Not in AWS: there each consumer has its own rule, and a queue nobody reads would only fill.

resource "aws_cloudwatch_event_rule" "events_tap" {
  count          = local.local_mode ? 1 : 0
  name           = "${local.name}-events-tap"
  description    = "Every downstream event of ${local.name}, for invoices events --follow (local mode)"
  event_bus_name = aws_cloudwatch_event_bus.invoices.name
  event_pattern  = jsonencode({ source = [local.events_source] })
}

resource "aws_cloudwatch_event_target" "events_tap" {
  count          = local.local_mode ? 1 : 0
  rule           = aws_cloudwatch_event_rule.events_tap[0].name
  event_bus_name = aws_cloudwatch_event_bus.invoices.name
  target_id      = "events-tap"
  arn            = aws_sqs_queue.events_tap[0].arn
}

resource "aws_sqs_queue" "events_tap" {
  count                     = local.local_mode ? 1 : 0
  name                      = "${local.name}-events-tap"
  kms_master_key_id         = aws_kms_key.main.arn
  message_retention_seconds = 86400
  policy                    = data.aws_iam_policy_document.events_tap[0].json
}

data "aws_iam_policy_document" "events_tap" {
  count                   = local.local_mode ? 1 : 0
  source_policy_documents = [data.aws_iam_policy_document.tls_only["queue_events_tap"].json]

  statement {
    sid       = "EventsFromTheTapRule"
    actions   = ["sqs:SendMessage"]
    resources = [local.events_tap_queue_arn]
    principals {
      type        = "Service"
      identifiers = ["events.${local.dns_suffix}"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.events_tap[0].arn]
    }
  }
}

locals {
  events_tap_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.name}-events-tap"
}
