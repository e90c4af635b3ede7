# One "refuse plain HTTP" statement for every resource policy: the buckets (storage.tf), the queues that AWS
# services write to (queue_policies.tf; local mode's events tap, downstream_events.tf) and Textract's topic
# (textract.tf). Each policy merges its own document through source_policy_documents.

locals {
  tls_only = merge(
    { for k, b in local.buckets : "bucket_${k}" => { actions = ["s3:*"], resources = [b.arn, "${b.arn}/*"] } },
    { for k, arn in local.queue_arns : "queue_${k}" => { actions = ["sqs:*"], resources = [arn] } },
    { textract_topic = { actions = ["sns:Publish"], resources = [aws_sns_topic.textract.arn] } },
    { for k, arn in { queue_events_tap = local.events_tap_queue_arn } :
    k => { actions = ["sqs:*"], resources = [arn] } if local.local_mode },
  )
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.tls_only

  statement {
    sid       = "DenyPlainHttp"
    effect    = "Deny"
    actions   = each.value.actions
    resources = each.value.resources
    # {"AWS": "*"} is AWS's equivalent of "*" (everyone); the emulation only parses the object form.
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
