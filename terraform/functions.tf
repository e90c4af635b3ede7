# Lambdas: one code package and one dependency layer (both built by `make build`), one function per handler
# module, each with its own log group and its own least-privilege role.

# The packages `make build` made, uploaded to the artifacts bucket (versioned: a function names the exact
# version it runs).
resource "aws_s3_object" "lambda_package" {
  for_each = {
    code  = local.lambda_code_zip
    layer = local.lambda_layer_zip
  }
  bucket      = aws_s3_bucket.artifacts.id
  key         = "lambda/${each.key}.zip"
  source      = each.value
  source_hash = filebase64sha256(each.value)
  kms_key_id  = aws_kms_key.main.arn
  # An object version only exists once versioning is on, and the bucket must accept the upload under its
  # encryption and policy.
  depends_on = [aws_s3_bucket_versioning.all, aws_s3_bucket_server_side_encryption_configuration.data,
  aws_s3_bucket_policy.artifacts]
}

resource "aws_lambda_layer_version" "dependencies" {
  layer_name               = "${local.name}-dependencies"
  description              = "Runtime dependencies of invoice_pipeline (boto3 comes with the runtime), manylinux2014_aarch64"
  s3_bucket                = aws_s3_object.lambda_package["layer"].bucket
  s3_key                   = aws_s3_object.lambda_package["layer"].key
  s3_object_version        = aws_s3_object.lambda_package["layer"].version_id
  source_code_hash         = filebase64sha256(local.lambda_layer_zip)
  compatible_runtimes      = ["python3.12"]
  compatible_architectures = ["arm64"]
}

resource "aws_cloudwatch_log_group" "fn" {
  for_each = local.functions
  # The name Lambda logs to by default; created here first so it has a retention and the key, rather than
  # being created by Lambda on first use with neither.
  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_lambda_function" "fn" {
  #checkov:skip=CKV_AWS_116:Only callback is invoked asynchronously (by SNS); its failures go to an on-failure destination (aws_lambda_function_event_invoke_config.callback), which supersedes a DLQ. The others are invoked synchronously, where a DLQ never applies.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and a signing step in the release process; the package is built reproducibly from the reviewed repository instead.
  for_each = local.functions

  function_name = local.function_names[each.key]
  description   = each.value.description
  role          = aws_iam_role.fn[each.key].arn
  handler       = each.value.handler
  runtime       = "python3.12"
  architectures = ["arm64"]
  memory_size   = lookup(var.lambda_memory_mb, each.key, each.value.memory)
  timeout       = each.value.timeout

  s3_bucket         = aws_s3_object.lambda_package["code"].bucket
  s3_key            = aws_s3_object.lambda_package["code"].key
  s3_object_version = aws_s3_object.lambda_package["code"].version_id
  source_code_hash  = filebase64sha256(local.lambda_code_zip)
  layers            = [aws_lambda_layer_version.dependencies.arn]

  # -1: unreserved. Reserved where a downstream quota would otherwise be overrun (StartExpenseAnalysis TPS).
  # Not parse: Textract throttling there is retried by the state machine for minutes, while a throttled
  # Lambda invocation only gets the ASL's short Lambda.TooManyRequestsException retry.
  # None at all on an account whose limit is at most the connection budget: the limit bounds the
  # connections itself, and AWS would refuse any reservation on a limit under 100 anyway.
  reserved_concurrent_executions = local.reservations_apply ? lookup(var.reserved_concurrency, each.key, -1) : -1

  ephemeral_storage {
    size = each.key == "register" ? var.register_ephemeral_storage_mb : 512
  }

  kms_key_arn = aws_kms_key.main.arn # environment variables at rest
  environment {
    variables = merge(local.function_environment, local.database_environment[each.key],
    { for v in each.value.environment : v => local.extra_environment[v] })
  }

  tracing_config {
    mode = "Active"
  }

  dynamic "vpc_config" {
    for_each = local.network_enabled ? [1] : []
    content {
      subnet_ids         = local.private_subnet_ids
      security_group_ids = [aws_security_group.lambda[0].id]
    }
  }

  # The log group must exist before the first invocation, and the role's permissions before Lambda checks
  # them (VPC access is validated at create).
  depends_on = [aws_cloudwatch_log_group.fn, aws_iam_role_policy.fn]
}

