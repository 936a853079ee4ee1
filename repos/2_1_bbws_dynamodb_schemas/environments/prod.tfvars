# prod: account 093646564004, af-south-1, replicated to eu-west-1.
environment           = "prod"
account_id            = "093646564004"
aws_region            = "af-south-1"
dr_region             = "eu-west-1"
dr_replication        = true
deletion_protection   = true
backup_policy         = "bbws-hourly-90d"
backup_schedule       = "cron(0 * * * ? *)"
backup_retention_days = 90

tags = {
  BackupPolicy = "bbws-hourly-90d"
  CostCenter   = "AWS"
  Environment  = "prod"
  ManagedBy    = "Terraform"
  Owner        = "Tebogo"
  Project      = "BBWS WP Containers"
}
