# Inputs. Every variable keeps its type, default and description on one line each: the README's inputs table
# is checked against this file (tests/iac/test_readme_tf_tables.py).

# --- identity and placement ----------------------------------------------------------------------------

variable "project" {
  type        = string
  default     = "invoices"
  description = "First part of every resource name (`<project>-<environment>-<component>`)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,10}[a-z0-9]$", var.project))
    error_message = "project: 3-12 characters, lower-case letters, digits and hyphens (it ends up in S3 bucket names: <project>-<environment>-access-logs-<account>-<region> must stay within 63; tests/iac/test_names.py)."
  }
}

variable "environment" {
  type        = string
  default     = "dev"
  description = "Second part of every resource name, e.g. dev, prod, local."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,9}$", var.environment))
    error_message = "environment: 1-10 lower-case letters and digits, starting with a letter."
  }
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region to deploy into."

  validation {
    # The commercial regions with a Textract endpoint in AWS's SDK endpoint data (botocore endpoints.json,
    # partition "aws"). Other partitions (GovCloud, China) are refused: IAM conditions, the ASL and the API
    # build arn:aws: ARNs, and AnalyzeExpense's availability there is unverified.
    condition     = contains(["us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-south-2", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2"], var.region)
    error_message = "region: one of the commercial regions where Textract's AnalyzeExpense is offered (us-east-1, us-east-2, us-west-1, us-west-2, ca-central-1, eu-west-1, eu-west-2, eu-west-3, eu-central-1, eu-central-2, eu-south-2, ap-south-1, ap-northeast-1, ap-northeast-2, ap-southeast-1, ap-southeast-2). Other partitions (GovCloud, China) are not supported, and the pipeline cannot run where AnalyzeExpense is not."
  }
}

variable "account_id" {
  type        = string
  description = "AWS account id to deploy into. Builds ARNs without asking STS (plan needs no network) and, outside local mode, the provider refuses any other account."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id: the 12-digit AWS account id."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Extra tags for every resource (Project, Environment and ManagedBy are always set)."
}

# --- local mode ----------------------------------------------------------------------------------------

variable "local_endpoint" {
  type        = string
  default     = null
  description = "Local mode: URL of the AWS emulation that every service endpoint points at (null = real AWS). Also skips credential and account checks."

  validation {
    condition     = var.local_endpoint == null ? true : can(regex("^https?://[^/]+/?$", var.local_endpoint))
    error_message = "local_endpoint: null or a base URL such as http://127.0.0.1:4599."
  }
}

variable "database_url" {
  type        = string
  default     = null
  sensitive   = true
  description = "Local mode only: libpq URL of the Postgres the functions use (DATABASE_URL), instead of the RDS instance and its secret."

  validation {
    condition     = var.database_url == null ? true : (var.local_endpoint != null && can(regex("^postgres(ql)?://", var.database_url)))
    error_message = "database_url: only with local_endpoint set (AWS deployments read the Secrets Manager secret), and a postgresql:// URL."
  }
}

variable "database_role_urls" {
  type        = map(string)
  default     = null
  sensitive   = true
  description = "Local mode only: libpq URL per database role (pipeline, api; functions/manifest.json database_roles), the DATABASE_URL of the functions that log in as it. database_url is then the migrate function's only. The local stack derives them (local/invoice_local/dbroles.py)."

  validation {
    condition     = var.database_role_urls == null ? true : (var.local_endpoint != null && alltrue([for u in values(var.database_role_urls) : can(regex("^postgres(ql)?://", u))]))
    error_message = "database_role_urls: only with local_endpoint set (AWS deployments read each role's Secrets Manager secret), and postgresql:// URLs."
  }
  validation {
    condition     = (var.database_url == null) == (var.database_role_urls == null)
    error_message = "database_role_urls: set with database_url, and only with it: without them every function would log in as database_url's user."
  }
}

variable "enable_network" {
  type        = bool
  default     = true
  description = "Put the functions in private subnets (a created VPC or vpc_id) with the VPC endpoints they need. Off in local mode."
}

variable "enable_database" {
  type        = bool
  default     = true
  description = "Create the RDS PostgreSQL instance, its Secrets Manager secret, and run the migrations at apply. Needs enable_network. Off in local mode."

  validation {
    condition     = !var.enable_database || var.enable_network
    error_message = "enable_database needs enable_network: the database lives in private subnets only."
  }
}

variable "force_destroy_buckets" {
  type        = bool
  default     = false
  description = "Let destroy delete buckets that still hold objects (true for local mode and throw-away environments only)."
}

variable "deletion_protection" {
  type        = bool
  default     = true
  description = "Deletion protection on the database and the Cognito user pool."
}

# --- Lambda artifacts and settings ---------------------------------------------------------------------

variable "lambda_code_zip" {
  type        = string
  default     = null
  description = "Path of the code package built by `make build` (null = build/lambda/code.zip in this repository)."
}

variable "lambda_layer_zip" {
  type        = string
  default     = null
  description = "Path of the dependency layer built by `make build` (null = build/lambda/layer.zip in this repository)."
}

variable "log_level" {
  type        = string
  default     = "INFO"
  description = "POWERTOOLS_LOG_LEVEL of every function."

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level: DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "log_retention_days" {
  type        = number
  default     = 365
  description = "Retention of every CloudWatch log group (functions, state machine, API access logs, flow logs, RDS)."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days: one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ..., 3653)."
  }
}

