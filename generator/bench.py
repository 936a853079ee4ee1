"""`nox -s bench`: how long the everyday commands take, against the goals in the hardening issue.

Prints medians of several runs for: generate on the shipped definition; generate on synthetic
definitions of 20 and 200 tables and templates (to see that time grows linearly); `generate --check`
with nothing changed; copying the output tree (the floor generate cannot beat); validating the 12
email templates (Python checks and html-validate, as the S3 repo's CI runs them); and, with ``--static``,
the full static validation of the generated repos.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from generator.checks import validate_templates
from generator.cli import run


def _root() -> Path:
    from generator.project import find_project  # the project this runs in, not where the package lives

    return find_project()


GOALS = {"shipped": 1.5, "200": 10.0, "check": 1.5, "templates": 2.0, "static": 60.0}


def _median(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def synthetic_definition(target: Path, count: int) -> Path:
    """The shipped definition plus ``count`` more tables and ``count`` more templates."""
    definition = target / "definition"
    shutil.copytree(_root() / "definition", definition)
    tenants = (definition / "tables" / "tenants.json").read_text()
    for i in range(count):
        name = f"synthetic{i:03d}"
        (definition / "tables" / f"{name}.json").write_text(
            tenants.replace('"tableName": "tenants"', f'"tableName": "{name}"')
        )
    catalog_path = definition / "templates" / "catalog.yaml"
    catalog = yaml.safe_load(catalog_path.read_text())
    source = next(t for t in catalog["templates"] if t["key"] == "receipts/receipt.html")
    for i in range(count):
        key = f"receipts/synthetic{i:03d}.html"
        for suffix in (".html", ".txt", ".contract.json", ".sample.json"):
            shutil.copy(
                definition / "templates" / source["key"].replace(".html", suffix),
                definition / "templates" / key.replace(".html", suffix),
            )
        catalog["templates"].append({**source, "key": key})
    catalog_path.write_text(yaml.safe_dump(catalog, sort_keys=False, width=200))
    return definition


def _generate(definition: Path, out: Path, check: bool = False) -> Callable[[], None]:
    args = ["generate", "--definition", str(definition), "--output", str(out / "repos"), "--docs", str(out / "docs")]
    if check:
        args.append("--check")

    def action() -> None:
        # The list of changed files is the user's output, not the benchmark's.
        with contextlib.redirect_stdout(io.StringIO()):
            code = run(["-q", *args])
        if code != 0:
            raise SystemExit(f"bbws-gen {' '.join(args)} exited {code}")

    return action


def _validate_templates() -> None:
    # "require": the figure must include html-validate (node), as in the S3 repo's CI.
    report = validate_templates.run_checks(_root() / "definition" / "templates", html_validator="require")
    if report.errors:
        raise SystemExit(f"the shipped templates have {len(report.errors)} error(s): {report.errors[0]}")


def _static_validation() -> None:
    subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/test_terraform_validate.py"], cwd=_root(), check=True)


def main(argv: list[str] | None = None) -> int:
    """Print the figures; exit 1 when a goal is missed (so CI can gate on it if it wants)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--static", action="store_true", help="also time the full static validation (slow)")
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        shipped = base / "shipped"
        definition = _root() / "definition"
        figures["shipped"] = _median(_generate(definition, shipped), args.runs)
        figures["check"] = _median(_generate(definition, shipped, check=True), args.runs)
        figures["copy"] = _median(lambda: shutil.copytree(shipped, base / f"copy{time.monotonic_ns()}"), args.runs)
        for count in (20, 200):
            definition = synthetic_definition(base / f"def{count}", count)
            figures[str(count)] = _median(_generate(definition, base / f"out{count}"), max(1, args.runs // 2))
    try:
        figures["templates"] = _median(_validate_templates, args.runs)
    except validate_templates.UsageError as exc:
        print(f"template validation not timed: {exc} (needs node and `npm ci --prefix tools/email`)")
    if args.static:
        figures["static"] = _median(_static_validation, 1)
    for name, label in [
        ("shipped", "generate, shipped definition"),
        ("check", "generate --check, nothing changed"),
        ("20", "generate, +20 tables and templates"),
        ("200", "generate, +200 tables and templates"),
        ("templates", "validate the 12 email templates (with html-validate)"),
        ("static", "static validation (terraform validate of every root)"),
    ]:
        if name in figures:
            goal = GOALS.get(name)
            verdict = "" if goal is None else (" ok" if figures[name] <= goal else f" MISSED (goal {goal} s)")
            print(f"{label:55s} {figures[name]:7.3f} s{verdict}")
    print(f"{'ratio generate / copying the output tree':55s} {figures['shipped'] / figures['copy']:7.1f} x")
    per_item = (figures["200"] - figures["20"]) / 180
    print(f"{'marginal cost per table+template (20 -> 200)':55s} {per_item * 1000:7.1f} ms")
    missed = [n for n, goal in GOALS.items() if n in figures and figures[n] > goal]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
