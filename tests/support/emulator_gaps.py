"""Every gap of the tests' emulator, in one place: what moto does not do as AWS does, and how tests cope.

Each entry names the moto version it was seen with, what happens, the request real AWS would get (and
what it answers), and where the tests work around it. Tests that work around a gap name its entry here
and assert around it (the real root's plan, recorded AWS responses); tests/e2e/test_emulator_gaps.py
checks each gap is still there with the pinned moto, so a moto upgrade that closes one fails loudly and
its workaround can go.
"""

from __future__ import annotations

from dataclasses import dataclass

# The version pinned in pyproject.toml ([project.optional-dependencies] test) and seen with each gap.
MOTO_VERSION = "5.2.5"


@dataclass(frozen=True)
class Gap:
    """One thing moto does not do as AWS does."""

    what: str
    aws: str  # the request real AWS gets, and what it answers
    workaround: str
    moto: str = MOTO_VERSION


REPLICA_NEVER_ACTIVE = Gap(
    what="a DynamoDB global-table replica (aws_dynamodb_table replica {}) never turns ACTIVE",
    aws="UpdateTable with ReplicaUpdates Create in the DR region; DescribeTable shows the replica ACTIVE",
    workaround="tests.support.deploy.NO_REPLICA (replica_regions = []); "
    "test_dynamodb_apply.py::test_prod_replicates_tables_to_the_dr_region checks the real root's plan",
)
BACKUP_TAGS = Gap(
    what="ListTags of an AWS Backup vault or plan answers no tags when its path has no trailing slash, as the "
    "AWS provider sends it (GET /tags/{arn}); boto3 sends /tags/{arn}/ and gets them. terraform sees the "
    "mandatory tags missing (tags_all) on every plan",
    aws="ListTags (GET /tags/{arn}) returns the BackupVaultTags / BackupPlanTags given at creation",
    workaround="tests.support.deploy.BACKUP_TAGS_IGNORED (ignore_changes = [tags, tags_all] on those resources); "
    "test_dynamodb_apply.py::test_backup_tags_the_emulator_does_not_read_back plans without it",
)
BACKUP_SELECTION = Gap(
    what="CreateBackupSelection is not implemented; ListBackupSelections answers HTTP 500",
    aws="CreateBackupSelection with the tables' ARNs and the BackupPolicy tag condition",
    workaround="tests.support.deploy.NO_SELECTION (count = 0); the selection is checked in the real root's plan "
    "(test_dynamodb_apply.py, test_edge_apply.py); post_deploy_check's 'backup selection' row is expected to "
    "fail on moto (test_operations.py MOTO_GAP_CHECKS) and runs on recorded responses in "
    "tests/unit/test_post_deploy_recorded.py. Fixed by extension where a test opts in (moto_server(backup=True): "
    "tests/support/emulator_backup.py, probed by tests/e2e/test_emulator_backup.py): the promotion rehearsal "
    "(tests/rehearsal/test_promotion.py) applies the selection as generated and its post-deploy passes",
)
BACKUP_REGION_SETTINGS_AND_VAULT_POLICY = Gap(
    what="UpdateRegionSettings, DescribeRegionSettings (HTTP 404) and PutBackupVaultAccessPolicy are not implemented",
    aws="UpdateRegionSettings (advanced DynamoDB backup) and PutBackupVaultAccessPolicy (the Deny on deleting "
    "recovery points)",
    workaround="region settings: tests/support/emulator.py answers both calls from memory (RegionSettingsResponse), "
    "so the DynamoDB bootstrap applies and adopts them for real (test_bootstrap_apply.py, "
    "test_region_settings_move.py); vault policy: tests.support.deploy.NO_VAULT_POLICY (count = 0), checked in "
    "the real root's plan; post_deploy_check's 'advanced DynamoDB backup' row fails where no bootstrap ran "
    "(test_operations.py MOTO_GAP_CHECKS); the vault policy is stored (not evaluated) where a test opts in to "
    "tests/support/emulator_backup.py",
)
DELETE_MARKER_REPLICATION_DIFF = Gap(
    what="GetBucketReplication answers DeleteMarkerReplication Disabled and no SourceSelectionCriteria, "
    "whatever PutBucketReplication sent: the replication rule diffs on every plan",
    aws="PutBucketReplication with DeleteMarkerReplication Enabled and SourceSelectionCriteria "
    "SseKmsEncryptedObjects Enabled; GetBucketReplication returns the rule as sent",
    workaround="test_s3_apply.REPLICATION_RULE_IGNORED (ignore_changes = [rule]); "
    "test_s3_apply.py::test_replication_rule_the_emulator_reads_back_otherwise plans without it",
)
NO_REPLICATION = Gap(
    what="S3 keeps a replication rule but never copies objects to the destination bucket",
    aws="none from the client: S3 replicates each new object version to the DR bucket within minutes",
    workaround="post_deploy_check's DR-copy rows run on recorded responses in tests/unit/test_post_deploy_recorded.py; "
    "test_s3_apply.py::test_post_deploy_check_finds_every_template_in_the_dr_bucket skips while it holds",
)
CONDITIONS = Gap(
    what="bucket-policy conditions: moto evaluates only StringEquals, against values it never has for S3, and "
    "counts any other operator as met; a statement whose condition fails is DENIED whatever its effect. "
    "tests/support/emulator.py evaluates Bool on aws:SecureTransport from the request (true over TLS) and "
    "treats a statement whose condition fails as not applying; every other condition still counts as met",
    aws="every S3 request is evaluated against the bucket policy with its request context (aws:SecureTransport, "
    "aws:SourceArn, aws:SourceAccount, aws:PrincipalArn...)",
    workaround="none needed for the generated policies: their Denies are conditioned on aws:SecureTransport only; "
    "tests/e2e/test_emulator.py::test_other_conditions_count_as_met pins the rest",
)
IAM_NOT_ENFORCED = Gap(
    what="IAM is not enforced: every request is allowed whatever the caller's policies and trust conditions",
    aws="each request is authorized against the identity's policies, boundaries and SCPs",
    workaround="the roles' policies are evaluated by a real policy engine on recorded requests (see DESIGN.md)",
)
LOST_ANSWER = Gap(
    what="moto's server (werkzeug's, one connection per request) can lose an answer when it closes the "
    "connection on a loaded machine; the SDK then retries a call moto already carried out (seen once: "
    "CreateTable retried, answered ResourceInUseException, the promotion rehearsal's prod apply failed)",
    aws="AWS answers every call; a client retries only a call whose answer it did not get, or got as a 5xx "
    "or a throttle",
    workaround="tests/support/emulator_replay.py answers a later attempt of the same SDK call "
    "(amz-sdk-invocation-id) as its first attempt was answered; "
    "tests/e2e/test_emulator.py::test_a_retried_call_whose_answer_was_lost_gets_that_answer",
)

GAPS = {name: gap for name, gap in globals().items() if isinstance(gap, Gap)}