locals {
  # Built from the name rather than read from the resource: the state machine depends on these functions,
  # so a reference back to it from their roles or environment would be a cycle. A postcondition on the state
  # machine keeps the two equal.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.name}-pipeline"

  # The values of the variables a function asks for beyond the common environment (manifest.json
  # "environment"; config.py reads them); the upload and inline-export limits keep the code's defaults.
  extra_environment = {
    INGEST_BUCKET     = aws_s3_bucket.ingest.bucket
    STATE_MACHINE_ARN = local.state_machine_arn
    INTAKE_QUEUE_URL  = aws_sqs_queue.intake.url
    INTAKE_START_RATE = tostring(var.intake_start_rate)
    INTAKE_POLLERS    = tostring(var.intake_pollers)
    BACKFILL_SOURCES  = jsonencode([for src in local.backfill_sources : "${src.bucket}/${src.prefix}"])
    EVENT_BUS_NAME    = aws_cloudwatch_event_bus.invoices.name
    # The outbox's retention (publish-events; downstream_events.tf).
    OUTBOX_RETENTION_DAYS = tostring(var.outbox_retention_days)

    EINVOICE_UNSUPPORTED_PROFILE = var.einvoice_unsupported_profile
    # Review's settings (config.py).
    REVIEW_CLAIM_SECONDS   = tostring(var.review_claim_seconds)
    REVIEW_SECOND_APPROVER = tostring(var.review_requires_second_approver)
  }
}

# --- asynchronous invocations: the callback (SNS -> Lambda) ---------------------------------------------

resource "aws_lambda_function_event_invoke_config" "callback" {
  function_name          = aws_lambda_function.fn["callback"].function_name
  maximum_retry_attempts = 2
  # After the longest wait the token is dead anyway: no point retrying a notification past it (21600 is
  # Lambda's maximum event age).
  maximum_event_age_in_seconds = min(21600, max(60, var.analysis_timeout_max_seconds))

  destination_config {
    on_failure {
      destination = aws_sqs_queue.async_failures.arn
    }
  }
}

# Callback notifications that failed every retry (Lambda on-failure destination) or could not be delivered
# at all (the SNS subscription's redrive policy). Their executions time out into TaskTimedOut; the messages
# say why.
# Its policy (queue_policies.tf): only the Textract topic may send.
resource "aws_sqs_queue" "async_failures" {
  name                      = local.queues.async_failures.name
  kms_master_key_id         = aws_kms_key.main.arn
  message_retention_seconds = 1209600
  policy                    = data.aws_iam_policy_document.queue["async_failures"].json
}

# --- roles ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "fn" {
  for_each           = local.functions
  name               = "${local.function_names[each.key]}-fn"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
}

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.${local.dns_suffix}"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role_policy" "fn" {
  for_each = local.functions
  name     = "function"
  role     = aws_iam_role.fn[each.key].id
  policy   = data.aws_iam_policy_document.fn[each.key].json
}

data "aws_iam_policy_document" "fn" {
  for_each = local.functions
  source_policy_documents = concat(
    [data.aws_iam_policy_document.fn_common[each.key].json],
    [for grant in each.value.permissions : local.grants[grant]],
  )
}

