# dev: account 111111111111, af-south-1.
environment           = "dev"
account_id            = "111111111111"
aws_region            = "af-south-1"
dr_region             = "eu-west-1"
dr_replication        = false
deletion_protection   = false
backup_policy         = "bbws-hourly-3d"
backup_schedule       = "cron(0 * * * ? *)"
backup_retention_days = 3

tags = {
  BackupPolicy = "bbws-hourly-3d"
  CostCenter   = "Testing"
  Environment  = "dev"
  ManagedBy    = "Terraform"
  Owner        = "Platform"
  Project      = "BBWS Edge Cases"
}
