"""``bbws-gen adopt``: bring resources that already exist under the generated roots, without recreating them.

For one environment, each resource a generated root manages is looked for in an old state file
(``from_state``) or in the account itself (``from_account``, read-only calls); each one found becomes an
entry of an ``import`` block in its root's ``adopt.tf`` (``imports_file``), which the normal pipeline
plans and applies. Tables are compared with the definition first (``compare``): a difference that would
replace a table stops adoption with nothing written; one applied in place (a GSI added or dropped) is
reported. ``clean`` removes an environment's entries once applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from generator.adopt import imports_file
from generator.adopt.compare import table_differences
from generator.adopt.facts import table_facts_from_spec
from generator.adopt.records import AdoptBlocked, AdoptError, Difference, Found, Lookup, Target
from generator.adopt.targets import environment, read_spec, targets

__all__ = ["AdoptBlocked", "AdoptError", "Adoption", "ComponentAdoption", "adopt", "clean"]


class Source(Protocol):
    """Where existing resources are looked for."""

    def find(self, lookup: Lookup, dr: bool) -> Found | None: ...


@dataclass(frozen=True)
class ComponentAdoption:
    """One root: what was found (address -> import ID), what was not, and what differs."""

    repo: str
    component: str
    root: Path
    imports: Mapping[str, str]
    absent: tuple[str, ...]
    differences: tuple[Difference, ...]
    untagged_keys: frozenset[str] = frozenset()  # key addresses found not behind the root's alias


@dataclass(frozen=True)
class Adoption:
    """The result of one ``adopt`` run, for one environment."""

    environment: str
    source: str
    components: tuple[ComponentAdoption, ...]
    written: tuple[Path, ...]
    notes: tuple[str, ...]


# Keys found through the resource they encrypt, not behind the root's alias: the pipeline's roles reach
# keys only by that alias or by the Environment and Component tags, so such a key needs the tags first.
_UNTAGGED_KEY_LOOKUPS = {"table_key", "bucket_key", "vault_key"}


def _find(source: Source, target: Target) -> tuple[Found | None, Lookup | None]:
    for lookup in target.lookups:
        found = source.find(lookup, target.dr)
        if found is not None:
            return found, lookup
    return None, None


def _key_notes(components: Sequence[ComponentAdoption], env: str) -> list[str]:
    return [
        f"{c.component}: {address} ({key_id}) was found through what it encrypts, not behind the root's alias; "
        "the pipeline's plan and apply roles reach keys by that alias or by tags, so tag it first: "
        f"aws kms tag-resource --key-id {key_id} --tags TagKey=Environment,TagValue={env} "
        f"TagKey=Component,TagValue={c.component}"
        for c in components
        for address, key_id in c.imports.items()
        if address in c.untagged_keys
    ]


def _component(
    repo: Path, spec: Mapping[str, Any], name: str, found: dict[str, Found], absent: list[str], untagged: set[str]
) -> ComponentAdoption:
    differences: list[Difference] = []
    table = next((t for t in spec.get("tables", []) if t["name"] == name), None)
    existing = found.get("aws_dynamodb_table.this")
    if table is not None and existing is not None:
        differences = table_differences(name, dict(existing.facts), table_facts_from_spec(table))
    return ComponentAdoption(
        repo=repo.name,
        component=name,
        root=repo / "terraform" / name,
        imports={address: item.import_id for address, item in sorted(found.items())},
        absent=tuple(sorted(absent)),
        differences=tuple(differences),
        untagged_keys=frozenset(untagged),
    )


def _survey(repo: Path, env: str, source: Source | None, state: Path | None) -> list[ComponentAdoption]:
    spec = read_spec(repo)
    env_spec = environment(spec, env)
    if source is None:
        source = _source(state, env_spec)
    by_component: dict[str, tuple[dict[str, Found], list[str], set[str]]] = {}
    for target in targets(spec, env):
        found, absent, untagged = by_component.setdefault(target.component, ({}, [], set()))
        item, lookup = _find(source, target)
        if item is None:
            absent.append(target.address)
        else:
            found[target.address] = item
            if lookup is not None and lookup.kind in _UNTAGGED_KEY_LOOKUPS:
                untagged.add(target.address)
    return [_component(repo, spec, name, *by_component[name]) for name in sorted(by_component)]


def _source(state: Path | None, env_spec: Mapping[str, Any]) -> Source:
    if state is not None:
        from generator.adopt.from_state import StateSource

        return StateSource(state)
    from generator.adopt.from_account import AccountSource

    return AccountSource(env_spec["region"], env_spec["dr_region"])


def _unclaimed_tables(state: Path | None, components: Sequence[ComponentAdoption]) -> list[str]:
    if state is None:
        return []
    from generator.adopt.from_state import StateSource

    claimed = {c.imports["aws_dynamodb_table.this"] for c in components if "aws_dynamodb_table.this" in c.imports}
    return [
        f"{state}: table {name!r} is managed there but by no generated root (a different name?): not adopted"
        for name in StateSource(state).table_names()
        if name not in claimed
    ]


def adopt(repos: Sequence[Path], env: str, state: Path | None = None, source: Source | None = None) -> Adoption:
    """Find what already exists in ``env`` for every root of ``repos`` and write each root's ``adopt.tf``.

    ``state``: an old state file to read instead of the account; ``source``: any other :class:`Source`.
    Raises :class:`AdoptError` for bad input and :class:`AdoptBlocked` when applying would replace an
    existing table; in both cases nothing is written.
    """
    if not repos:
        raise AdoptError("no generated repo to adopt into", ["pass repo folders, or run inside a project"])
    components = [c for repo in repos for c in _survey(repo, env, source, state)]
    blocking = [d for c in components for d in c.differences if d.effect == "replace"]
    if blocking:
        raise AdoptBlocked(blocking)
    merged = []
    for component in components:
        imports = imports_file.read(component.root)
        for ids in imports.values():
            ids.pop(env, None)
        for address, import_id in component.imports.items():
            imports.setdefault(address, {})[env] = import_id
        merged.append((component.root, imports))
    written = [path for root, imports in merged if (path := imports_file.write(root, imports)) is not None]
    return Adoption(
        environment=env,
        source=str(state) if state is not None else ("account" if source is None else type(source).__name__),
        components=tuple(components),
        written=tuple(written),
        notes=tuple(_unclaimed_tables(state, components) + _key_notes(components, env)),
    )


def clean(repos: Sequence[Path], env: str | None) -> list[Path]:
    """Remove ``env``'s import entries (every environment's when None) from each root's ``adopt.tf``,
    deleting a file left empty; the files changed or deleted."""
    changed: list[Path] = []
    for repo in repos:
        spec = read_spec(repo)
        if env is not None:
            environment(spec, env)
        plans = []
        for component in spec["components"]:
            root = repo / component["path"]
            imports = imports_file.read(root)
            if not imports:
                continue
            kept = {a: {e: i for e, i in ids.items() if env is not None and e != env} for a, ids in imports.items()}
            if kept != imports:
                plans.append((root, kept))
        for root, kept in plans:
            imports_file.write(root, kept)
            changed.append(root / imports_file.FILE_NAME)
    return changed
