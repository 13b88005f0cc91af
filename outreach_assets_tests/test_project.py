"""The project's promises about itself: CI runs the README's command, both entry points of
``dagster dev`` load the same code location, and the definitions load."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


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


def test_importing_the_client_does_not_import_dagster() -> None:
    code = "import sys, outreach_assets.client; assert 'dagster' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
