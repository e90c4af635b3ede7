# Sign-in: a Cognito user pool whose tokens the API's JWT authorizer accepts. Users are invited by an
# administrator (no self sign-up: these are a company's invoices); Google is offered as a federated identity
# provider when google_client_id and google_client_secret are set.

locals {
  google_enabled        = var.google_client_id != null
  cognito_domain_prefix = coalesce(var.cognito_domain_prefix, "${local.name}-${var.account_id}")
}

resource "aws_cognito_user_pool" "main" {
  name                     = "${local.name}-users"
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  mfa_configuration        = "OPTIONAL"

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  software_token_mfa_configuration {
    enabled = true
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }
}

resource "aws_cognito_user_pool_domain" "main" {
  domain       = local.cognito_domain_prefix
  user_pool_id = aws_cognito_user_pool.main.id
}

resource "aws_cognito_identity_provider" "google" {
  count         = local.google_enabled ? 1 : 0
  user_pool_id  = aws_cognito_user_pool.main.id
  provider_name = "Google"
  provider_type = "Google"

  provider_details = {
    client_id        = var.google_client_id
    client_secret    = var.google_client_secret
    authorize_scopes = "openid email profile"
  }

  attribute_mapping = {
    email    = "email"
    username = "sub"
  }
}

# The web page's client: a public client (no secret in a browser) using the authorization code flow with PKCE.
resource "aws_cognito_user_pool_client" "web" {
  name                                 = "${local.name}-web"
  user_pool_id                         = aws_cognito_user_pool.main.id
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  callback_urls                        = var.oauth_callback_urls
  logout_urls                          = var.oauth_logout_urls
  supported_identity_providers         = concat(["COGNITO"], local.google_enabled ? ["Google"] : [])
  explicit_auth_flows                  = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true

  access_token_validity  = 60
  id_token_validity      = 60
  refresh_token_validity = 12
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "hours"
  }

  # "Google" must exist as a provider of the pool before a client may name it.
  depends_on = [aws_cognito_identity_provider.google]
}

# Review roles (functions/invoice_pipeline/api/roles.py): members of "reviewers" correct, claim, approve and
# reject invoices; "viewers", and users in neither group, only read. Access tokens carry the groups in
# cognito:groups. An administrator adds users to a group (aws cognito-idp admin-add-user-to-group).
resource "aws_cognito_user_group" "review" {
  for_each     = { reviewers = "Correct, claim, approve and reject invoices", viewers = "Read only" }
  name         = each.key
  description  = each.value
  user_pool_id = aws_cognito_user_pool.main.id
}
