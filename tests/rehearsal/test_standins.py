"""The stand-ins cover exactly the actions definition/pins.yaml pins, at the pinned commits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.rehearsal import harness
from tests.rehearsal.standins import ACTIONS, MissingStandIn, local_repositories, pinned_actions


def test_every_pinned_action_has_a_stand_in() -> None:
    values = local_repositories(harness.PINS)
    assert len(values) == len(pinned_actions(harness.PINS))
    for value in values:
        folder = Path(value.split("=", 1)[1])
        assert (folder / "action.yml").is_file() and folder.parent == ACTIONS


def test_a_pin_bump_without_its_stand_in_stops_the_rehearsal(tmp_path: Path) -> None:
    pins = yaml.safe_load(harness.PINS.read_text())
    pins["actions"]["checkout"].update(sha="1" * 40, tag="v9.9.9")
    bumped = tmp_path / "pins.yaml"
    bumped.write_text(yaml.safe_dump(pins))
    with pytest.raises(MissingStandIn, match=r"actions/checkout@1{40} \(v9\.9\.9\).*tests/rehearsal/standins\.py"):
        local_repositories(bumped)
