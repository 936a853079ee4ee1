"""`bbws-gen update` takes the release `copier update` would: the highest PEP 440 tag, no pre-releases."""

from __future__ import annotations

from generator.update import newest_release


def test_newest_release_is_the_highest_version_not_the_last_tag() -> None:
    assert newest_release(["v0.9.0", "v0.10.0", "v0.2.0"]) == "v0.10.0"


def test_pre_releases_and_other_tags_are_not_releases() -> None:
    assert newest_release(["v1.0.0", "v1.1.0rc1", "deployed/dev/x/abc", "latest"]) == "v1.0.0"
    assert newest_release(["deployed/dev/x/abc"]) is None
