"""The AWS Backup calls moto 5.2.5 lacks, added to the tests' emulator (opt-in: ``BBWS_EMULATOR_BACKUP=1``).

emulator_gaps.BACKUP_SELECTION and BACKUP_REGION_SETTINGS_AND_VAULT_POLICY: moto has no backup
selections (CreateBackupSelection answers 500) and no vault access policies (404). The backup root creates
both and post_deploy_check.py reads the selection, so on plain moto the backup component's post-deploy
fails and the pipeline never records it as deployed. (The region settings, which the bootstrap owns, are
answered by tests/support/emulator.py for every test.) This module answers those seven operations as AWS
documents them, keeping what was sent per account and
region; nothing is evaluated (a vault policy is stored, not enforced: emulator_gaps.IAM_NOT_ENFORCED).

Opt-in because the e2e tests assert around the gaps on plain moto (count = 0 overrides,
test_operations.MOTO_GAP_CHECKS); the rehearsal turns it on to run the pipelines as committed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from moto.backup.exceptions import ResourceNotFoundException
from moto.core.utils import unix_time

# (account, region) -> what the calls below stored; the server is one process, requests one per thread
# (each call reads or writes one key of one dict: atomic under the GIL).
_SELECTIONS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
_VAULT_POLICIES: dict[tuple[str, str], dict[str, str]] = {}

# The paths moto's backup app does not route (the selections' paths already reach its dispatcher).
EXTRA_PATHS = ("{0}/backup-vaults/(?P<name>[^/]+)/access-policy$",)


def _key(response: Any) -> tuple[str, str]:
    return (response.current_account, response.region)


def _plan(response: Any) -> Any:
    """The backup plan named in the path (ResourceNotFoundException as AWS answers when it is unknown)."""
    plan_id = response.path.split("/plans/")[1].split("/")[0]
    return response.backup_backend.get_backup_plan(backup_plan_id=plan_id, version_id=None)


def create_backup_selection(self: Any) -> str:
    """PUT /backup/plans/{id}/selections/: the selection as sent, under a new SelectionId."""
    plan = _plan(self)
    params = json.loads(self.body)
    selection_id = str(uuid.uuid4())
    _SELECTIONS.setdefault(_key(self), {})[selection_id] = {
        "BackupPlanId": plan.backup_plan_id,
        "SelectionId": selection_id,
        "BackupSelection": params["BackupSelection"],
        "CreatorRequestId": params.get("CreatorRequestId"),
        "CreationDate": unix_time(),
    }
    return json.dumps({"SelectionId": selection_id, "BackupPlanId": plan.backup_plan_id, "CreationDate": unix_time()})


def _selection(self: Any) -> dict[str, Any]:
    plan = _plan(self)
    selection_id = self.path.rstrip("/").split("/")[-1]
    found = _SELECTIONS.get(_key(self), {}).get(selection_id)
    if found is None or found["BackupPlanId"] != plan.backup_plan_id:
        raise ResourceNotFoundException(msg=f"Selection {selection_id} not found in plan {plan.backup_plan_id}")
    return found


def get_backup_selection(self: Any) -> str:
    """GET /backup/plans/{id}/selections/{selectionId}."""
    return json.dumps({k: v for k, v in _selection(self).items() if v is not None})


def delete_backup_selection(self: Any) -> str:
    """DELETE /backup/plans/{id}/selections/{selectionId}."""
    del _SELECTIONS[_key(self)][_selection(self)["SelectionId"]]
    return "{}"


def list_backup_selections(self: Any) -> str:
    """GET /backup/plans/{id}/selections/ (one page)."""
    plan = _plan(self)
    listed = [
        {
            "SelectionId": s["SelectionId"],
            "SelectionName": s["BackupSelection"]["SelectionName"],
            "BackupPlanId": s["BackupPlanId"],
            "CreationDate": s["CreationDate"],
            "IamRoleArn": s["BackupSelection"]["IamRoleArn"],
        }
        for s in _SELECTIONS.get(_key(self), {}).values()
        if s["BackupPlanId"] == plan.backup_plan_id
    ]
    return json.dumps({"BackupSelectionsList": listed})


def _vault(self: Any) -> Any:
    name = self.path.rstrip("/").split("/")[-2]
    return self.backup_backend.describe_backup_vault(name)


def put_backup_vault_access_policy(self: Any) -> str:
    """PUT /backup-vaults/{name}/access-policy: stored as sent, never evaluated."""
    vault = _vault(self)
    _VAULT_POLICIES.setdefault(_key(self), {})[vault.backup_vault_name] = json.loads(self.body)["Policy"]
    return "{}"


def get_backup_vault_access_policy(self: Any) -> str:
    """GET /backup-vaults/{name}/access-policy (ResourceNotFoundException when none is set, as AWS)."""
    vault = _vault(self)
    policy = _VAULT_POLICIES.get(_key(self), {}).get(vault.backup_vault_name)
    if policy is None:
        raise ResourceNotFoundException(msg=f"Backup vault {vault.backup_vault_name} has no access policy")
    return json.dumps(
        {"BackupVaultName": vault.backup_vault_name, "BackupVaultArn": vault.backup_vault_arn, "Policy": policy}
    )


def delete_backup_vault_access_policy(self: Any) -> str:
    """DELETE /backup-vaults/{name}/access-policy."""
    vault = _vault(self)
    _VAULT_POLICIES.get(_key(self), {}).pop(vault.backup_vault_name, None)
    return "{}"


OPERATIONS = (
    create_backup_selection,
    get_backup_selection,
    delete_backup_selection,
    list_backup_selections,
    put_backup_vault_access_policy,
    get_backup_vault_access_policy,
    delete_backup_vault_access_policy,
)


def install() -> None:
    """Give moto's backup responder the operations above and route their paths (before the app exists)."""
    from moto.backup import urls
    from moto.backup.responses import BackupResponse

    for operation in OPERATIONS:
        setattr(BackupResponse, operation.__name__, operation)
    for path in EXTRA_PATHS:
        urls.url_paths[path] = BackupResponse.dispatch
