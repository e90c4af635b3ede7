# Textract's completion channel: StartExpenseAnalysis names this topic and the role Textract assumes to
# publish to it; the callback function is the topic's only subscriber.

resource "aws_sns_topic" "textract" {
  name              = "${local.name}-textract"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic_policy" "textract" {
  arn    = aws_sns_topic.textract.arn
  policy = data.aws_iam_policy_document.textract_topic.json
}

data "aws_iam_policy_document" "textract_topic" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["textract_topic"].json]

  statement {
    sid       = "OnlyTheTextractRolePublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.textract.arn]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.textract.arn]
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
    resources = [aws_sns_topic.textract.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

# The role Textract assumes to publish the completion notification (NotificationChannel.RoleArn).
resource "aws_iam_role" "textract" {
  name               = "${local.name}-textract"
  assume_role_policy = data.aws_iam_policy_document.textract_trust.json
}

data "aws_iam_policy_document" "textract_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["textract.${local.dns_suffix}"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role_policy" "textract" {
  name   = "publish-completion"
  role   = aws_iam_role.textract.id
  policy = data.aws_iam_policy_document.textract_publish.json
}

data "aws_iam_policy_document" "textract_publish" {
  statement {
    sid       = "PublishCompletion"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.textract.arn]
  }
  statement {
    sid       = "EncryptedTopic"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_sns_topic_subscription" "callback" {
  topic_arn = aws_sns_topic.textract.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.fn["callback"].arn
  # A notification SNS cannot hand to Lambda at all lands here instead of vanishing.
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.async_failures.arn })
  depends_on     = [aws_lambda_permission.callback_from_sns]
}

resource "aws_lambda_permission" "callback_from_sns" {
  statement_id  = "TextractCompletionTopic"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn["callback"].function_name
  principal     = "sns.${local.dns_suffix}"
  source_arn    = aws_sns_topic.textract.arn
}
