# API: one HTTP API in front of the api function (functions/invoice_pipeline/api). People sign in through
# Cognito (auth.tf) and call the routes with a JWT; machine clients call the same routes under /iam/ with
# SigV4 (AWS_IAM), and the handler strips the prefix (api/auth.py MACHINE_PREFIX). GET /health is the one
# anonymous route, as schemas/openapi.json documents it; the handler checks the authorizer again on every
# other route.

locals {
  api_routes = [
    "GET /documents",
    "POST /documents",
    "GET /documents/{document_id}",
    "GET /documents/{document_id}/invoice",
    "GET /documents/{document_id}/content",
    "POST /documents/reprocess",
    "POST /documents/{document_id}/reprocess",
    "GET /invoices/export",
    # Review (functions/invoice_pipeline/api/review.py): the roles are checked by the function (cognito:groups).
    "GET /invoices/review-queue",
    "GET /invoices/{invoice_id}",
    "PATCH /invoices/{invoice_id}",
    "GET /invoices/{invoice_id}/history",
    "POST /invoices/{invoice_id}/claim",
    "POST /invoices/{invoice_id}/release",
    "POST /invoices/{invoice_id}/approve",
    "POST /invoices/{invoice_id}/reject",
    "POST /invoices/{invoice_id}/clear-duplicate",
    "GET /metrics/accuracy",
  ]
  anonymous_routes     = ["GET /health"]
  machine_route_prefix = "/iam"
  machine_routes       = [for r in concat(local.api_routes, local.anonymous_routes) : replace(r, " /", " ${local.machine_route_prefix}/")]
}

resource "aws_apigatewayv2_api" "http" {
  name          = "${local.name}-api"
  description   = "Invoice pipeline: documents, invoices, export and uploads"
  protocol_type = "HTTP"

  dynamic "cors_configuration" {
    for_each = length(var.cors_allow_origins) > 0 ? [1] : []
    content {
      allow_origins  = var.cors_allow_origins
      allow_methods  = ["GET", "POST", "PATCH", "OPTIONS"]
      allow_headers  = ["authorization", "content-type", "if-match"]
      expose_headers = ["etag"]
      max_age        = 3600
    }
  }
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.fn["api"].invoke_arn
  integration_method     = "POST"
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_authorizer" "cognito" {
  api_id           = aws_apigatewayv2_api.http.id
  name             = "${local.name}-cognito"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]
  jwt_configuration {
    # Cognito access tokens carry client_id instead of aud; API Gateway checks either against this list.
    audience = [aws_cognito_user_pool_client.web.id]
    issuer   = "https://${aws_cognito_user_pool.main.endpoint}"
  }
}

resource "aws_apigatewayv2_route" "user" {
  for_each           = toset(local.api_routes)
  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.cognito.id
}

resource "aws_apigatewayv2_route" "anonymous" {
  #checkov:skip=CKV_AWS_309:GET /health is anonymous by contract (schemas/openapi.json): liveness for load balancers and uptime checks, reporting only whether the function and database answer.
  for_each           = toset(local.anonymous_routes)
  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "NONE"
}

resource "aws_apigatewayv2_route" "machine" {
  for_each           = toset(local.machine_routes)
  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "AWS_IAM"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit   = var.api_throttling_burst_limit
    throttling_rate_limit    = var.api_throttling_rate_limit
    detailed_metrics_enabled = true
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      ip                 = "$context.identity.sourceIp"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      path               = "$context.path"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
      principal          = "$context.authorizer.claims.sub"
      iamUser            = "$context.identity.userArn"
    })
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.name}-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_lambda_permission" "api" {
  statement_id  = "HttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn["api"].function_name
  principal     = "apigateway.${local.dns_suffix}"
  # This API's routes on any stage, nothing else.
  source_arn = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}

# Attach this policy to a machine client's role or user: it may call the /iam/ routes and nothing else.
resource "aws_iam_policy" "api_machine_client" {
  name        = "${local.name}-api-machine-client"
  description = "Call the invoice pipeline API's ${local.machine_route_prefix}/ routes with SigV4"
  policy      = data.aws_iam_policy_document.api_machine_client.json
}

data "aws_iam_policy_document" "api_machine_client" {
  statement {
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_apigatewayv2_api.http.execution_arn}/*/*${local.machine_route_prefix}/*"]
  }
}