variable "lambda_memory_mb" {
  type        = map(number)
  default     = {}
  description = "Memory (MB) per function, overriding the defaults in locals.tf; keys are function names (register, parse, ...)."

  validation {
    condition     = alltrue([for k, v in var.lambda_memory_mb : contains(["register", "start_analysis", "callback", "parse", "validate", "persist", "record_failure", "migrate", "api"], k) && v >= 128 && v <= 10240])
    error_message = "lambda_memory_mb: keys are function names, values 128-10240."
  }
}

variable "register_ephemeral_storage_mb" {
  type        = number
  default     = 1024
  description = "/tmp size (MB) of the register function, which streams uploads of up to 500 MB there to hash and sniff them."

  validation {
    condition     = var.register_ephemeral_storage_mb >= 768 && var.register_ephemeral_storage_mb <= 10240
    error_message = "register_ephemeral_storage_mb: 768-10240 (a 500 MB upload plus the runtime's own use of /tmp)."
  }
}

variable "reserved_concurrency" {
  type = map(number)
  default = {
    register       = 10, admit = 5, start_analysis = 5, callback = 10, parse = 10, validate = 5, persist = 10,
    record_failure = 5, dispatch = 1, publish_events = 1, migrate = 1, api = 20, read_einvoice = 5,
  }
  description = "Reserved concurrency per function. Every function that connects to Postgres has one, and together they stay within database_connection_budget: that is how connections are bounded (each execution environment holds one connection). The rest of a burst waits in the intake queue or for a Textract slot. Applied only when lambda_account_concurrency exceeds database_connection_budget (otherwise the account limit bounds the connections itself), and then AWS requires them to leave 100 of the account's concurrency unreserved."

  validation {
    condition     = alltrue([for k, v in var.reserved_concurrency : contains(keys(local.functions), k) && v >= 1 && floor(v) == v])
    error_message = "reserved_concurrency: keys are function names of functions/manifest.json, values whole numbers >= 1 (0 would disable the function)."
  }

  validation {
    condition     = alltrue([for k in local.database_functions : contains(keys(var.reserved_concurrency), k)])
    error_message = "reserved_concurrency: every function that connects to Postgres needs a reservation, or a burst could open unbounded connections."
  }

  validation {
    condition     = sum([for k in local.database_functions : lookup(var.reserved_concurrency, k, 0)]) <= var.database_connection_budget
    error_message = "reserved_concurrency: the functions that connect to Postgres may together hold more connections than database_connection_budget."
  }
}

variable "lambda_account_concurrency" {
  type        = number
  default     = 1000
  description = "The account's Lambda concurrency limit in this region (`aws lambda get-account-settings`: AccountLimit.ConcurrentExecutions; 1000 is AWS's default, new accounts often have 10). At most database_connection_budget, it bounds the Postgres connections itself and no function gets a reservation; above it, reserved_concurrency applies and must leave min(100, this) unreserved, as Lambda's PutFunctionConcurrency requires."

  validation {
    condition     = var.lambda_account_concurrency >= 1 && floor(var.lambda_account_concurrency) == var.lambda_account_concurrency
    error_message = "lambda_account_concurrency: a whole number >= 1, the account's limit (aws lambda get-account-settings)."
  }

  validation {
    condition     = var.lambda_account_concurrency <= var.database_connection_budget || sum(concat([0], values(var.reserved_concurrency))) <= var.lambda_account_concurrency - min(100, var.lambda_account_concurrency)
    error_message = "lambda_account_concurrency: reserved_concurrency reserves ${sum(concat([0], values(var.reserved_concurrency)))} in all, but AWS lets an account whose limit is ${var.lambda_account_concurrency} reserve at most ${var.lambda_account_concurrency - min(100, var.lambda_account_concurrency)} (it keeps min(100, limit) unreserved), so terraform apply would fail. Raise the account's Lambda concurrency quota (Service Quotas: AWS Lambda, \"Concurrent executions\") and set lambda_account_concurrency to the new limit, or lower reserved_concurrency. The reservations are what bound Postgres connections while the limit exceeds database_connection_budget (${var.database_connection_budget})."
  }
}

