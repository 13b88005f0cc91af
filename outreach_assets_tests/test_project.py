"""The project's promises about itself: CI runs the README's command, both entry points of
``dagster dev`` load the same code location, the definitions load, the README says what the
code does, and the package keeps its layout (no import cycles, a client free of Dagster and
of the converters, small modules)."""

import ast
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import yaml

from outreach_assets.config import configuration_table
from outreach_assets_tests.support.clients import ROOT

PACKAGE = ROOT / "outreach_assets"
MAX_MODULE_LINES = 420
# The parts of the package, bottom up: each may import only parts on earlier lines (the
# layering the README describes). The sandbox stands beside the client and shares only
# the bottom layers with it.
LAYERS: list[set[str]] = [
    {"catalog", "errors", "timestamps", "jsontext"},
    {"config"},
    {"client", "sandbox"},
    {"convert"},
    {"storage"},
    {"resources"},
    {"assets"},
    {"automation"},
    {"definitions"},
    {"cli", "__init__"},
]


def _readme_commands() -> list[str]:
    """The shell commands of the README's opening code blocks, in order."""
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)?\n(.+?)\n```", text, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    demo, test = _readme_commands()[:2]
    assert "outreach-assets demo" in demo
    ci_lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci_lines[-1] == test.strip()


def test_pyproject_and_workspace_name_the_same_location() -> None:
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    assert entry["python_module"]["module_name"] == tool["module_name"]
    assert entry["python_module"]["location_name"] == tool["code_location_name"]


def test_definitions_validate_from_the_cli() -> None:
    """Both the module form used by the README (-m outreach_assets) and workspace.yaml load."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    for target in (["-m", "outreach_assets"], ["-w", "workspace.yaml"]):
        proc = subprocess.run(
            [sys.executable, "-m", "dagster", "definitions", "validate", *target],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_importing_the_client_imports_neither_dagster_nor_the_data_layers() -> None:
    """The client is a plain HTTP client: usable from a script, and testable, without
    Dagster, the converters, the storage or Arrow."""
    code = (
        "import sys, outreach_assets.client, outreach_assets.client.slices\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('dagster', 'pyarrow', 'pandas')"
        " or m.startswith(('outreach_assets.convert', 'outreach_assets.storage',"
        " 'outreach_assets.assets', 'outreach_assets.resources'))]\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_readme_configuration_table_is_the_declared_settings() -> None:
    """The table is generated from the declarations (``python -m outreach_assets.config``);
    a setting added, renamed or re-documented without regenerating it fails here."""
    assert configuration_table() in (ROOT / "README.md").read_text()


def test_readme_module_map_names_every_part_of_the_package() -> None:
    section = (ROOT / "README.md").read_text().split("## What is here", 1)[1].split("\n## ")[0]
    for child in sorted(PACKAGE.iterdir()):
        if child.name.startswith(("_", ".")) or not (child.suffix == ".py" or child.is_dir()):
            continue
        shown = f"`{child.name}`" if child.suffix == ".py" else f"`outreach_assets/{child.name}/`"
        assert shown in section or f"outreach_assets/{child.name}" in section, child.name


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports at module level or in functions (a
    ``from package import module`` counts as the module, not the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            base = node.module if node.level == 0 else f"{package}.{node.module}"
            for alias in node.names:
                target = f"{base}.{alias.name}"
                out.add(target if target in known else base)
    return {m for m in out if m in known and m != name}


def _import_graph() -> dict[str, set[str]]:
    modules = dict(_modules())
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_the_package_has_no_import_cycle() -> None:
    graph = _import_graph()
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_each_part_imports_only_the_layers_below_it() -> None:
    level = {part: index for index, parts in enumerate(LAYERS) for part in parts}
    graph = _import_graph()

    def part(module: str) -> str:
        return module.split(".")[1] if "." in module else "__init__"

    assert {part(m) for m in graph} == set(level), "a new part needs a place in LAYERS"
    for module, imported in graph.items():
        for target in imported:
            mine, theirs = part(module), part(target)
            assert mine == theirs or level[theirs] < level[mine], f"{module} imports {target}"


def test_the_client_imports_nothing_from_the_dagster_or_data_layers() -> None:
    graph = _import_graph()
    allowed = ("outreach_assets.client", "outreach_assets.catalog", "outreach_assets.config")
    shared = {"outreach_assets.errors", "outreach_assets.timestamps", "outreach_assets.jsontext"}
    for module, imported in graph.items():
        if module.startswith("outreach_assets.client"):
            stray = {m for m in imported if not m.startswith(allowed) and m not in shared}
            assert not stray, f"{module} imports {sorted(stray)}"


def test_no_product_module_is_long() -> None:
    """A module past a few hundred lines does more than one job; split it by concern."""
    long = {
        str(path.relative_to(ROOT)): lines
        for _, path in _modules()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long
