# The resource policies of the queues that AWS services write to: each lets one service send, from one
# source (aws:SourceArn), and refuses plain HTTP. Each policy is its queue's own attribute, not a separate
# aws_sqs_queue_policy: the provider waits about 25 s for a queue's attributes to settle after each write,
# once that way instead of twice.

locals {
  # ARNs built from the names: a queue's policy names the queue, so it cannot wait for the queue's own ARN.
  queues = {
    intake = {
      name    = "${local.name}-intake", sid = "UploadsFromTheRule",
      service = "events", source_arn = aws_cloudwatch_event_rule.object_created.arn,
    }
    events_dlq = {
      name    = "${local.name}-events-dlq", sid = "EventBridgeRuleDeadLetters",
      service = "events", source_arn = aws_cloudwatch_event_rule.object_created.arn,
    }
    async_failures = {
      name    = "${local.name}-callback-failures", sid = "TextractTopicSubscriptionDeadLetters",
      service = "sns", source_arn = aws_sns_topic.textract.arn,
    }
  }
  queue_arns = { for k, q in local.queues : k => "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${q.name}" }
}

data "aws_iam_policy_document" "queue" {
  for_each                = local.queues
  source_policy_documents = [data.aws_iam_policy_document.tls_only["queue_${each.key}"].json]

  statement {
    sid       = each.value.sid
    actions   = ["sqs:SendMessage"]
    resources = [local.queue_arns[each.key]]
    principals {
      type        = "Service"
      identifiers = ["${each.value.service}.${local.dns_suffix}"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [each.value.source_arn]
    }
  }
}
