# AWS Backup's region settings: one object per account and region, shared by every service AWS Backup
# protects, so this administrator's root owns them and no pipeline role may change them. Copying DynamoDB
# recovery points to another region (terraform/backup) needs AWS Backup's advanced DynamoDB features (full
# AWS Backup management of DynamoDB backups): this root turns DynamoDB on when it creates the settings and
# leaves the other services' settings to whoever owns them (ignore_changes), so plans stay clean;
# scripts/post_deploy_check.py verifies that DynamoDB stays on. Every environment enables it, so dev and
# sit take the same backup path as prod.
resource "aws_backup_region_settings" "this" {
  resource_type_opt_in_preference = {
    DynamoDB = true
  }

  resource_type_management_preference = {
    DynamoDB = true
  }

  lifecycle {
    ignore_changes = [resource_type_opt_in_preference, resource_type_management_preference]
  }
}

# Accounts deployed before the settings moved here: terraform/backup created them and now forgets them
# (its removed block). Adopt them from AWS instead of writing them again, once, with
# -var adopt_backup_region_settings=true (docs/runbooks/first-deployment.md, "Upgrading"); once in this
# state the import is a no-op, so leaving the variable on changes nothing.
import {
  for_each = var.adopt_backup_region_settings ? toset([var.aws_region]) : toset([])

  to = aws_backup_region_settings.this
  id = each.value
}

variable "adopt_backup_region_settings" {
  type        = bool
  description = "Adopt the AWS Backup region settings an earlier terraform/backup created (once, when upgrading)."
  default     = false
}
