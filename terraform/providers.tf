provider "aws" {
  region = var.region

  # A real deployment refuses to touch any other account (the provider asks STS who it is). Local mode has
  # no STS worth asking: account_id is taken on trust there, which is also what lets `plan` run offline.
  allowed_account_ids         = local.local_mode ? null : [var.account_id]
  skip_credentials_validation = local.local_mode
  skip_requesting_account_id  = local.local_mode
  skip_metadata_api_check     = local.local_mode
  # The emulation serves every bucket from one host name.
  s3_use_path_style = local.local_mode
  # Against the emulation a missing API answers 500, which the provider would otherwise retry for many
  # minutes; against AWS the provider's default (25) rides out throttling.
  max_retries = local.local_mode ? 2 : null

  # Every service this configuration calls. null (a real deployment) means the provider's default endpoint.
  endpoints {
    apigatewayv2   = var.local_endpoint
    cloudwatch     = var.local_endpoint
    cognitoidp     = var.local_endpoint
    ec2            = var.local_endpoint
    events         = var.local_endpoint
    iam            = var.local_endpoint
    kms            = var.local_endpoint
    lambda         = var.local_endpoint
    logs           = var.local_endpoint
    rds            = var.local_endpoint
    s3             = var.local_endpoint
    secretsmanager = var.local_endpoint
    sfn            = var.local_endpoint
    sns            = var.local_endpoint
    sqs            = var.local_endpoint
    sts            = var.local_endpoint
  }

  default_tags {
    tags = local.tags
  }
}
