data "aws_partition" "current" {} # computed from the region by the provider: no API call

locals {
  name       = "${var.project}-${var.environment}"
  local_mode = var.local_endpoint != null

  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
  account_id = var.account_id
  region     = var.region

  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  network_enabled  = var.enable_network
  database_enabled = var.enable_database

  # S3 bucket names are global: the account and region make them unique without a random suffix.
  bucket_suffix  = "${var.account_id}-${var.region}"
  ingest_prefix  = "incoming/"
  results_prefix = "results/" # where adapters/results.py writes: results/<document_id>/<name>.json
  exports_prefix = "exports/" # where the API puts exports too big for a response (api/routes.py)

  lambda_code_zip  = coalesce(var.lambda_code_zip, "${path.module}/../build/lambda/code.zip")
  lambda_layer_zip = coalesce(var.lambda_layer_zip, "${path.module}/../build/lambda/layer.zip")

  # The functions, their handlers, sizes, extra environment and grants: functions/manifest.json, the one
  # definition that local mode and the tests read too. `state` marks the ones the state machine invokes.
  manifest = jsondecode(file("${path.module}/../functions/manifest.json")).functions
  functions = { for k, f in local.manifest : k => {
    handler     = f.handler
    description = f.description
    memory      = f.memory_mb
    timeout     = f.timeout_seconds
    state       = f.invoked_by == "state_machine"
    environment = f.environment
    permissions = f.permissions
    database    = f.database
    # As whom it logs in: a key of local.db_roles, or "migration" (the master user); null without database.
    database_role = try(f.database_role, null)
  } }
  # The functions' Postgres roles (migrations/0004_roles.sql creates them): role key -> role name.
  db_roles           = jsondecode(file("${path.module}/../functions/manifest.json")).database_roles
  database_functions = sort([for k, f in local.functions : k if f.database])
  # Reserved concurrency is how Postgres connections are bounded, unless the account's whole Lambda
  # concurrency is already within the connection budget (variables.tf, lambda_account_concurrency).
  reservations_apply = var.lambda_account_concurrency > var.database_connection_budget
  function_names     = { for k, _ in local.functions : k => "${local.name}-${replace(k, "_", "-")}" }
  state_functions    = sort([for k, f in local.functions : k if f.state])

  service_name      = local.name # POWERTOOLS_SERVICE_NAME: also the `service` dimension of every custom metric
  metrics_namespace = "InvoicePipeline"

  # The environment every function gets (config.py reads it); the database's is per function
  # (database_environment). In local mode X-Ray is off because no daemon listens there.
  function_environment = merge(
    {
      RESULTS_BUCKET               = aws_s3_bucket.results.id
      TEXTRACT_SNS_TOPIC_ARN       = aws_sns_topic.textract.arn
      TEXTRACT_ROLE_ARN            = aws_iam_role.textract.arn
      TEXTRACT_OUTPUT_BUCKET       = aws_s3_bucket.results.id
      TEXTRACT_OUTPUT_PREFIX       = var.textract_output_prefix
      TEXTRACT_OUTPUT_KMS_KEY      = aws_kms_key.main.arn
      ANALYSIS_TIMEOUT_SECONDS     = tostring(var.analysis_timeout_seconds)
      ANALYSIS_SECONDS_PER_PAGE    = tostring(var.analysis_timeout_seconds_per_page)
      ANALYSIS_TIMEOUT_MAX_SECONDS = tostring(var.analysis_timeout_max_seconds)
      TEXTRACT_START_RATE          = tostring(local.textract_start_rate)
      TEXTRACT_MAX_JOBS            = tostring(local.textract_max_jobs)
      WORK_DIR                     = "/tmp"
      POWERTOOLS_SERVICE_NAME      = local.service_name
      POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
      POWERTOOLS_LOG_LEVEL         = var.log_level
    },
    local.local_mode ? { POWERTOOLS_TRACE_DISABLED = "true" } : {},
  )
}

locals {
  # Which database secrets each function may read: its role's ("master" for the migrate function, which also
  # reads the roles' to set their passwords); none for a function that does not connect.
  function_database_secrets = { for k, f in local.functions : k => (
    f.database_role == null ? [] : f.database_role == "migration" ? concat(["master"], sort(keys(local.db_roles))) : [f.database_role]
  ) }

  # How each function reaches Postgres as its role. In AWS: its role's secret (DATABASE_SECRET_ARN), and for
  # the migrate function the roles' secrets too. In local mode: a libpq URL naming the role (database_url is
  # the migration's: the local Postgres' administrator).
  database_environment = { for k, f in local.functions : k => (
    f.database_role == null ? {} : local.database_enabled ? merge(
      { DATABASE_SECRET_ARN = local.database_secret_arns[f.database_role == "migration" ? "master" : f.database_role] },
      f.database_role == "migration" ? { DATABASE_ROLE_SECRETS = jsonencode({ for r in sort(keys(local.db_roles)) : r => local.database_secret_arns[r] }) } : {},
      ) : var.database_url != null ? {
      DATABASE_URL = f.database_role == "migration" ? var.database_url : var.database_role_urls[f.database_role]
    } : {}
  ) }
}
