"""A ``dagster dev`` or ``dagster`` CLI process under test: its environment, its processes,
and the lines of its log that are the project's problems."""

import os
import re
import sysconfig
from pathlib import Path
from typing import Any

import yaml

from outreach_assets.config import env
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.clients import ROOT

PACKAGE_DIR = ROOT / "outreach_assets"
# "path/to/file.py:12: UserWarning: message", as Python's warnings module formats them.
WARNING_LINE = re.compile(r"(?P<file>\S+\.py):\d+: (?P<category>\w*Warning): ")
# A warning's message that names the project: its package, or an asset key of ours.
NAMES_US = re.compile(r"\boutreach(_assets\b|/)")


def python_problems(log_text: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Tracebacks, and warnings raised by the project's own code or naming it.

    Where a warning comes from is read from its file, never from the whole line: the
    checkout (and with it the virtualenv's site-packages) may sit under a path that
    contains "outreach", and then every installed package's warning would name us.
    Warnings Dagster raises about its own CLI (``dagster dev`` is "superseded" by
    ``dg dev``) come from installed packages and are not the project's to fix.
    """
    problems = []
    for line in log_text.splitlines():
        if "Traceback (most recent call last)" in line:
            problems.append(line)
            continue
        match = WARNING_LINE.search(line)
        if match is None:
            continue
        from_us = Path(match["file"]).is_relative_to(package_dir)
        if from_us or NAMES_US.search(line[match.end() :]):
            problems.append(line)
    return problems


def site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


def instance_config() -> dict[str, Any]:
    """The project's example ``dagster.yaml`` (pools, run queue, run retries) if it ships
    one, so the UI is tested as a user who copied it to ``$DAGSTER_HOME`` runs it; without
    telemetry, which a test has no business sending."""
    example = ROOT / "dagster.yaml"
    config = (yaml.safe_load(example.read_text()) or {}) if example.exists() else {}
    return {**config, "telemetry": {"enabled": False}}


def dagster_environment(sb: SandboxServer, tmp_path: Path, first_day: str) -> dict[str, str]:
    """The process environment minus any OUTREACH_* the developer's shell has, plus the
    sandbox's, so nothing but this test's settings can reach the code location."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config()))
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    return {
        **inherited,
        **sb.environment(),
        env("start_date"): first_day,
        env("data_dir"): str(tmp_path / "data"),
        env("token_store_path"): str(tmp_path / "tokens.json"),
        "DAGSTER_HOME": str(home),
    }


def live_group_members(pgid: int) -> list[str]:
    """Processes still in the group, zombies aside (their parent is gone; init reaps them)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while we looked
        name, _, rest = text.rpartition(")")
        fields = rest.split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(f"{stat.parent.name} {name.partition('(')[2]}")
    return members
