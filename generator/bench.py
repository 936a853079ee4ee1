"""`nox -s bench`: how long the everyday commands take, against the goals of issue 14.

Every generate runs as its own process (``python -m generator``), so imports count, as they do for a
user. "Cold" runs start with an empty cache folder (no compiled templates, no rendered output) and an
empty output; "warm" runs find the output cache filled by an earlier run and the output up to date. Prints
medians of several runs for: generate on the shipped definition, cold and warm; ``generate --check`` with
nothing changed; generate (cold) on the shipped definition plus 20, 110 and 200 tables and templates, with
the cost of each added table+template and whether it grows linearly; the peak memory (max RSS) of any
generate process; copying the output tree (the floor generate cannot beat); validating the 12 email
templates (Python checks and html-validate, as the S3 repo's CI runs them); and, with ``--static``, the
full static validation of the generated repos.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from generator.render.cache_paths import CACHE_ENV
from generator.shipped import validate_templates


def _root() -> Path:
    from generator.project import find_project  # the project this runs in, not where the package lives

    return find_project()


# Seconds, except "memory" (MB). "linear": the cost per added table+template from 110 to 200 may be at
# most this many times the cost from 20 to 110.
GOALS = {
    "cold": 0.6,
    "warm": 0.6,
    "check": 0.3,
    "200": 6.0,
    "linear": 1.25,
    "memory": 300.0,
    "templates": 2.0,
    "static": 60.0,
}


def _median(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def synthetic_definition(target: Path, tables: int, templates: int | None = None) -> Path:
    """The shipped definition plus ``tables`` more tables and ``templates`` (default: as many) more templates."""
    templates = tables if templates is None else templates
    definition = target / "definition"
    shutil.copytree(_root() / "definition", definition)
    tenants = (definition / "tables" / "tenants.json").read_text()
    for i in range(tables):
        name = f"synthetic{i:03d}"
        (definition / "tables" / f"{name}.json").write_text(
            tenants.replace('"tableName": "tenants"', f'"tableName": "{name}"')
        )
    catalog_path = definition / "templates" / "catalog.yaml"
    catalog = yaml.safe_load(catalog_path.read_text())
    source = next(t for t in catalog["templates"] if t["key"] == "receipts/receipt.html")
    for i in range(templates):
        key = f"receipts/synthetic{i:03d}.html"
        for suffix in (".html", ".txt", ".contract.json", ".sample.json"):
            shutil.copy(
                definition / "templates" / source["key"].replace(".html", suffix),
                definition / "templates" / key.replace(".html", suffix),
            )
        catalog["templates"].append({**source, "key": key})
    catalog_path.write_text(yaml.safe_dump(catalog, sort_keys=False, width=200))
    return definition


def largest_definition(target: Path) -> Path:
    """The shipped definition grown to the definition's limits (MAX_TABLES tables, MAX_TEMPLATES templates)."""
    from generator.definition.names import MAX_TABLES, MAX_TEMPLATES

    shipped = _root() / "definition"
    tables = MAX_TABLES - len(list((shipped / "tables").glob("*.json")))
    templates = MAX_TEMPLATES - len(yaml.safe_load((shipped / "templates" / "catalog.yaml").read_text())["templates"])
    return synthetic_definition(target, tables, templates)


def _generate(definition: Path, out: Path, cache: Path, check: bool = False) -> None:
    """One ``bbws-gen generate`` process (its output is the user's, not the benchmark's)."""
    args = ["generate", "--definition", str(definition), "--output", str(out / "repos"), "--docs", str(out / "docs")]
    if check:
        args.append("--check")
    result = subprocess.run(
        [sys.executable, "-m", "generator", "-q", *args],
        cwd=_root(),
        env={**os.environ, CACHE_ENV: str(cache)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"bbws-gen {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")


def _cold(definition: Path, base: Path) -> Callable[[], None]:
    """A generate with an empty cache folder into an empty output, fresh each time."""

    def action() -> None:
        run = base / f"cold{time.monotonic_ns()}"
        _generate(definition, run / "out", run / "cache")

    return action


def _validate_templates() -> None:
    # "require": the figure must include html-validate (node), as in the S3 repo's CI.
    report = validate_templates.run_checks(_root() / "definition" / "templates", html_validator="require")
    if report.errors:
        raise SystemExit(f"the shipped templates have {len(report.errors)} error(s): {report.errors[0]}")


def _static_validation() -> None:
    subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/test_terraform_validate.py"], cwd=_root(), check=True)


def _peak_memory_mb() -> float:
    """The largest resident set of any child process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _verdict(name: str, value: float) -> str:
    goal = GOALS.get(name)
    return "" if goal is None else (f" ok (goal {goal:g})" if value <= goal else f" MISSED (goal {goal:g})")


def main(argv: list[str] | None = None) -> int:
    """Print the figures; exit 1 when a goal is missed (so CI can gate on it if it wants)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--static", action="store_true", help="also time the full static validation (slow)")
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        definition = _root() / "definition"
        figures["cold"] = _median(_cold(definition, base), args.runs)
        shipped, cache = base / "shipped", base / "cache"
        _generate(definition, shipped, cache)  # fills the cache and the output
        figures["warm"] = _median(lambda: _generate(definition, shipped, cache), args.runs)
        figures["check"] = _median(lambda: _generate(definition, shipped, cache, check=True), args.runs)
        figures["copy"] = _median(lambda: shutil.copytree(shipped, base / f"copy{time.monotonic_ns()}"), args.runs)
        for count in (20, 110, 200):
            grown = synthetic_definition(base / f"def{count}", count)
            figures[str(count)] = _median(_cold(grown, base), max(1, args.runs // 2))
        figures["memory"] = _peak_memory_mb()
    try:
        figures["templates"] = _median(_validate_templates, args.runs)
    except validate_templates.UsageError as exc:
        print(f"template validation not timed: {exc} (needs node and `npm ci --prefix tools/email`)")
    if args.static:
        figures["static"] = _median(_static_validation, 1)
    first, second = (figures["110"] - figures["20"]) / 90, (figures["200"] - figures["110"]) / 90
    figures["linear"] = second / first if first > 0 else float("inf")
    for name, label, unit in [
        ("cold", "generate, shipped definition, cold (empty caches)", "s"),
        ("warm", "generate, shipped definition, warm (output cache hit)", "s"),
        ("check", "generate --check, nothing changed (warm)", "s"),
        ("20", "generate, +20 tables and templates, cold", "s"),
        ("110", "generate, +110 tables and templates, cold", "s"),
        ("200", "generate, +200 tables and templates, cold", "s"),
        ("memory", "peak memory of any generate process (max RSS)", "MB"),
        ("templates", "validate the 12 email templates (with html-validate)", "s"),
        ("static", "static validation (terraform validate of every root)", "s"),
    ]:
        if name in figures:
            print(f"{label:58s} {figures[name]:8.3f} {unit}{_verdict(name, figures[name])}")
    print(f"{'cost per added table+template, 20 -> 110':58s} {first * 1000:8.1f} ms")
    print(f"{'cost per added table+template, 110 -> 200':58s} {second * 1000:8.1f} ms")
    growth = figures["linear"]
    print(f"{'growth: second slope / first (1 = linear)':58s} {growth:8.2f}{_verdict('linear', growth)}")
    print(f"{'ratio cold generate / copying the output tree':58s} {figures['cold'] / figures['copy']:8.1f} x")
    missed = [n for n, goal in GOALS.items() if n in figures and figures[n] > goal]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
