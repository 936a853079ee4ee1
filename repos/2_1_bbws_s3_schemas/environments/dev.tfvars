# dev: account 536580886816, af-south-1.
environment           = "dev"
account_id            = "536580886816"
aws_region            = "af-south-1"
dr_region             = "eu-west-1"
dr_replication        = false
deletion_protection   = false
backup_policy         = "bbws-daily-7d"
backup_schedule       = "cron(0 1 * * ? *)"
backup_retention_days = 7

tags = {
  BackupPolicy = "bbws-daily-7d"
  CostCenter   = "AWS"
  Environment  = "dev"
  ManagedBy    = "Terraform"
  Owner        = "Tebogo"
  Project      = "BBWS WP Containers"
}
