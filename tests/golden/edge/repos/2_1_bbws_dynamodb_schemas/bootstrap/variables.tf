# Shared by every root of both repos; values come from environments/<env>.tfvars.

variable "environment" {
  type        = string
  description = "Environment name (dev, sit, prod)."

  validation {
    condition     = contains(["dev", "sit", "prod"], var.environment)
    error_message = "The environment must be one of dev, sit, prod."
  }
}

variable "account_id" {
  type        = string
  description = "AWS account of the environment; the provider refuses any other account."
}

variable "aws_region" {
  type        = string
  description = "Primary region."
}

variable "dr_region" {
  type        = string
  description = "Disaster-recovery region."
}

variable "dr_replication" {
  type        = bool
  description = "Replicate to the DR region (tables, bucket, backups)."
}

variable "deletion_protection" {
  type        = bool
  description = "Protect tables and buckets against deletion."
}

variable "backup_policy" {
  type        = string
  description = "Value of the BackupPolicy tag that the AWS Backup selection matches."
}

variable "backup_schedule" {
  type        = string
  description = "AWS Backup schedule (cron expression, UTC)."
}

variable "backup_retention_days" {
  type        = number
  description = "Days AWS Backup keeps each recovery point."
}

variable "tags" {
  type        = map(string)
  description = "Tags on every resource (the provider adds Component)."
}

# Bootstrap only: account-level pieces that may exist already, so they default off.

variable "create_github_oidc_provider" {
  type        = bool
  description = "Create the account's GitHub OIDC provider (one per account; leave false where it exists)."
  default     = false
}

variable "create_state_bucket" {
  type        = bool
  description = "Create the environment's state bucket (shared by both repos; create it from one of them)."
  default     = false
}

variable "state_version_retention_days" {
  type        = number
  description = "Days earlier versions of a state file are kept (how far back state rollback can go)."
  default     = 90

  validation {
    condition     = var.state_version_retention_days >= 30
    error_message = "Keep earlier state versions for at least 30 days, or state rollback has nothing to restore."
  }
}
