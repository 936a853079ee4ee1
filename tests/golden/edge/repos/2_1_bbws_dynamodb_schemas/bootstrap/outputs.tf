output "plan_role_arn" {
  description = "Role of plan, validate, drift and post-deployment jobs (read-only)."
  value       = aws_iam_role.github["plan"].arn
}

output "apply_role_arn" {
  description = "Role of the apply and rollback jobs inside the approving GitHub environments."
  value       = aws_iam_role.github["apply"].arn
}

output "oidc_provider_arn" {
  description = "GitHub OIDC provider the roles trust."
  value       = local.oidc_provider_arn
}
