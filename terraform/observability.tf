# Observability: alarms on everything that means a document did not make it (or is about to not make it),
# one topic they all notify, and a dashboard of the whole flow.

resource "aws_sns_topic" "alarms" {
  name              = "${local.name}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisAccount"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.${local.dns_suffix}"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid = "AccountManagesTheTopic"
    actions = [
      "sns:GetTopicAttributes",
      "sns:SetTopicAttributes",
      "sns:Subscribe",
      "sns:ListSubscriptionsByTopic",
      "sns:DeleteTopic",
      "sns:TagResource",
      "sns:UntagResource",
    ]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email != null ? 1 : 0
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
  sfn_dimensions = {
    StateMachineArn = aws_sfn_state_machine.pipeline.arn
  }
}

# --- alarms ----------------------------------------------------------------------------------------------
# One map, one resource: every alarm notifies the same topic on ALARM and OK, over 5-minute periods.
# `missing = "breaching"` only where no data is itself a fault.

locals {
  alarms = merge(
    {
      # A document ended FAILED.
      "executions-failed" = {
        description = "A document ended FAILED: its Error/Cause is in the execution and in the API."
        namespace   = "AWS/States", metric = "ExecutionsFailed", dimensions = local.sfn_dimensions
        statistic   = "Sum", threshold = 1, comparison = "GreaterThanOrEqualToThreshold", missing = "notBreaching"
      }
      "executions-timed-out" = {
        description = "An execution hit its own time limit."
        namespace   = "AWS/States", metric = "ExecutionsTimedOut", dimensions = local.sfn_dimensions
        statistic   = "Sum", threshold = 1, comparison = "GreaterThanOrEqualToThreshold", missing = "notBreaching"
      }
      # An execution that ran longer than the longest callback wait (analysis_timeout_max_seconds; a document's
      # own wait grows with its pages up to it): the wait itself cannot outlast it, so the time went into retries
      # or a stuck state. ExecutionTime is reported when an execution ends.
      "execution-longer-than-callback-timeout" = {
        description = "An execution took longer than analysis_timeout_max_seconds (${var.analysis_timeout_max_seconds} s)."
        namespace   = "AWS/States", metric = "ExecutionTime", dimensions = local.sfn_dimensions
        statistic   = "Maximum", threshold = var.analysis_timeout_max_seconds * 1000 # milliseconds
        comparison  = "GreaterThanThreshold", missing = "notBreaching"
      }
      # The completion notification never came within the document's wait: RecordFailure counts these as
      # Failed.TaskTimedOut (handlers/record_failure.py), with Powertools' `service` dimension.
      "textract-callback-timeouts" = {
        description = "Textract's completion callback did not arrive within the document's wait (${var.analysis_timeout_seconds} s for one page, up to ${var.analysis_timeout_max_seconds} s) (TaskTimedOut); see the callback-failures queue."
        namespace   = local.metrics_namespace, metric = "Failed.TaskTimedOut", dimensions = { service = local.service_name }
        statistic   = "Sum", threshold = 1, comparison = "GreaterThanOrEqualToThreshold", missing = "notBreaching"
      }
      # Waiting work.
      "intake-oldest-message" = {
        description = "An upload has waited over ${var.waiting_alarm_seconds} s in the intake queue: the pipeline starts work slower than it arrives, or the intake function fails."
        namespace   = "AWS/SQS", metric = "ApproximateAgeOfOldestMessage", dimensions = { QueueName = aws_sqs_queue.intake.name }
        statistic   = "Maximum", threshold = var.waiting_alarm_seconds, comparison = "GreaterThanThreshold", missing = "notBreaching"
      }
      "oldest-queued-document" = {
        description = "A document has waited over ${var.waiting_alarm_seconds} s for a Textract slot (QUEUED): work arrives faster than textract_start_rate / textract_max_jobs allow, or slots are not being released."
        namespace   = local.metrics_namespace, metric = "OldestQueuedSeconds", dimensions = { service = local.service_name }
        statistic   = "Maximum", threshold = var.waiting_alarm_seconds, comparison = "GreaterThanThreshold"
        missing     = "breaching" # no data means the dispatch function is not running: worth an alarm too
      }
      # Downstream events waiting in the outbox (handlers/publish_events.py reports the oldest one's age every
      # minute; no data means the publish-events function is not running).
      "outbox-oldest-event" = {
        description = "A downstream event has waited over ${var.outbox_alarm_minutes} min in the outbox: the events bus refuses or is unreachable, or publish-events fails (see its log: last_error in event_outbox)."
        namespace   = local.metrics_namespace, metric = "OldestPendingEventSeconds", dimensions = { service = local.service_name }
        statistic   = "Maximum", threshold = var.outbox_alarm_minutes * 60, comparison = "GreaterThanThreshold"
        missing     = "breaching"
      }
      "api-5xx" = {
        description = "The API answered 5xx: bad input must never do that, so this is a bug or an outage."
        namespace   = "AWS/ApiGateway", metric = "5xx"
        dimensions  = { ApiId = aws_apigatewayv2_api.http.id, Stage = aws_apigatewayv2_stage.default.name }
        statistic   = "Sum", threshold = 1, comparison = "GreaterThanOrEqualToThreshold", missing = "notBreaching"
      }
    },
    # Dead letters: uploads or notifications that were not processed.
    { for k, queue in local.dead_letter_queues : "${k}-not-empty" => {
      description = "Messages in ${queue}: uploads or Textract notifications that were not processed."
      namespace   = "AWS/SQS", metric = "ApproximateNumberOfMessagesVisible", dimensions = { QueueName = queue }
      statistic   = "Maximum", threshold = 1, comparison = "GreaterThanOrEqualToThreshold", missing = "notBreaching"
    } },
  )
  dead_letter_queues = {
    events-dlq        = aws_sqs_queue.events_dlq.name
    callback-failures = aws_sqs_queue.async_failures.name
    intake-dlq        = aws_sqs_queue.intake_dlq.name
  }
}

