output "vault_name" {
  description = "Backup vault in the primary region."
  value       = aws_backup_vault.this.name
}

output "plan_id" {
  description = "AWS Backup plan."
  value       = aws_backup_plan.this.id
}

output "dr_vault_arn" {
  description = "Backup vault in the DR region (null where the environment does not replicate)."
  value       = one(aws_backup_vault.dr[*].arn)
}
