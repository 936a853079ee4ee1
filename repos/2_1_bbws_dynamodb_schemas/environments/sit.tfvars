# sit: account 815856636111, af-south-1.
environment           = "sit"
account_id            = "815856636111"
aws_region            = "af-south-1"
dr_region             = "eu-west-1"
dr_replication        = false
deletion_protection   = false
backup_policy         = "bbws-daily-14d"
backup_schedule       = "cron(0 1 * * ? *)"
backup_retention_days = 14

tags = {
  BackupPolicy = "bbws-daily-14d"
  CostCenter   = "AWS"
  Environment  = "sit"
  ManagedBy    = "Terraform"
  Owner        = "Tebogo"
  Project      = "BBWS WP Containers"
}
