"""The generator's architecture rules (issue 14), read from its source so a change that breaks one fails here.

- no import cycle among generator/ modules (function-level imports included: they run too);
- only generator/checks.py imports the shipped scripts (generator/shipped/, standalone and verbatim);
- every exception class the generator defines subclasses BbwsGenError, which carries the exit code;
- the EXIT_* codes are assigned in generator/errors.py only;
- no module over 400 lines outside generator/shipped/;
- only the CLI (and the terminal programs named below) writes to the terminal: the library reports
  through return values, exceptions and callbacks.

The shipped scripts are excluded from all but the first rule: they run standalone in the generated repos,
with their own CLIs, exit codes and exceptions. Each failure names the file and line to change.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.errors import EXIT_ABORTED, EXIT_DEFECT, EXIT_INVALID, BbwsGenError
from tests.conftest import ROOT

PACKAGE = ROOT / "generator"
SHIPPED = "generator.shipped"
ADAPTER = "generator.checks"
MAX_LINES = 400

# Exceptions that are not errors of the library: private control flow, raised and caught inside one module.
PRIVATE_EXCEPTIONS = {
    # json.loads's object_pairs_hook raises it to stop at a repeated key; parse_json catches it at once
    # and raises UnsafeInput (a BbwsGenError) with the key's line instead.
    "generator.definition.strict_parse._Duplicate",
    # The output cache raises it when the inputs cannot be keyed safely and catches it at once: the run
    # then goes the full way, where the loader reports what is wrong.
    "generator.render.output_cache._Uncacheable",
}

# Modules that may write to the terminal besides the CLI, and why.
TERMINAL_PROGRAMS = {
    "generator.cli": "the CLI: the one place errors become messages and exit codes",
    "generator.onboard.prompts": "the questionnaire's terminal: lines shown between interactive questions",
    "generator.bench": "`nox -s bench`, a maintainer program whose output is its table of figures",
    "generator.relock": "`python -m generator.relock` (`nox -s relock`), a maintainer program",
}


@dataclass(frozen=True)
class Module:
    """One Python module of the generator package: its dotted name, file and syntax tree."""

    name: str
    path: Path
    tree: ast.Module

    @property
    def rel(self) -> str:
        """The file as a reader opens it from the project root."""
        return self.path.relative_to(ROOT).as_posix()

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]

    @property
    def shipped(self) -> bool:
        return self.name == SHIPPED or self.name.startswith(SHIPPED + ".")


def _modules() -> dict[str, Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


MODULES = _modules()
OWN = {name: module for name, module in MODULES.items() if not module.shipped}


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:`` (imports there never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for other in node.orelse:
                yield other
                yield from _nodes(other)
            continue
        yield node
        yield from _nodes(node)


def imports(module: Module) -> Iterator[tuple[str, int]]:
    """(imported generator module, line) for every import in ``module``, at any level of nesting.

    ``from package import name`` is an import of the submodule ``package.name`` when there is one, else
    of the package. The parent packages Python imports first are not counted: a package's
    ``__init__`` importing its own modules, which import siblings, is no cycle.
    """
    for node in _nodes(module.tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.package.split(".")[: len(module.package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # import generator.x.y where y is a name: generator.x
                target = target.rpartition(".")[0]
            if target.startswith("generator"):
                yield target, node.lineno


def graph() -> dict[str, dict[str, int]]:
    """Module -> {imported module: line of the first such import}."""
    edges: dict[str, dict[str, int]] = {}
    for name, module in MODULES.items():
        edges[name] = {}
        for target, line in imports(module):
            if target != name:
                edges[name].setdefault(target, line)
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan), as a list of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, {})):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_cycle_through(group, edges) for group in groups]


def _cycle_through(group: list[str], edges: dict[str, dict[str, int]]) -> list[str]:
    """The shortest path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(edges[node]):
            if target == start:
                return [*paths[node], start]
            if target in members and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {group}")  # a strongly connected group always has one


def describe(cycle: list[str], edges: dict[str, dict[str, int]]) -> str:
    steps = [f"{MODULES[a].rel}:{edges[a][b]} imports {b}" for a, b in itertools.pairwise(cycle)]
    return " -> ".join(cycle) + "\n      " + "\n      ".join(steps)


def test_the_graph_sees_function_level_and_relative_imports() -> None:
    """The reader must see what the rules rely on, or the rules below pass for the wrong reason."""
    tree = ast.parse(
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from generator.model import Model\n"
        "from . import checks\nimport generator.errors\n"
        "def f() -> None:\n    from generator.definition import names, load_definition\n"
    )
    module = Module("generator.example", PACKAGE / "example.py", tree)
    assert sorted(imports(module)) == [
        ("generator.checks", 5),
        ("generator.definition", 8),
        ("generator.definition.names", 8),
        ("generator.errors", 6),
    ]
    edges = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}}
    assert cycles(edges) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_import_cycle_in_the_generator() -> None:
    edges = graph()
    found = cycles(edges)
    assert not found, "import cycle(s) in generator/ (break each by moving what both need below both):\n  " + (
        "\n  ".join(describe(cycle, edges) for cycle in found)
    )


