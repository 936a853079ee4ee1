# One object per template file (HTML and plain-text alternative). source_hash makes a changed file a
# changed object even though SSE-KMS ETags are not content hashes; the sha256 metadata lets the
# post-deployment check and the Lambdas verify what they read.

locals {
  template_objects = {
    "receipts/receipt.html"            = { version = "1.0.0", content_type = "text/html; charset=utf-8" }
    "receipts/receipt.txt"             = { version = "1.0.0", content_type = "text/plain; charset=utf-8" }
    "notifications/ping_internal.html" = { version = "1.0.0", content_type = "text/html; charset=utf-8" }
    "notifications/ping_internal.txt"  = { version = "1.0.0", content_type = "text/plain; charset=utf-8" }
  }
}

resource "aws_s3_object" "template" {
  for_each = local.template_objects

  bucket       = aws_s3_bucket.this.id
  key          = each.key
  source       = "${path.module}/../../templates/${each.key}"
  source_hash  = filesha256("${path.module}/../../templates/${each.key}")
  content_type = each.value.content_type

  metadata = {
    template-version = each.value.version
    sha256           = filesha256("${path.module}/../../templates/${each.key}")
  }

  # Objects are written only once the bucket enforces encryption and ownership and, where the
  # environment replicates, once the replication rule exists: S3 never replicates objects written
  # before it, so the DR bucket would otherwise stay empty after the first apply.
  depends_on = [
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_ownership_controls.this,
    aws_s3_bucket_replication_configuration.this,
  ]
}
