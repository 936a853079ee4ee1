# Cross-region replication to the DR region, only where the environment replicates (prod). The DR
# pipeline the customer runs separately uses this copy; this repo's pipeline never deploys to the DR
# region on its own.

resource "aws_kms_key" "dr" {
  count    = var.dr_replication ? 1 : 0
  provider = aws.dr

  description             = "S3 bucket ${local.dr_bucket_name} (DR copy of ${local.bucket_name})"
  deletion_window_in_days = 30
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_s3_bucket" "dr" {
  #checkov:skip=CKV_AWS_144:this is the replica; replicating it again would only copy the copy
  #checkov:skip=CKV_AWS_18:requests to the replica are logged by CloudTrail data events of the DR account setup
  #checkov:skip=CKV2_AWS_62:nothing consumes events of the replica
  count    = var.dr_replication ? 1 : 0
  provider = aws.dr

  bucket = local.dr_bucket_name
}

resource "aws_s3_bucket_ownership_controls" "dr" {
  count    = var.dr_replication ? 1 : 0
  provider = aws.dr

  bucket = aws_s3_bucket.dr[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "dr" {
  count    = var.dr_replication ? 1 : 0
  provider = aws.dr

  bucket                  = aws_s3_bucket.dr[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "dr" {
  count    = var.dr_replication ? 1 : 0
  provider = aws.dr

  bucket = aws_s3_bucket.dr[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "dr" {
  count    = var.dr_replication ? 1 : 0
  provider = aws.dr

  bucket = aws_s3_bucket.dr[0].id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.dr[0].arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "dr" {
  count    = var.dr_replication ? 1 : 0
  provider = aws.dr

  bucket = aws_s3_bucket.dr[0].id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = aws_s3_bucket_lifecycle_configuration.this.rule[0].noncurrent_version_expiration[0].noncurrent_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.dr]
}

data "aws_iam_policy_document" "dr_bucket" {
  count = var.dr_replication ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.dr_bucket_arn, "${local.dr_bucket_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "dr" {
  count    = var.dr_replication ? 1 : 0
  provider = aws.dr

  bucket = aws_s3_bucket.dr[0].id
  policy = data.aws_iam_policy_document.dr_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.dr]
}

data "aws_iam_policy_document" "replication_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    # Confused-deputy guard: S3 may assume the role only to replicate this account's source bucket.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.bucket_arn]
    }
  }
}

resource "aws_iam_role" "replication" {
  count = var.dr_replication ? 1 : 0

  name                 = "${local.bucket_name}-replication"
  assume_role_policy   = data.aws_iam_policy_document.replication_assume.json
  permissions_boundary = local.role_boundary
}

# Exactly what S3 replication needs: read versions here, write replicas there, with both keys.
data "aws_iam_policy_document" "replication" {
  count = var.dr_replication ? 1 : 0

  statement {
    sid       = "ReadSourceConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]
  }

  statement {
    sid       = "ReadSourceVersions"
    actions   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
  }

  statement {
    sid       = "WriteReplicas"
    actions   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
    resources = ["${aws_s3_bucket.dr[0].arn}/*"]
  }

  statement {
    sid       = "DecryptSource"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.bucket.arn]
  }

  statement {
    sid       = "EncryptReplica"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.dr[0].arn]
  }
}

resource "aws_iam_role_policy" "replication" {
  count = var.dr_replication ? 1 : 0

  name   = "replicate-to-dr"
  role   = aws_iam_role.replication[0].id
  policy = data.aws_iam_policy_document.replication[0].json
}

resource "aws_s3_bucket_replication_configuration" "this" {
  count = var.dr_replication ? 1 : 0

  bucket = aws_s3_bucket.this.id
  role   = aws_iam_role.replication[0].arn

  rule {
    id     = "replicate-to-dr"
    status = "Enabled"

    filter {}

    delete_marker_replication {
      status = "Enabled"
    }

    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }

    destination {
      bucket        = aws_s3_bucket.dr[0].arn
      storage_class = "STANDARD"

      encryption_configuration {
        replica_kms_key_id = aws_kms_key.dr[0].arn
      }
    }
  }

  # Replication needs versioning on both sides first.
  depends_on = [aws_s3_bucket_versioning.this, aws_s3_bucket_versioning.dr]
}
