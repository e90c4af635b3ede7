# Network (enable_network): private subnets only, no internet route. The functions reach AWS through VPC
# endpoints rather than a NAT gateway:
#   - S3 through a gateway endpoint: free, and it carries the heavy traffic (uploads of up to 500 MB) that a
#     NAT would bill per GB.
#   - Secrets Manager, Step Functions (callback, reprocess), Textract, SQS and EventBridge (the downstream
#     events) through interface endpoints.
#     Three endpoints in two zones cost about what one NAT gateway does before its per-GB charge, and keep
#     invoice data off any path to the internet.
# CloudWatch Logs, X-Ray and Lambda destinations need no endpoint: the Lambda service itself ships those.

locals {
  create_vpc = local.network_enabled && var.vpc_id == null
  vpc_id     = local.create_vpc ? aws_vpc.main[0].id : var.vpc_id
  azs        = local.create_vpc ? (length(var.availability_zones) > 0 ? var.availability_zones : slice(data.aws_availability_zones.available[0].names, 0, 2)) : []

  private_subnet_ids      = local.create_vpc ? aws_subnet.private[*].id : var.private_subnet_ids
  private_route_table_ids = local.create_vpc ? [aws_route_table.private[0].id] : var.private_route_table_ids

  create_endpoints = local.network_enabled && var.create_vpc_endpoints
  interface_endpoint_services = toset(concat(
    # sqs: the API's reprocess sends to the intake queue; events: the downstream events' PutEvents
    ["states", "textract", "sqs", "events"],
    local.database_enabled ? ["secretsmanager"] : [],
  ))
  # An interface endpoint is billed per zone it has a subnet in: every private subnet's zone, or only the
  # first var.vpc_endpoint_az_count (functions in the other zones reach it across zones).
  endpoint_subnet_ids = var.vpc_endpoint_az_count == null ? local.private_subnet_ids : slice(
  local.private_subnet_ids, 0, min(var.vpc_endpoint_az_count, length(local.private_subnet_ids)))
}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first two zone names (the provider sorts them) are used, so a zone AWS adds later does not change the subnets. availability_zones pins them explicitly.
  count = local.create_vpc && length(var.availability_zones) == 0 ? 1 : 0
  state = "available"
}

resource "aws_vpc" "main" {
  count                = local.create_vpc ? 1 : 0
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # private DNS of the interface endpoints needs it
  tags                 = { Name = "${local.name}-vpc" }
}

resource "aws_subnet" "private" {
  count             = length(local.azs)
  vpc_id            = aws_vpc.main[0].id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  tags              = { Name = "${local.name}-private-${local.azs[count.index]}" }
}

resource "aws_route_table" "private" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.main[0].id
  tags   = { Name = "${local.name}-private" }
}

resource "aws_route_table_association" "private" {
  count          = length(local.azs)
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

# The default security group allows traffic between its members; nothing should use it, so it allows nothing.
resource "aws_default_security_group" "main" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.main[0].id
  tags   = { Name = "${local.name}-default-unused" }
}

resource "aws_flow_log" "main" {
  count                = local.create_vpc ? 1 : 0
  vpc_id               = aws_vpc.main[0].id
  traffic_type         = "REJECT" # what was refused is what an investigation needs; ACCEPT would dwarf it
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn         = aws_iam_role.flow_logs[0].arn
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  count             = local.create_vpc ? 1 : 0
  name              = "/aws/vpc/${local.name}-flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "flow_logs" {
  count              = local.create_vpc ? 1 : 0
  name               = "${local.name}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_trust.json
}

data "aws_iam_policy_document" "flow_logs_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.${local.dns_suffix}"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  count  = local.create_vpc ? 1 : 0
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs[0].json
}

data "aws_iam_policy_document" "flow_logs" {
  count = local.create_vpc ? 1 : 0
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }
  # DescribeLogGroups is authorized on the account's log-group namespace, not on one group.
  statement {
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
  }
}

# --- security groups -----------------------------------------------------------------------------------

resource "aws_security_group" "lambda" {
  count       = local.network_enabled ? 1 : 0
  name        = "${local.name}-functions"
  description = "Invoice pipeline functions: out to the VPC endpoints, S3 and the database only"
  vpc_id      = local.vpc_id
  tags        = { Name = "${local.name}-functions" }
}

resource "aws_security_group" "endpoints" {
  count       = local.create_endpoints ? 1 : 0
  name        = "${local.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from the pipeline functions"
  vpc_id      = local.vpc_id
  tags        = { Name = "${local.name}-endpoints" }
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_endpoints" {
  count                        = local.create_endpoints ? 1 : 0
  security_group_id            = aws_security_group.lambda[0].id
  description                  = "HTTPS to the interface endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints[0].id
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_s3" {
  count             = local.create_endpoints && length(local.private_route_table_ids) > 0 ? 1 : 0
  security_group_id = aws_security_group.lambda[0].id
  description       = "HTTPS to S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3[0].prefix_list_id
}

# Without our endpoints (an existing VPC with its own endpoints or NAT), AWS APIs are wherever that VPC
# routes HTTPS.
resource "aws_vpc_security_group_egress_rule" "lambda_https_out" {
  count             = local.network_enabled && !local.create_endpoints ? 1 : 0
  security_group_id = aws_security_group.lambda[0].id
  description       = "HTTPS to AWS APIs through the existing VPC's own endpoints or NAT"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_database" {
  count                        = local.database_enabled ? 1 : 0
  security_group_id            = aws_security_group.lambda[0].id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database[0].id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_lambda" {
  count                        = local.create_endpoints ? 1 : 0
  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the pipeline functions"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.lambda[0].id
}

# --- endpoints -----------------------------------------------------------------------------------------

resource "aws_vpc_endpoint" "s3" {
  count             = local.create_endpoints && length(local.private_route_table_ids) > 0 ? 1 : 0
  vpc_id            = local.vpc_id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = local.private_route_table_ids
  tags              = { Name = "${local.name}-s3" }
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = local.create_endpoints ? local.interface_endpoint_services : toset([])
  vpc_id              = local.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = local.endpoint_subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true # the SDK's default endpoint names resolve to these, no code change
  tags                = { Name = "${local.name}-${each.key}" }
}
