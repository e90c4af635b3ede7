# The state machine: statemachine/invoice_pipeline.asl.json with its ${placeholders} filled here and nowhere
# else. The template holds no account, region or ARN; tests/iac/test_asl_placeholders.py checks that this map
# gives every placeholder a value and that every value is used.

locals {
  state_machine_template_values = {
    register_function_arn       = aws_lambda_function.fn["register"].arn
    admit_function_arn          = aws_lambda_function.fn["admit"].arn
    start_analysis_function_arn = aws_lambda_function.fn["start_analysis"].arn
    parse_function_arn          = aws_lambda_function.fn["parse"].arn
    validate_function_arn       = aws_lambda_function.fn["validate"].arn
    persist_function_arn        = aws_lambda_function.fn["persist"].arn
    read_einvoice_function_arn  = aws_lambda_function.fn["read_einvoice"].arn
    record_failure_function_arn = aws_lambda_function.fn["record_failure"].arn

    textract_retry_interval_seconds = var.textract_retry_interval_seconds
    textract_retry_max_attempts     = var.textract_retry_max_attempts
  }
}

resource "aws_sfn_state_machine" "pipeline" {
  #checkov:skip=CKV_AWS_285:Execution data in the logs would carry every task token of StartAnalysis's parameters; events are logged without it, and the data stays in the execution history under the pipeline's key.
  name       = "${local.name}-pipeline"
  type       = "STANDARD" # an Express workflow cannot wait for a task token
  role_arn   = aws_iam_role.state_machine.arn
  definition = templatefile("${path.module}/../statemachine/invoice_pipeline.asl.json", local.state_machine_template_values)

  logging_configuration {
    log_destination = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    # Execution data is the input, output and parameters of every event ("When set to false, data is
    # excluded": LoggingConfiguration, Step Functions API Reference). StartAnalysis's parameters carry
    # $$.Task.Token, which answers the execution: with data included, every token would sit in CloudWatch
    # Logs for anyone who reads them. The events (names, types, errors and causes) are still logged; the
    # data stays in the execution history, under the key below.
    include_execution_data = false
    level                  = var.state_machine_log_level
  }

  # The definition and execution history under the pipeline's key as well as AWS's own ("Data at rest
  # encryption in Step Functions", Step Functions Developer Guide). The role's StateMachineKey and
  # EncryptedLogDelivery statements below and the key policy's LogDeliveryDecrypts go with it.
  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = aws_kms_key.main.arn
    kms_data_key_reuse_period_seconds = 300
  }

  tracing_configuration {
    enabled = true
  }

  # The role's permissions must exist before Step Functions checks them (it validates logging at create).
  depends_on = [aws_iam_role_policy.state_machine]

  lifecycle {
    postcondition {
      condition     = self.arn == local.state_machine_arn
      error_message = "The state machine ARN differs from local.state_machine_arn, which the function roles and the API environment use (functions.tf)."
    }
  }
}

resource "aws_cloudwatch_log_group" "state_machine" {
  # /aws/vendedlogs/ keeps the log group out of the size-limited CloudWatch Logs resource policy.
  name              = "/aws/vendedlogs/states/${local.name}-pipeline"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "state_machine" {
  name               = "${local.name}-state-machine"
  assume_role_policy = data.aws_iam_policy_document.state_machine_trust.json
}

data "aws_iam_policy_document" "state_machine_trust" {
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
      values   = ["arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.name}-pipeline"]
    }
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "pipeline"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid       = "InvokeTheStateFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = [for k in local.state_functions : aws_lambda_function.fn[k].arn]
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

  # The execution role encrypts and decrypts this state machine's data, and only its data: Step Functions
  # names the state machine in the encryption context of every call (encryption-at-rest page, key policy).
  statement {
    sid       = "StateMachineKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:states:stateMachineArn"
      values   = [local.state_machine_arn]
    }
  }

  # Logs of an encrypted state machine: the role makes the data key that log delivery uses (same page,
  # "CloudWatch Logs" permissions), for this account's log groups only.
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
