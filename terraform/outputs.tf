# Outputs. The README's outputs table is checked against this file (tests/iac/test_readme_tf_tables.py).

output "ingest_bucket" {
  description = "Bucket to upload invoices to, under incoming/."
  value       = aws_s3_bucket.ingest.id
}

output "ingest_prefix" {
  description = "Key prefix whose uploads start the pipeline."
  value       = local.ingest_prefix
}

output "results_bucket" {
  description = "Bucket with the normalized invoices (results/) and Textract's raw output."
  value       = aws_s3_bucket.results.id
}

output "artifacts_bucket" {
  description = "Bucket holding the Lambda code package and dependency layer the functions run (lambda/*.zip, versioned)."
  value       = aws_s3_bucket.artifacts.id
}

output "access_logs_bucket" {
  description = "Bucket receiving the S3 server access logs of the ingest, results and artifacts buckets."
  value       = aws_s3_bucket.access_logs.id
}

output "kms_key_arn" {
  description = "Customer-managed key encrypting buckets, queues, topics, logs, the secret and the database."
  value       = aws_kms_key.main.arn
}

output "state_machine_arn" {
  description = "ARN of the pipeline state machine."
  value       = aws_sfn_state_machine.pipeline.arn
}

output "intake_queue_url" {
  description = "The intake queue: every upload passes through it; the backfill and bulk reprocess send to it too."
  value       = aws_sqs_queue.intake.url
}

output "backfill_state_machine_arn" {
  description = "ARN of the backfill state machine: start it with {\"bucket\", \"prefix\"} to run objects already stored through the intake."
  value       = aws_sfn_state_machine.backfill.arn
}

output "state_machine_console_url" {
  description = "The state machine in the Step Functions console."
  value       = "https://${local.region}.console.aws.amazon.com/states/home?region=${local.region}#/statemachines/view/${urlencode(aws_sfn_state_machine.pipeline.arn)}"
}

output "function_names" {
  description = "Function name of every Lambda, by handler (register, start_analysis, ..., api)."
  value       = { for k, f in aws_lambda_function.fn : k => f.function_name }
}

output "lambda_concurrency" {
  description = "How Postgres connections are bounded: the functions' reserved concurrency, or none because the account's Lambda limit is within database_connection_budget."
  value = local.reservations_apply ? {
    reserved = { for k, v in var.reserved_concurrency : aws_lambda_function.fn[k].function_name => v }
    note     = "Reserved concurrency bounds Postgres connections (lambda_account_concurrency ${var.lambda_account_concurrency} > database_connection_budget ${var.database_connection_budget})."
    } : {
    reserved = tomap({})
    note     = "No reserved concurrency: lambda_account_concurrency (${var.lambda_account_concurrency}) is at most database_connection_budget (${var.database_connection_budget}), so the account's limit bounds Postgres connections itself. Set lambda_account_concurrency when the quota is raised."
  }
}

output "layer_arn" {
  description = "ARN (with version) of the dependency layer."
  value       = aws_lambda_layer_version.dependencies.arn
}

output "textract_topic_arn" {
  description = "SNS topic Textract publishes job completions to."
  value       = aws_sns_topic.textract.arn
}

output "textract_role_arn" {
  description = "Role Textract assumes to publish to the completion topic."
  value       = aws_iam_role.textract.arn
}

output "events_dead_letter_queue_url" {
  description = "Queue holding upload events EventBridge could not hand to the state machine."
  value       = aws_sqs_queue.events_dlq.id
}

output "callback_failures_queue_url" {
  description = "Queue holding Textract notifications the callback function could not process."
  value       = aws_sqs_queue.async_failures.id
}

output "api_endpoint" {
  description = "Base URL of the HTTP API (JWT routes; machine clients add /iam)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "api_machine_client_policy_arn" {
  description = "IAM policy to attach to machine clients calling the /iam/ routes with SigV4."
  value       = aws_iam_policy.api_machine_client.arn
}

output "cognito_user_pool_id" {
  description = "Cognito user pool of the API's users."
  value       = aws_cognito_user_pool.main.id
}

output "cognito_client_id" {
  description = "Cognito app client id of the web page (the JWT audience)."
  value       = aws_cognito_user_pool_client.web.id
}

output "cognito_issuer" {
  description = "JWT issuer URL the API's authorizer trusts."
  value       = "https://${aws_cognito_user_pool.main.endpoint}"
}

output "cognito_hosted_ui_url" {
  description = "Base URL of the Cognito hosted sign-in pages."
  value       = "https://${aws_cognito_user_pool_domain.main.domain}.auth.${local.region}.amazoncognito.com"
}

output "vpc_id" {
  description = "VPC of the functions and database (null without enable_network)."
  value       = local.network_enabled ? local.vpc_id : null
}

output "private_subnet_ids" {
  description = "Private subnets of the functions and database (empty without enable_network)."
  value       = local.network_enabled ? local.private_subnet_ids : []
}

output "database_endpoint" {
  description = "Host name of the PostgreSQL instance (null without enable_database)."
  value       = local.database_enabled ? aws_db_instance.main[0].address : null
}

output "database_secret_arn" {
  description = "Secrets Manager secret with the database connection settings (null without enable_database)."
  value       = local.database_enabled ? aws_secretsmanager_secret.db[0].arn : null
}

output "migrations_result" {
  description = "What the migrate function reported at the last apply (null without enable_database)."
  value       = local.database_enabled ? jsondecode(aws_lambda_invocation.migrate[0].result) : null
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_url" {
  description = "The pipeline's CloudWatch dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards:name=${aws_cloudwatch_dashboard.main.dashboard_name}"
}

output "event_bus_name" {
  description = "EventBridge bus of the downstream events (InvoiceCompleted, InvoiceNeedsReview, InvoiceApproved, InvoiceRejected, DocumentFailed; source invoice-pipeline): add your rules here."
  value       = aws_cloudwatch_event_bus.invoices.name
}

output "event_bus_arn" {
  description = "ARN of the downstream events' bus."
  value       = aws_cloudwatch_event_bus.invoices.arn
}

output "events_tap_queue_url" {
  description = "Local mode only: the queue receiving every event of the bus, which invoices events --follow reads (null in AWS)."
  value       = local.local_mode ? aws_sqs_queue.events_tap[0].url : null
}
