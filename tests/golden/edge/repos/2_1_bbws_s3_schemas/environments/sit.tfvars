# sit: account 222222222222, af-south-1, replicated to eu-west-1.
environment           = "sit"
account_id            = "222222222222"
aws_region            = "af-south-1"
dr_region             = "eu-west-1"
dr_replication        = true
deletion_protection   = true
backup_policy         = "bbws-daily-14d"
backup_schedule       = "cron(0 1 * * ? *)"
backup_retention_days = 14

tags = {
  BackupPolicy = "bbws-daily-14d"
  CostCenter   = "Testing"
  Environment  = "sit"
  ManagedBy    = "Terraform"
  Owner        = "Platform"
  Project      = "BBWS Edge Cases"
}
