"""Which stand-in (tests/rehearsal/actions/<name>/) replaces which pinned marketplace action, per commit SHA.

A stand-in is written against one release of an action (its inputs, outputs and behaviour), so it is
registered for that release's exact SHA. When definition/pins.yaml moves an action to another commit the
rehearsal stops (``local_repositories``) until someone reads the new release and registers its SHA here.
"""

from __future__ import annotations

from pathlib import Path

import yaml

HERE = Path(__file__).parent
ACTIONS = HERE / "actions"

# (action, commit SHA) -> stand-in folder. Checked against the release notes of each tag named here.
REGISTERED: dict[tuple[str, str], str] = {
    ("actions/checkout", "08c6903cd8c0fde910a37f88322edcfb5dd907a8"): "checkout",  # v5.0.0
    ("actions/setup-python", "e797f83bcb11b83ae66e0230d6156d7c80228e7c"): "setup-python",  # v6.0.0
    ("hashicorp/setup-terraform", "dfe3c3f87815947d99a8997f908cb6525fc44e9e"): "setup-terraform",  # v4.0.1
    ("aws-actions/configure-aws-credentials", "a03048d87541d1d9fcf2ecf528a4a65ba9bd7838"): (
        "configure-aws-credentials"  # v5.0.0
    ),
    ("actions/upload-artifact", "330a01c490aca151604b8cf639adc76d48f6c5d4"): "upload-artifact",  # v5.0.0
    ("actions/download-artifact", "018cc2cf5baa6db3ef3c5f8a56943fffe632ef53"): "download-artifact",  # v6.0.0
    ("actions/setup-node", "249970729cb0ef3589644e2896645e5dc5ba9c38"): "setup-node",  # v6.5.0
}


class MissingStandIn(AssertionError):
    """A pinned action has no stand-in registered for its SHA."""


def pinned_actions(pins_file: Path) -> list[tuple[str, str, str]]:
    """(action, sha, tag) of every action ``pins.yaml`` pins."""
    pins = yaml.safe_load(pins_file.read_text(encoding="utf-8"))
    return [(a["action"], a["sha"], a["tag"]) for a in pins["actions"].values()]


def local_repositories(pins_file: Path) -> list[str]:
    """act's ``--local-repository OWNER/REPO@SHA=DIR`` values for every pinned action, or MissingStandIn."""
    values, missing = [], []
    for action, sha, tag in pinned_actions(pins_file):
        folder = REGISTERED.get((action, sha))
        if folder is None:
            missing.append(f"{action}@{sha} ({tag})")
            continue
        values.append(f"{action}@{sha}={ACTIONS / folder}")
    if missing:
        raise MissingStandIn(
            f"{pins_file} pins {', '.join(missing)}, which no rehearsal stand-in is registered for: read that "
            "release's inputs and outputs, update tests/rehearsal/actions/<name>/ if they changed, and register "
            "the SHA in tests/rehearsal/standins.py (REGISTERED)"
        )
    return values