variable "database_connection_budget" {
  type        = number
  default     = 100
  description = "Postgres connections the functions may hold together (one per execution environment of a function that connects). Keep it under the instance's max_connections minus what people and tools need: db.t4g.small allows about 200."

  validation {
    condition     = var.database_connection_budget >= 12 && floor(var.database_connection_budget) == var.database_connection_budget
    error_message = "database_connection_budget: a whole number, at least one connection for each function that connects."
  }
}

# --- admission: how fast work enters the pipeline ------------------------------------------------------

variable "intake_start_rate" {
  type        = number
  default     = 10
  description = "Executions started per second from the intake queue, at most. Register's reserved concurrency must keep up with it (each Register takes about 0.2-1 s); the rest of a burst waits in the queue."

  validation {
    condition     = var.intake_start_rate > 0 && var.intake_start_rate <= 300
    error_message = "intake_start_rate: more than 0, at most 300 (Step Functions' StartExecution refill rate in the largest regions)."
  }
}

variable "intake_pollers" {
  type        = number
  default     = 2
  description = "The intake event source mapping's maximum concurrency: batches of up to 10 messages started at once (AWS's minimum is 2)."

  validation {
    condition     = var.intake_pollers >= 2 && var.intake_pollers <= 1000 && floor(var.intake_pollers) == var.intake_pollers
    error_message = "intake_pollers: a whole number, 2-1000 (AWS's bounds for maximum concurrency)."
  }
}

variable "intake_max_receive_count" {
  type        = number
  default     = 5
  description = "Deliveries of an intake message that could not start an execution before it goes to the intake DLQ."

  validation {
    condition     = var.intake_max_receive_count >= 1 && var.intake_max_receive_count <= 1000 && floor(var.intake_max_receive_count) == var.intake_max_receive_count
    error_message = "intake_max_receive_count: a whole number, 1-1000."
  }
}

variable "textract_start_rate" {
  type        = number
  default     = null
  description = "StartExpenseAnalysis calls a second that admission control allows. Null: the region's default quota (5 in us-east-1 and us-west-2, 1 elsewhere); set it to a raised quota, or lower to leave room for other users of Textract in the account."

  validation {
    condition     = var.textract_start_rate == null ? true : var.textract_start_rate > 0 && var.textract_start_rate <= 100
    error_message = "textract_start_rate: more than 0, at most 100, or null for the region's quota."
  }
}

variable "textract_max_jobs" {
  type        = number
  default     = null
  description = "Textract expense jobs running at once that admission control allows. Null: the region's default quota (600 in us-east-1, 100 elsewhere)."

  validation {
    condition     = var.textract_max_jobs == null ? true : var.textract_max_jobs >= 1 && floor(var.textract_max_jobs) == var.textract_max_jobs
    error_message = "textract_max_jobs: a whole number >= 1, or null for the region's quota."
  }
}

variable "waiting_alarm_seconds" {
  type        = number
  default     = 3600
  description = "Alarm when the oldest waiting document (in the intake queue, or QUEUED for a Textract slot) has waited longer than this."

  validation {
    condition     = var.waiting_alarm_seconds >= 60
    error_message = "waiting_alarm_seconds: at least 60."
  }
}

# --- the backfill: objects already stored, through the same intake -------------------------------------