locals {
  # The grants functions/manifest.json gives by name ("permissions"). A function without any only touches
  # the database: the common statements cover it.
  grants = {
    read_uploads           = data.aws_iam_policy_document.read_uploads.json
    list_uploads           = data.aws_iam_policy_document.list_uploads.json
    write_uploads          = data.aws_iam_policy_document.write_uploads.json
    start_expense_analysis = data.aws_iam_policy_document.start_expense_analysis.json
    write_textract_output  = data.aws_iam_policy_document.write_textract_output.json
    get_expense_analysis   = data.aws_iam_policy_document.get_expense_analysis.json
    answer_task_tokens     = data.aws_iam_policy_document.answer_task_tokens.json
    send_async_failures    = data.aws_iam_policy_document.send_async_failures.json
    read_results           = data.aws_iam_policy_document.read_results.json
    write_results          = data.aws_iam_policy_document.write_results.json
    write_exports          = data.aws_iam_policy_document.write_exports.json
    start_executions       = data.aws_iam_policy_document.start_executions.json
    encrypt_with_key       = data.aws_iam_policy_document.encrypt_with_key.json
    consume_intake         = data.aws_iam_policy_document.consume_intake.json
    send_to_intake         = data.aws_iam_policy_document.send_to_intake.json
    read_backfill_sources  = data.aws_iam_policy_document.read_backfill_sources.json
    publish_events         = data.aws_iam_policy_document.publish_events.json # downstream_events.tf
  }

  s3_ingest_objects   = "${aws_s3_bucket.ingest.arn}/${local.ingest_prefix}*"
  s3_result_objects   = "${aws_s3_bucket.results.arn}/${local.results_prefix}*"
  s3_textract_objects = "${aws_s3_bucket.results.arn}/${var.textract_output_prefix}/*"
  s3_export_objects   = "${aws_s3_bucket.results.arn}/${local.exports_prefix}*"
}

# Every function: its own log group, traces, the key (environment variables, S3 objects, the secret), its
# database role's secret, and the network interfaces of a function in a VPC.
data "aws_iam_policy_document" "fn_common" {
  for_each = local.functions

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.fn[each.key].arn}:*"]
  }

  # X-Ray has no resource-level permissions for writing traces: "*" is the only valid resource.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "DecryptWithThePipelineKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }

  # Its own database role's secret only (local.function_database_secrets): the API's cannot read the master's.
  dynamic "statement" {
    for_each = local.database_enabled && length(local.function_database_secrets[each.key]) > 0 ? [1] : []
    content {
      sid       = "ReadDatabaseSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [for s in local.function_database_secrets[each.key] : local.database_secret_arns[s]]
    }
  }

  # Lambda creates and describes the function's network interfaces with the execution role, and documents
  # these actions as working only on "*" (EC2 describes have no resource-level permissions at all).
  dynamic "statement" {
    for_each = local.network_enabled ? [1] : []
    content {
      sid = "VpcNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }
}

# --- grants (functions/manifest.json names them per function) -------------------------------------------

# Head and stream an upload (any version). Also what Textract needs from the caller of StartExpenseAnalysis:
# it reads the upload with the caller's permissions.
data "aws_iam_policy_document" "read_uploads" {
  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [local.s3_ingest_objects]
  }
}

# ListBucket so that a vanished upload is a 404 (InvalidEvent), not a 403.
data "aws_iam_policy_document" "list_uploads" {
  statement {
    sid       = "ListUploads"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.ingest.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.ingest_prefix}*"]
    }
  }
}

# The backfill's sources (backfill.tf): the backfill function heads the objects it lists, and Register and
# StartAnalysis read the ones it sends (Textract reads with its caller's permissions). Listing too, so that
# an object gone since the listing is a 404, not a 403.
data "aws_iam_policy_document" "read_backfill_sources" {
  source_policy_documents = [data.aws_iam_policy_document.list_backfill_sources.json]

  statement {
    sid       = "ReadBackfillSources"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [for src in local.backfill_sources : "arn:${local.partition}:s3:::${src.bucket}/${src.prefix}*"]
  }
}

