# prod: account 333333333333, af-south-1, replicated to eu-west-1.
environment           = "prod"
account_id            = "333333333333"
aws_region            = "af-south-1"
dr_region             = "eu-west-1"
dr_replication        = true
deletion_protection   = true
backup_policy         = "bbws-daily-35d"
backup_schedule       = "cron(0 1 * * ? *)"
backup_retention_days = 35

tags = {
  BackupPolicy = "bbws-daily-35d"
  CostCenter   = "Testing"
  Environment  = "prod"
  ManagedBy    = "Terraform"
  Owner        = "Platform"
  Project      = "BBWS Edge Cases"
}