variable "backfill_source_buckets" {
  type        = list(string)
  default     = []
  description = "Where the backfill may read besides the ingest bucket's incoming/: bucket names, or bucket/prefix, in this account and region. Register and StartAnalysis may read them too; their objects must be readable with those roles (SSE-S3, or SSE-KMS with this pipeline's key)."

  validation {
    condition     = alltrue([for s in var.backfill_source_buckets : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", s))])
    error_message = "backfill_source_buckets: bucket names, or bucket/prefix (without s3://)."
  }
}

variable "backfill_max_concurrency" {
  type        = number
  default     = 10
  description = "Backfill child workflows (ten objects each) running at once. The pipeline's pace is the intake's either way (intake_start_rate); this bounds the backfill's own S3 and SQS calls."

  validation {
    condition     = var.backfill_max_concurrency >= 1 && var.backfill_max_concurrency <= 10000 && floor(var.backfill_max_concurrency) == var.backfill_max_concurrency
    error_message = "backfill_max_concurrency: a whole number, 1-10000 (a Distributed Map's bounds; 0 would mean unbounded)."
  }
}

# --- the pipeline --------------------------------------------------------------------------------------

variable "analysis_timeout_seconds" {
  type        = number
  default     = 3600
  description = "How long StartAnalysis waits for Textract's completion callback of a one-page document before it fails with TaskTimedOut; longer documents wait analysis_timeout_seconds_per_page more per further page, up to analysis_timeout_max_seconds (Register computes it, the state's TimeoutSecondsPath reads it)."

  validation {
    condition     = var.analysis_timeout_seconds >= 5 && var.analysis_timeout_seconds <= 86400 && floor(var.analysis_timeout_seconds) == var.analysis_timeout_seconds
    error_message = "analysis_timeout_seconds: a whole number of seconds, 5-86400."
  }
}

variable "analysis_timeout_seconds_per_page" {
  type        = number
  default     = 2
  description = "How much longer StartAnalysis waits for each page after the first (a 3,000-page PDF is within Textract's limits and takes longer than an invoice), up to analysis_timeout_max_seconds."

  validation {
    condition     = var.analysis_timeout_seconds_per_page >= 0 && var.analysis_timeout_seconds_per_page <= 600
    error_message = "analysis_timeout_seconds_per_page: 0-600 seconds."
  }
}

variable "analysis_timeout_max_seconds" {
  type        = number
  default     = 21600
  description = "The longest StartAnalysis waits for any document, whatever its page count. At most 7 days: Textract keeps a job's result (its JobId is valid) for 7 days, so a longer wait could never fetch it. It also bounds how long a Textract slot of an execution that died is held before it is reclaimed."

  validation {
    condition     = var.analysis_timeout_max_seconds >= var.analysis_timeout_seconds && var.analysis_timeout_max_seconds <= 604800 && floor(var.analysis_timeout_max_seconds) == var.analysis_timeout_max_seconds
    error_message = "analysis_timeout_max_seconds: a whole number of seconds, at least analysis_timeout_seconds and at most 604800 (7 days, how long Textract keeps a job's result)."
  }
}

variable "textract_retry_interval_seconds" {
  type        = number
  default     = 5
  description = "First retry interval after Textract throttling or a Textract 5xx (backoff rate 2, full jitter)."

  validation {
    condition     = var.textract_retry_interval_seconds >= 1 && var.textract_retry_interval_seconds <= 300 && floor(var.textract_retry_interval_seconds) == var.textract_retry_interval_seconds
    error_message = "textract_retry_interval_seconds: a whole number, 1-300."
  }
}

variable "textract_retry_max_attempts" {
  type        = number
  default     = 6
  description = "Retries after Textract throttling or a Textract 5xx before the document fails."

  validation {
    condition     = var.textract_retry_max_attempts >= 0 && var.textract_retry_max_attempts <= 20 && floor(var.textract_retry_max_attempts) == var.textract_retry_max_attempts
    error_message = "textract_retry_max_attempts: a whole number, 0-20."
  }
}

variable "textract_output_prefix" {
  type        = string
  default     = "textract-output"
  description = "Prefix in the results bucket where Textract writes its raw output (OutputConfig)."

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9_.-]+)*$", var.textract_output_prefix))
    error_message = "textract_output_prefix: a key prefix without leading or trailing slash."
  }
}

variable "textract_output_expiration_days" {
  type        = number
  default     = 30
  description = "Days before Textract's raw output expires (the normalized results are kept)."

  validation {
    condition     = var.textract_output_expiration_days >= 1
    error_message = "textract_output_expiration_days: at least 1."
  }
}

