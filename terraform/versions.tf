terraform {
  # 1.11: write-only arguments (password_wo, secret_string_wo) keep the database password out of the state.
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    # The only provider: zips are built by functions/build_package.py (no archive provider) and the database
    # password comes from Secrets Manager (no random provider), so `terraform init` works from a local mirror.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }
}
