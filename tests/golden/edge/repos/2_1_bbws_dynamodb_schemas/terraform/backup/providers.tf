# allowed_account_ids stops a plan for one environment from ever running against another's account.
provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = merge(var.tags, { Component = "backup" })
  }
}

# The DR region; used only where the environment replicates (var.dr_replication).
provider "aws" {
  alias               = "dr"
  region              = var.dr_region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = merge(var.tags, { Component = "backup" })
  }
}
