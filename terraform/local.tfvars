# Local mode: the same configuration applied to the AWS emulation on this machine (the local stack passes
# -var local_endpoint=... when its port differs, -var database_url=... for its Postgres, and
# -var database_role_urls=... for the roles the functions log in as: invoice_local/dbroles.py).
#
# Off here, and only these:
#   - the database (enable_database): RDS instance, parameter and subnet groups, secret, generated password,
#     migrate invocation. The functions use the local Postgres (database_url); an aws_db_instance alone
#     takes over a minute in the emulation.
#   - the network (enable_network): VPC, subnets, endpoints, security groups, flow logs and the functions'
#     VPC settings. The functions run in worker processes on this machine: there is nothing to route.
# Everything else goes to the emulation as to AWS. Checked in moto 5.2.5's source and by applying this file
# to a moto server (125 resources, clean destroy): API Gateway v2 keeps JWT authorizers, AWS_IAM routes and
# stage throttling/access-log settings (it has no UpdateStage: a later stage change fails there, recreate the
# stack); Cognito pools, clients, domains and identity providers, EventBridge targets with retry policy and
# DLQ, Lambda concurrency, event-invoke configs and layers, KMS-encrypted log groups, topics and queues all
# work. S3 bucket logging only accepts a target bucket policy whose principals are objects ({"AWS": "*"},
# not "*"), which storage.tf uses. What moto lacks the local stack supplies: ValidateStateMachineDefinition
# and ListStateMachineVersions for the state machine. Known drift: aws_s3_bucket_notification.ingest.
account_id     = "123456789012" # the emulation's account
region         = "us-east-1"
environment    = "local"
local_endpoint = "http://127.0.0.1:4599"

enable_database = false
enable_network  = false

# Throw-away: destroy must succeed with objects in the buckets and nothing protected.
force_destroy_buckets = true
deletion_protection   = false
log_retention_days    = 7

# Short enough to see a lost notification fail while watching; a longer document waits longer: the local
# engine OCRs a scanned page in about 2 s on 2 idle cores (a digital page in milliseconds).
analysis_timeout_seconds          = 300
analysis_timeout_seconds_per_page = 5
textract_retry_interval_seconds   = 1
textract_retry_max_attempts       = 3
