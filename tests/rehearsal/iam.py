"""The rehearsal's IAM proof: every AWS request a workflow job made is allowed to the role the job assumed.

The configure-aws-credentials stand-in exports, beside the assumed role's credentials, the settings that
make the job's later steps record their requests (terraform's debug log, the shipped scripts' boto3 hook;
tests/support/iam_record.py) under that role's tag, into ``<run>/iam/``. At the end of a rehearsed repo's
session those requests, in the order they were made across all runs (a key's tags learnt in one run
decide a later run's KMS authorizations), are turned into authorizations (tests/support/iam_authz.py) and
evaluated against the role's generated policy (bootstrap/policies/<env>.json) by the engine of
tests/support/iam_proof.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.iam_authz import Authorization, authorizations
from tests.support.iam_proof import Role, evaluate, roles_of
from tests.support.iam_record import Request, read_recording

# Allowed actions the rehearsal's requests use and the e2e proof's runs (tests/e2e/test_iam_proof.py) do not,
# by (role tag, action), with the workflow whose run uses them. The e2e check of allowed-but-unused actions
# counts them as used; the rehearsal checks each claim of its repo's roles against its own recording
# whenever it ran that workflow (prove_iam, tests/rehearsal/conftest.py). The two CI steps each check only
# what they recorded, so neither reads the other's files and their order does not matter; a run of a few
# scenarios (-k) checks the claims of the workflows it ran and no others.
REHEARSED: dict[tuple[str, str], str] = {
    ("2_1_bbws_dynamodb_schemas~dev~apply", "s3:GetObjectVersion"): "rollback.yml",
    ("2_1_bbws_dynamodb_schemas~dev~apply", "s3:ListBucketVersions"): "rollback.yml",
}


def recorded_requests(runs: Path) -> list[Request]:
    """Every request the jobs of the runs under ``runs`` recorded, in the order they were made; each
    request's source names its run and job (``3-deploy/<role tag>~<job>-<pid>.tflog``)."""
    found: list[Request] = []
    for folder in sorted(runs.glob("*/iam")):
        for request in read_recording(folder):
            request.source = f"{folder.parent.name}/{request.source}"
            found.append(request)
    return sorted(found, key=lambda r: r.time)


def unrecorded_jobs(runs: Path, requests: list[Request]) -> list[str]:
    """The jobs that assumed a role (``<run>/assumed-roles.jsonl``) but recorded no request: each job checks
    the account it reached right after assuming its role, so a job without requests means a step that
    escaped the recording (a hook lost, settings not exported)."""
    recorded = {(r.source.split("/")[0], r.source.rsplit("~", 1)[-1].rsplit("-", 1)[0]) for r in requests}
    assumed = {
        (path.parent.name, json.loads(line)["job"])
        for path in sorted(runs.glob("*/assumed-roles.jsonl"))
        for line in path.read_text().splitlines()
    }
    return [f"run {run}, job {job}" for run, job in sorted(assumed - recorded)]


@dataclass(frozen=True)
class Proof:
    """The engine's answer on one rehearsed repo's recorded requests."""

    requests: int
    authorizations: list[Authorization]
    verdicts: list[str]
    unrecorded: list[str]

    @property
    def denied(self) -> list[str]:
        """One line per denied authorization kind: role, the action it lacks, resource, the request, and the
        runs and jobs that made it (``why`` is ``service:Operation (<run>/<tag>~<job>-<pid>.<ext>)``)."""
        counts: dict[str, int] = {}
        where: dict[str, set[str]] = {}
        for authz, verdict in zip(self.authorizations, self.verdicts, strict=True):
            if verdict != "Allowed":
                behalf = f"; on behalf: {authz.on_behalf}" if authz.on_behalf else ""
                request, _, source = authz.why.rstrip(")").rpartition(" (")
                line = f"{authz.role}: {authz.action} on {authz.resource} ({request}{behalf}) -> {verdict}"
                counts[line] = counts.get(line, 0) + 1
                run, _, file = source.partition("/")
                where.setdefault(line, set()).add(f"run {run}, job {file.rsplit('~', 1)[-1].rsplit('-', 1)[0]}")
        return [f"{n} x {line} [{'; '.join(sorted(where[line]))}]" for line, n in sorted(counts.items())]

    def used(self) -> dict[str, set[str]]:
        """The allowed actions, by role tag."""
        found: dict[str, set[str]] = {}
        for authz, verdict in zip(self.authorizations, self.verdicts, strict=True):
            if verdict == "Allowed":
                found.setdefault(authz.role, set()).add(authz.action)
        return found

    def unused_claims(self, runs: Path, roles: Mapping[str, Role]) -> list[str]:
        """The claims of ``REHEARSED`` for ``roles`` whose workflow ran under ``runs`` (``<n>-<workflow>``)
        but whose action no allowed request of that role used."""
        ran = {f"{run.name.split('-', 1)[1]}.yml" for run in runs.iterdir() if run.is_dir()}
        used = self.used()
        return [
            f"{role}: {action} (tests/rehearsal/iam.py says {workflow} uses it)"
            for (role, action), workflow in sorted(REHEARSED.items())
            if role in roles and workflow in ran and action not in used.get(role, set())
        ]

    def summary(self) -> str:
        """The counts, for the failure message and the report."""
        count = sum(v != "Allowed" for v in self.verdicts)
        return f"{self.requests} requests, {len(self.authorizations)} authorizations evaluated, {count} denied"


def prove(runs: Path, roles: Mapping[str, Role]) -> Proof:
    """Evaluate the requests recorded under ``runs`` against ``roles`` (the rehearsed repo's, by tag)."""
    accounts: Mapping[str, str] = {tag.split("~")[1]: role.account for tag, role in roles.items()}
    requests = recorded_requests(runs)
    unknown = sorted({r.role for r in requests} - set(roles))
    if unknown:
        raise ValueError(f"requests recorded under roles the rehearsed bootstrap does not define: {unknown}")
    found = authorizations(requests, accounts)
    return Proof(len(requests), found, evaluate(roles, found) if found else [], unrecorded_jobs(runs, requests))


if __name__ == "__main__":
    import sys

    # python -m tests.rehearsal.iam <workdir>/runs REPO_DIR GITHUB_NAME
    proof = prove(Path(sys.argv[1]), roles_of(Path(sys.argv[2]), sys.argv[3]))
    print(proof.summary())
    print("\n".join(proof.denied))
    for role, actions in sorted(proof.used().items()):
        print(role, sorted(actions))