def test_only_the_adapter_imports_the_shipped_scripts() -> None:
    offenders = sorted(
        {
            f"{module.rel}:{line} imports {target}"
            for module in OWN.values()
            if module.name != ADAPTER
            for target, line in imports(module)
            if target == SHIPPED or target.startswith(SHIPPED + ".")
        }
    )
    assert not offenders, (
        f"only {ADAPTER} may import generator.shipped (import from generator.checks or generator.locations):\n  "
        + "\n  ".join(offenders)
    )


def _defined_classes() -> Iterator[tuple[Module, type]]:
    for module in OWN.values():
        if module.name.endswith(".__main__"):
            continue  # runs its command when imported
        loaded = importlib.import_module(module.name)
        for _, value in inspect.getmembers(loaded, inspect.isclass):
            if value.__module__ == module.name:
                yield module, value


def test_every_exception_of_the_generator_is_a_bbws_gen_error() -> None:
    offenders, private = [], set()
    for module, cls in _defined_classes():
        if not issubclass(cls, BaseException):
            continue
        qualified = f"{module.name}.{cls.__qualname__}"
        if issubclass(cls, BbwsGenError):
            assert cls.exit_code in (EXIT_DEFECT, EXIT_INVALID, EXIT_ABORTED), f"{qualified}: exit_code {cls.exit_code}"
        elif qualified in PRIVATE_EXCEPTIONS:
            private.add(qualified)
        else:
            line = inspect.getsourcelines(cls)[1]
            offenders.append(f"{module.rel}:{line}: {cls.__qualname__}({', '.join(b.__name__ for b in cls.__bases__)})")
    assert not offenders, (
        "exceptions the generator raises must subclass generator.errors.BbwsGenError and set exit_code "
        "(or, for private control flow, be listed in PRIVATE_EXCEPTIONS with the reason):\n  " + "\n  ".join(offenders)
    )
    assert private == PRIVATE_EXCEPTIONS, (
        f"PRIVATE_EXCEPTIONS lists classes that are gone: {PRIVATE_EXCEPTIONS - private}"
    )


def test_exit_codes_are_defined_in_errors_py_only() -> None:
    offenders = []
    for module in OWN.values():
        if module.name == "generator.errors":
            continue
        for node in _nodes(module.tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            offenders += [f"{module.rel}:{node.lineno} assigns {name}" for name in names if name.startswith("EXIT_")]
    assert not offenders, "exit codes live in generator/errors.py only (import them from there):\n  " + "\n  ".join(
        offenders
    )


def test_no_module_over_400_lines() -> None:
    long = {
        module.rel: count
        for module in OWN.values()
        if (count := len(module.path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split each by concern): " + ", ".join(
        f"{rel} ({count})" for rel, count in sorted(long.items())
    )


def _terminal_writes(module: Module) -> Iterator[tuple[int, str]]:
    """print(), writes to sys.stdout/sys.stderr, and redirections of them."""
    for node in _nodes(module.tree):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        if called == "print":
            yield node.lineno, "print()"
        elif called.rpartition(".")[0] in ("sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"):
            if called.endswith((".write", ".writelines")):
                yield node.lineno, called
        elif called.endswith(("redirect_stdout", "redirect_stderr")):
            yield node.lineno, called


def test_only_the_cli_and_named_terminal_programs_print() -> None:
    offenders = [
        f"{module.rel}:{line}: {what}"
        for module in OWN.values()
        if module.name not in TERMINAL_PROGRAMS
        for line, what in _terminal_writes(module)
    ]
    assert not offenders, (
        "the library does not print: return the text, raise a BbwsGenError or call the report callback, and let "
        "generator/cli.py print it:\n  " + "\n  ".join(offenders)
    )
    assert set(TERMINAL_PROGRAMS) <= set(OWN), f"gone: {set(TERMINAL_PROGRAMS) - set(OWN)}"


@pytest.mark.parametrize("module", ["generator.errors", "generator.locations"])
def test_errors_and_locations_stay_cheap_to_import(module: str) -> None:
    """The CLI's fast path imports them; neither may pull in jsonschema, PyYAML, Jinja, Copier or a shipped
    script."""

    heavy = ("jsonschema", "yaml", "jinja2", "copier")
    loaded = f"m.split('.')[0] in {heavy!r} or m.startswith('generator.shipped')"
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if {loaded}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", f"{module} imports {result.stdout.strip()}"