variable "export_expiration_days" {
  type        = number
  default     = 7
  description = "Days before large exports (written to the results bucket under exports/ by GET /invoices/export) expire."

  validation {
    condition     = var.export_expiration_days >= 1
    error_message = "export_expiration_days: at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  type        = number
  default     = 90
  description = "Days before overwritten or deleted object versions expire in the ingest and results buckets."

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days: at least 1."
  }
}

variable "access_log_expiration_days" {
  type        = number
  default     = 365
  description = "Days before S3 server access logs expire."

  validation {
    condition     = var.access_log_expiration_days >= 1
    error_message = "access_log_expiration_days: at least 1."
  }
}

variable "event_retry_attempts" {
  type        = number
  default     = 10
  description = "EventBridge retries when starting the state machine fails; after them (or event_max_age_seconds) the event goes to the dead-letter queue."

  validation {
    condition     = var.event_retry_attempts >= 0 && var.event_retry_attempts <= 185
    error_message = "event_retry_attempts: 0-185."
  }
}

variable "event_max_age_seconds" {
  type        = number
  default     = 3600
  description = "How long EventBridge keeps retrying one upload's event before dead-lettering it."

  validation {
    condition     = var.event_max_age_seconds >= 60 && var.event_max_age_seconds <= 86400
    error_message = "event_max_age_seconds: 60-86400."
  }
}

variable "state_machine_log_level" {
  type        = string
  default     = "ERROR"
  description = "Step Functions execution logging level (ALL, ERROR, FATAL). ERROR logs every failed step with its input; a Standard execution's whole history stays in Step Functions for 90 days anyway, and ALL copies each of its events to CloudWatch Logs as well (docs/cost.md)."

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.state_machine_log_level)
    error_message = "state_machine_log_level: ALL, ERROR or FATAL."
  }
}

# --- network -------------------------------------------------------------------------------------------

variable "vpc_id" {
  type        = string
  default     = null
  description = "Existing VPC to use (with private_subnet_ids); null creates one."

  validation {
    condition     = var.vpc_id == null ? true : can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id: null or a VPC id (vpc-...)."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  default     = []
  description = "Private subnets of vpc_id (two or more, in different availability zones) for the functions, endpoints and database."

  validation {
    condition     = alltrue([for s in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "private_subnet_ids: subnet ids (subnet-...)."
  }

  validation {
    condition     = var.vpc_id == null ? length(var.private_subnet_ids) == 0 : length(var.private_subnet_ids) >= 2
    error_message = "private_subnet_ids: at least two (in different availability zones) with vpc_id; none without it (the created VPC has its own)."
  }
}

variable "private_route_table_ids" {
  type        = list(string)
  default     = []
  description = "Route tables of private_subnet_ids, for the S3 gateway endpoint in an existing VPC (empty: no S3 endpoint is created there)."
}

variable "vpc_cidr" {
  type        = string
  default     = "10.42.0.0/16"
  description = "CIDR of the VPC created when vpc_id is null."

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr: an IPv4 CIDR block of /24 or larger."
  }
}

variable "availability_zones" {
  type        = list(string)
  default     = []
  description = "Availability zones of the created VPC's private subnets (empty: the region's first two)."

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) >= 2
    error_message = "availability_zones: empty, or at least two (RDS subnet groups span two zones)."
  }
}

variable "create_vpc_endpoints" {
  type        = bool
  default     = true
  description = "Create the VPC endpoints the functions need (S3 gateway; Secrets Manager, Step Functions, Textract interface). Turn off for an existing VPC that already has them."
}

variable "vpc_endpoint_az_count" {
  type        = number
  default     = null
  description = "Availability zones the interface endpoints are placed in: the first N private subnets (null: all of them). Each endpoint is billed per zone, so 1 halves their cost (docs/cost.md, lean profile); an outage of that zone then cuts the functions off from Step Functions, Textract, SQS and Secrets Manager."

  validation {
    condition     = var.vpc_endpoint_az_count == null ? true : var.vpc_endpoint_az_count >= 1 && floor(var.vpc_endpoint_az_count) == var.vpc_endpoint_az_count
    error_message = "vpc_endpoint_az_count: null (every private subnet's zone), or a whole number of at least 1."
  }
}

# --- database ------------------------------------------------------------------------------------------

variable "db_instance_class" {
  type        = string
  default     = "db.t4g.small"
  description = "RDS instance class."

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class: an RDS class such as db.t4g.small."
  }
}

