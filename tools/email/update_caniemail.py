"""Compile caniemail.com's support data into generator/shipped/email_client_support.json.

Usage: ``python tools/email/update_caniemail.py CANIEMAIL_CHECKOUT [--output FILE]``

CANIEMAIL_CHECKOUT is a git checkout of https://github.com/hteumeuleu/caniemail (MIT licence). Each
``_features/<slug>.md`` there starts with YAML front matter: title, category, ``stats`` (client ->
platform -> version -> "y" | "n" | "a" | "u", optionally followed by "#<note>") and ``notes_by_num``.
This keeps only what the template validator needs: the css-* and html-* features, for the clients in
CLIENTS, each with its most recent test result and the notes that result cites. The output records the
source commit and date and carries the licence text, so the vendored file says where it came from.

Refresh: ``git -C caniemail pull && python tools/email/update_caniemail.py caniemail``, then run the
template tests (a client that drops support for something the templates use turns into a finding).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = ROOT / "generator" / "shipped" / "email_client_support.json"
# The clients the policy in validate_templates.py speaks about (client, platform), in display order.
CLIENTS = [
    ("gmail", "desktop-webmail"),
    ("gmail", "ios"),
    ("gmail", "android"),
    ("outlook", "windows"),
    ("outlook", "outlook-com"),
    ("outlook", "macos"),
    ("outlook", "ios"),
    ("outlook", "android"),
    ("apple-mail", "macos"),
    ("apple-mail", "ios"),
    ("yahoo", "desktop-webmail"),
    ("samsung-email", "android"),
]
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---", re.DOTALL)
RESULT = re.compile(r"^\s*([ynau])\b\s*((?:#\d+\s*)*)$")


def front_matter(path: Path) -> dict[str, Any] | None:
    """The YAML front matter of a feature page (tabs become spaces: the pages mix them), or None."""
    match = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if match is None:
        return None
    data = yaml.safe_load(match.group(1).replace("\t", "    "))
    return data if isinstance(data, dict) else None


def latest(results: dict[Any, Any] | None) -> tuple[str, str, list[str]] | None:
    """(version, support letter, note numbers) of the last (most recent) test of one client platform."""
    if not results:
        return None
    version, raw = list(results.items())[-1]
    match = RESULT.match(str(raw))
    if match is None:
        raise ValueError(f"unexpected support value {raw!r}")
    return str(version), match.group(1), re.findall(r"#(\d+)", match.group(2))


def compile_features(checkout: Path) -> dict[str, Any]:
    """Every css-* and html-* feature with the latest result per client in CLIENTS."""
    features: dict[str, Any] = {}
    for path in sorted((checkout / "_features").glob("*.md")):
        slug = path.stem
        if not slug.startswith(("css-", "html-")):
            continue
        data = front_matter(path)
        if data is None or not isinstance(data.get("stats"), dict):
            continue
        notes = {str(k): " ".join(str(v).split()) for k, v in (data.get("notes_by_num") or {}).items()}
        support: dict[str, Any] = {}
        cited: set[str] = set()
        for client, platform in CLIENTS:
            found = latest((data["stats"].get(client) or {}).get(platform))
            if found is None:
                continue
            version, letter, numbers = found
            support[f"{client}/{platform}"] = [letter, version, *numbers]
            cited.update(numbers)
        features[slug] = {
            "title": str(data.get("title", slug)),
            "url": f"https://www.caniemail.com/features/{slug}/",
            "support": support,
            "notes": {n: notes[n] for n in sorted(cited, key=int) if n in notes},
        }
    return features


def dump(data: dict[str, Any]) -> str:
    """JSON with one feature per line: small, and a refresh diffs feature by feature."""
    head = {k: v for k, v in data.items() if k != "features"}
    lines = [json.dumps(head, sort_keys=True, ensure_ascii=False)[:-1] + ', "features": {']
    items = sorted(data["features"].items())
    for i, (slug, feature) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(slug)}: {json.dumps(feature, sort_keys=True, ensure_ascii=False)}{comma}")
    return "\n".join(lines) + "\n}}\n"


def git(checkout: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="git checkout of hteumeuleu/caniemail")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if not (args.checkout / "_features").is_dir():
        print(f"{args.checkout}: no _features/ folder; pass a checkout of hteumeuleu/caniemail", file=sys.stderr)
        return 2
    data = {
        "source": "https://github.com/hteumeuleu/caniemail",
        "commit": git(args.checkout, "rev-parse", "HEAD"),
        "commit_date": git(args.checkout, "log", "-1", "--format=%cs"),
        "licence": (args.checkout / "LICENSE").read_text(encoding="utf-8").strip(),
        "clients": [f"{c}/{p}" for c, p in CLIENTS],
        "features": compile_features(args.checkout),
    }
    args.output.write_text(dump(data), encoding="utf-8")
    print(f"{args.output}: {len(data['features'])} features from {data['commit'][:12]} ({data['commit_date']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
