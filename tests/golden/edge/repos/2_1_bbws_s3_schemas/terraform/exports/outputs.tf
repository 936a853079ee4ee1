output "bucket_name" {
  description = "Name of the bucket (Lambdas find it by this name)."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the key that encrypts the bucket."
  value       = aws_kms_key.bucket.arn
}

output "dr_bucket_arn" {
  description = "ARN of the DR replica (null where the environment does not replicate)."
  value       = one(aws_s3_bucket.dr[*].arn)
}