variable "db_engine_version" {
  type        = string
  default     = "16"
  description = "PostgreSQL major version (minor versions are upgraded automatically)."

  validation {
    condition     = can(regex("^1[5-9]$", var.db_engine_version))
    error_message = "db_engine_version: a PostgreSQL major version, 15 or later."
  }
}

variable "db_allocated_storage_gb" {
  type        = number
  default     = 20
  description = "Initial storage (GB)."

  validation {
    condition     = var.db_allocated_storage_gb >= 20 && var.db_allocated_storage_gb <= 65536
    error_message = "db_allocated_storage_gb: 20-65536."
  }
}

variable "db_max_allocated_storage_gb" {
  type        = number
  default     = 200
  description = "Storage autoscaling ceiling (GB)."

  validation {
    condition     = var.db_max_allocated_storage_gb >= 20 && var.db_max_allocated_storage_gb <= 65536
    error_message = "db_max_allocated_storage_gb: 20-65536."
  }
}

variable "db_multi_az" {
  type        = bool
  default     = true
  description = "Multi-AZ standby for the database (false halves the cost for non-production environments)."
}

variable "db_backup_retention_days" {
  type        = number
  default     = 7
  description = "Days of automated backups (point-in-time recovery)."

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days: 1-35 (0 would turn backups off)."
  }
}

variable "db_skip_final_snapshot" {
  type        = bool
  default     = false
  description = "Destroy the database without a final snapshot."
}

variable "db_name" {
  type        = string
  default     = "invoices"
  description = "Database created in the instance."

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name: lower-case letters, digits and underscores, starting with a letter."
  }
}

variable "db_username" {
  type        = string
  default     = "invoices_admin"
  description = "Master user name (its password is generated and kept in Secrets Manager only)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_username)) && !contains(["postgres", "admin", "rdsadmin"], var.db_username)
    error_message = "db_username: lower-case letters, digits and underscores, not a reserved name."
  }
}

variable "db_password_version" {
  type        = number
  default     = 1
  description = "Bump to generate a new database password (set on the instance and in the secret in the same apply)."

  validation {
    condition     = var.db_password_version >= 1 && floor(var.db_password_version) == var.db_password_version
    error_message = "db_password_version: a whole number >= 1."
  }
}

variable "db_monitoring_interval" {
  type        = number
  default     = 60
  description = "Enhanced Monitoring interval in seconds (0 turns it off)."

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.db_monitoring_interval)
    error_message = "db_monitoring_interval: 0, 1, 5, 10, 15, 30 or 60."
  }
}

variable "db_performance_insights" {
  type        = bool
  default     = true
  description = "Performance Insights (encrypted with the pipeline's key, 7 days free retention)."
}

# --- API and sign-in -----------------------------------------------------------------------------------

variable "api_throttling_burst_limit" {
  type        = number
  default     = 50
  description = "API Gateway burst limit (requests) for every route."

  validation {
    condition     = var.api_throttling_burst_limit >= 1
    error_message = "api_throttling_burst_limit: at least 1."
  }
}

variable "api_throttling_rate_limit" {
  type        = number
  default     = 20
  description = "API Gateway steady-state limit (requests per second) for every route."

  validation {
    condition     = var.api_throttling_rate_limit >= 1
    error_message = "api_throttling_rate_limit: at least 1."
  }
}

variable "cors_allow_origins" {
  type        = list(string)
  default     = []
  description = "Browser origins allowed to call the API and upload to presigned URLs (empty: no CORS)."

  validation {
    condition     = alltrue([for o in var.cors_allow_origins : can(regex("^https?://[^/]+$", o))])
    error_message = "cors_allow_origins: origins such as https://invoices.example.com (scheme and host, no path)."
  }
}

variable "cognito_domain_prefix" {
  type        = string
  default     = null
  description = "Prefix of the Cognito hosted sign-in domain (null = <project>-<environment>-<account_id>)."

  validation {
    condition     = var.cognito_domain_prefix == null ? true : can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.cognito_domain_prefix))
    error_message = "cognito_domain_prefix: lower-case letters, digits and hyphens, 1-63 characters."
  }
}

variable "oauth_callback_urls" {
  type        = list(string)
  default     = ["http://localhost:8000/"]
  description = "URLs Cognito may redirect to after sign-in (the web page)."

  validation {
    condition     = length(var.oauth_callback_urls) > 0 && alltrue([for u in var.oauth_callback_urls : can(regex("^(https://|http://localhost[:/])", u))])
    error_message = "oauth_callback_urls: at least one; https:// URLs, or http://localhost for development."
  }
}