# Presigned uploads into incoming/: a presigned POST is signed with the role, so the role needs PutObject.
data "aws_iam_policy_document" "write_uploads" {
  statement {
    sid       = "PresignUploads"
    actions   = ["s3:PutObject"]
    resources = [local.s3_ingest_objects]
  }
}

# Start Textract expense analysis, which publishes its completion to SNS with the role passed here.
data "aws_iam_policy_document" "start_expense_analysis" {
  # Textract's asynchronous APIs have no resource-level permissions: "*" is the only valid resource.
  statement {
    sid       = "StartExpenseAnalysis"
    actions   = ["textract:StartExpenseAnalysis"]
    resources = ["*"]
  }
  statement {
    sid       = "PassTheNotificationRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.textract.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["textract.${local.dns_suffix}"]
    }
  }
}

# Textract writes its raw output (OutputConfig) with the caller's permissions, under the pipeline's key
# (StartExpenseAnalysis KMSKeyId = TEXTRACT_OUTPUT_KMS_KEY): start_analysis also holds encrypt_with_key
# (kms:GenerateDataKey) for that, and the key policy delegates to IAM (AccountAdministersTheKeyThroughIam).
data "aws_iam_policy_document" "write_textract_output" {
  statement {
    sid       = "TextractWritesItsOutput"
    actions   = ["s3:PutObject"]
    resources = [local.s3_textract_objects]
  }
}

# Page through a Textract result.
data "aws_iam_policy_document" "get_expense_analysis" {
  # Textract's asynchronous APIs have no resource-level permissions: "*" is the only valid resource.
  statement {
    sid       = "GetExpenseAnalysis"
    actions   = ["textract:GetExpenseAnalysis"]
    resources = ["*"]
  }
}

# Answer the waiting execution's task token.
data "aws_iam_policy_document" "answer_task_tokens" {
  # SendTaskSuccess and SendTaskFailure have no resource types: the Service Authorization Reference,
  # "Actions, resources, and condition keys for AWS Step Functions", leaves their Resource types column
  # empty, which it defines as "you must specify all resources ("*")". A state machine ARN here is not a
  # scope AWS evaluates for them. The task token itself is the capability: only the execution's own
  # Task state hands it out, and the encryption statement below stays scoped to this state machine.
  statement {
    sid       = "AnswerTaskTokens"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure"]
    resources = ["*"]
  }
  # The execution's data is under the pipeline's key (statemachine.tf): the answer is encrypted with it.
  statement {
    sid       = "EncryptTheAnswer"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:states:stateMachineArn"
      values   = [local.state_machine_arn]
    }
  }
}

# The callback's on-failure destination.
data "aws_iam_policy_document" "send_async_failures" {
  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.async_failures.arn]
  }
}

data "aws_iam_policy_document" "read_results" {
  statement {
    sid       = "ReadResults"
    actions   = ["s3:GetObject"]
    resources = [local.s3_result_objects]
  }
}

data "aws_iam_policy_document" "write_results" {
  statement {
    sid       = "WriteResults"
    actions   = ["s3:PutObject"]
    resources = [local.s3_result_objects]
  }
}

# Exports too big for a Lambda response: written to exports/ and handed out as presigned GET URLs.
data "aws_iam_policy_document" "write_exports" {
  statement {
    sid       = "LargeExports"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
    resources = [local.s3_export_objects]
  }
}

# The intake starts executions (and the API's single reprocess, to answer with the execution's ARN).
data "aws_iam_policy_document" "start_executions" {
  statement {
    sid       = "StartExecutions"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
  # The input is stored under the pipeline's key (statemachine.tf).
  statement {
    sid       = "EncryptTheInput"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:states:stateMachineArn"
      values   = [local.state_machine_arn]
    }
  }
}

# Writing anything under the pipeline's key (objects, queue messages): a data key to encrypt with.
data "aws_iam_policy_document" "encrypt_with_key" {
  statement {
    sid       = "EncryptWithThePipelineKey"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }
}
