# allowed_account_ids stops a bootstrap for one environment from ever running against another's account.
provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = merge(var.tags, { Component = "bootstrap" })
  }
}