resource "aws_cloudwatch_metric_alarm" "alarm" {
  for_each            = local.alarms
  alarm_name          = "${local.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = each.value.missing
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Per function: its name is the function's, not the project's.
resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each            = local.functions
  alarm_name          = "${local.function_names[each.key]}-errors"
  alarm_description   = "The ${each.key} function raised errors (named document errors count too)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.fn[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.lambda_error_alarm_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Addresses before the alarms became one map.
moved {
  from = aws_cloudwatch_metric_alarm.executions_failed
  to   = aws_cloudwatch_metric_alarm.alarm["executions-failed"]
}
moved {
  from = aws_cloudwatch_metric_alarm.executions_timed_out
  to   = aws_cloudwatch_metric_alarm.alarm["executions-timed-out"]
}
moved {
  from = aws_cloudwatch_metric_alarm.execution_longer_than_callback_timeout
  to   = aws_cloudwatch_metric_alarm.alarm["execution-longer-than-callback-timeout"]
}
moved {
  from = aws_cloudwatch_metric_alarm.callback_timeouts
  to   = aws_cloudwatch_metric_alarm.alarm["textract-callback-timeouts"]
}
moved {
  from = aws_cloudwatch_metric_alarm.intake_backlog_age
  to   = aws_cloudwatch_metric_alarm.alarm["intake-oldest-message"]
}
moved {
  from = aws_cloudwatch_metric_alarm.queued_age
  to   = aws_cloudwatch_metric_alarm.alarm["oldest-queued-document"]
}
moved {
  from = aws_cloudwatch_metric_alarm.api_5xx
  to   = aws_cloudwatch_metric_alarm.alarm["api-5xx"]
}
moved {
  from = aws_cloudwatch_metric_alarm.dead_letters["events-dlq"]
  to   = aws_cloudwatch_metric_alarm.alarm["events-dlq-not-empty"]
}
moved {
  from = aws_cloudwatch_metric_alarm.dead_letters["callback-failures"]
  to   = aws_cloudwatch_metric_alarm.alarm["callback-failures-not-empty"]
}
moved {
  from = aws_cloudwatch_metric_alarm.dead_letters["intake-dlq"]
  to   = aws_cloudwatch_metric_alarm.alarm["intake-dlq-not-empty"]
}

# --- dashboard -----------------------------------------------------------------------------------------

locals {
  sfn_arn = aws_sfn_state_machine.pipeline.arn
  dashboard_widgets = concat(
    [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "Executions", region = local.region, stat = "Sum", period = 300, view = "timeSeries"
          metrics = [for m in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"] : ["AWS/States", m, "StateMachineArn", local.sfn_arn]]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title = "Execution time (ms)", region = local.region, period = 300, view = "timeSeries"
          metrics = [
            ["AWS/States", "ExecutionTime", "StateMachineArn", local.sfn_arn, { stat = "p50" }],
            ["AWS/States", "ExecutionTime", "StateMachineArn", local.sfn_arn, { stat = "Maximum" }],
          ]
          annotations = { horizontal = [{ label = "longest callback wait", value = var.analysis_timeout_max_seconds * 1000 }] }
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Documents", region = local.region, stat = "Sum", period = 300, view = "timeSeries"
          metrics = [for m in ["DocumentRegistered", "DuplicateDocument", "RedeliveredEvent", "TextractSkipped", "InvoicesParsed", "Validation.COMPLETED", "Validation.NEEDS_REVIEW", "DocumentsPersisted", "Failed.TaskTimedOut"] : [local.metrics_namespace, m, "service", local.service_name]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title = "Dead letters and callbacks", region = local.region, period = 300, view = "timeSeries"
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.events_dlq.name, { stat = "Maximum" }],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.async_failures.name, { stat = "Maximum" }],
            [local.metrics_namespace, "CallbackDuplicate", "service", local.service_name, { stat = "Sum" }],
            [local.metrics_namespace, "CallbackLate", "service", local.service_name, { stat = "Sum" }],
            [local.metrics_namespace, "CallbackUnknownTag", "service", local.service_name, { stat = "Sum" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title   = "Function errors", region = local.region, stat = "Sum", period = 300, view = "timeSeries"
          metrics = [for k, _ in local.functions : ["AWS/Lambda", "Errors", "FunctionName", local.function_names[k]]]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title   = "Function duration p95 (ms)", region = local.region, stat = "p95", period = 300, view = "timeSeries"
          metrics = [for k, _ in local.functions : ["AWS/Lambda", "Duration", "FunctionName", local.function_names[k]]]
        }
      },
      {
        type = "metric", x = 0, y = 18, width = 12, height = 6
        properties = {
          title   = "API", region = local.region, stat = "Sum", period = 300, view = "timeSeries"
          metrics = [for m in ["Count", "4xx", "5xx"] : ["AWS/ApiGateway", m, "ApiId", aws_apigatewayv2_api.http.id, "Stage", "$default"]]
        }
      },
      {
        type = "metric", x = 12, y = 18, width = 12, height = 6
        properties = {
          title   = "API latency p95 (ms)", region = local.region, stat = "p95", period = 300, view = "timeSeries"
          metrics = [["AWS/ApiGateway", "Latency", "ApiId", aws_apigatewayv2_api.http.id, "Stage", "$default"]]
        }
      },
      {
        type = "metric", x = 0, y = 24, width = 12, height = 6
        properties = {
          title = "Waiting work (a burst)", region = local.region, period = 60, view = "timeSeries"
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.intake.name, { stat = "Maximum", label = "intake queue" }],
            [local.metrics_namespace, "QueuedDocuments", "service", local.service_name, { stat = "Maximum", label = "QUEUED for a Textract slot" }],
            [local.metrics_namespace, "HeldSlots", "service", local.service_name, { stat = "Maximum", label = "Textract jobs running" }],
          ]
          annotations = { horizontal = [{ label = "textract_max_jobs", value = local.textract_max_jobs }] }
        }
      },
      {
        type = "metric", x = 12, y = 24, width = 12, height = 6
        properties = {
          title = "Waiting time (s) and throttles", region = local.region, period = 60, view = "timeSeries"
          metrics = concat(
            [
              ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", aws_sqs_queue.intake.name, { stat = "Maximum", label = "oldest intake message" }],
              [local.metrics_namespace, "OldestQueuedSeconds", "service", local.service_name, { stat = "Maximum", label = "oldest QUEUED document" }],
            ],
            [for k, _ in local.functions : ["AWS/Lambda", "Throttles", "FunctionName", local.function_names[k], { stat = "Sum", yAxis = "right" }]],
          )
          annotations = { horizontal = [{ label = "alarm", value = var.waiting_alarm_seconds }] }
        }
      },
    ],
    # A for with `if`, not a conditional: both branches of a conditional would need the same tuple type.
    [for w in [
      {
        type = "metric", x = 0, y = 30, width = 24, height = 6
        properties = {
          title   = "Database", region = local.region, stat = "Average", period = 300, view = "timeSeries"
          metrics = [for m in ["CPUUtilization", "DatabaseConnections", "FreeStorageSpace"] : ["AWS/RDS", m, "DBInstanceIdentifier", local.db_identifier]]
        }
      },
    ] : w if local.database_enabled],
  )
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = "${local.name}-pipeline"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
