output "table_name" {
  description = "Name of the table (Lambdas find it by this name)."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the table."
  value       = aws_dynamodb_table.this.arn
}

output "stream_arn" {
  description = "ARN of the table's stream (empty when streams are off)."
  value       = aws_dynamodb_table.this.stream_arn
}

output "kms_key_arn" {
  description = "ARN of the key that encrypts the table."
  value       = aws_kms_key.table.arn
}