variable "oauth_logout_urls" {
  type        = list(string)
  default     = ["http://localhost:8000/"]
  description = "URLs Cognito may redirect to after sign-out."

  validation {
    condition     = alltrue([for u in var.oauth_logout_urls : can(regex("^(https://|http://localhost[:/])", u))])
    error_message = "oauth_logout_urls: https:// URLs, or http://localhost for development."
  }
}

variable "google_client_id" {
  type        = string
  default     = null
  description = "Google OAuth client id: set it (with google_client_secret) to offer Google as a federated sign-in."

  validation {
    condition     = var.google_client_id == null ? true : can(regex("\\.apps\\.googleusercontent\\.com$", var.google_client_id))
    error_message = "google_client_id: null or a Google OAuth client id (...apps.googleusercontent.com)."
  }
}

variable "google_client_secret" {
  type        = string
  default     = null
  sensitive   = true
  description = "Google OAuth client secret (with google_client_id). Stored in the Terraform state: keep the state encrypted."

  validation {
    condition     = (var.google_client_secret == null) == (var.google_client_id == null)
    error_message = "google_client_secret: set both google_client_id and google_client_secret, or neither."
  }
}

# --- alarms --------------------------------------------------------------------------------------------

variable "alarm_email" {
  type        = string
  default     = null
  description = "E-mail address subscribed to the alarm topic (null: subscribe something yourself)."

  validation {
    condition     = var.alarm_email == null ? true : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email: null or an e-mail address."
  }
}

variable "lambda_error_alarm_threshold" {
  type        = number
  default     = 1
  description = "Errors of one function within 5 minutes that raise its alarm. Named document errors (EmptyDocument, ...) are Lambda errors too: raise it if bad uploads are routine."

  validation {
    condition     = var.lambda_error_alarm_threshold >= 1
    error_message = "lambda_error_alarm_threshold: at least 1."
  }
}

variable "einvoice_unsupported_profile" {
  type        = string
  default     = "fail"
  description = "What happens to a Factur-X/ZUGFeRD PDF whose embedded XML is of a profile the e-invoice reader does not take (MINIMUM, BASIC WL: no line items; an unknown guideline): \"fail\" (FAILED UnsupportedEInvoice) or \"ocr\" (its picture goes to Textract like any PDF). A bare XML has no picture and always fails."

  validation {
    condition     = contains(["fail", "ocr"], var.einvoice_unsupported_profile)
    error_message = "einvoice_unsupported_profile: \"fail\" or \"ocr\"."
  }
}

# --- review (functions/invoice_pipeline/api/review.py) ---------------------------------------------------

variable "review_claim_seconds" {
  type        = number
  default     = 900
  description = "How long a reviewer's claim on an invoice lasts (POST /invoices/{id}/claim); editing and deciding need a live claim of one's own."

  validation {
    condition     = var.review_claim_seconds >= 60 && var.review_claim_seconds <= 86400 && floor(var.review_claim_seconds) == var.review_claim_seconds
    error_message = "review_claim_seconds: a whole number of seconds, 60-86400."
  }
}

variable "review_requires_second_approver" {
  type        = bool
  default     = false
  description = "Four eyes: an invoice a reviewer corrected must be approved by another reviewer (403 SECOND_APPROVER_REQUIRED otherwise)."
}

# --- the downstream events' outbox (downstream_events.tf) ------------------------------------------------

variable "outbox_alarm_minutes" {
  type        = number
  default     = 15
  description = "Alarm when a downstream event has waited in the outbox, unpublished, longer than this (the bus refuses or is unreachable, or publish-events is not running)."

  validation {
    condition     = var.outbox_alarm_minutes >= 2 && floor(var.outbox_alarm_minutes) == var.outbox_alarm_minutes
    error_message = "outbox_alarm_minutes: a whole number of minutes, at least 2 (publish-events runs every minute)."
  }
}

variable "outbox_retention_days" {
  type        = number
  default     = 30
  description = "Published downstream events are deleted from the outbox after this many days (by publish-events, a bounded batch a minute); pending ones are kept."

  validation {
    condition     = var.outbox_retention_days >= 1 && floor(var.outbox_retention_days) == var.outbox_retention_days
    error_message = "outbox_retention_days: a whole number of days, at least 1."
  }
}
