"""The public Singer tap ``tap-outreach`` run against our sandbox, measured from outside.

Why: "records per CPU second" means little without something to compare it with. The
usual off-the-shelf way to extract Outreach is Stitch's Singer tap
(https://github.com/singer-io/tap-outreach), so this runs that tap, unmodified, over the
same sandbox data our benchmarks use and measures its CPU time the same way (``os.wait4``
on its process, user + system, every thread; see ``processes.py``). It syncs the 20
streams it shares with our catalog (``SINGER_STREAMS``).

The tap lives in a venv of its own (``ensure_tap``; it pins requests and singer-python and
must not touch ours), and none of its code is copied here: a few lines of driver
(``_DRIVER``, run by the tap venv's Python) point it at the sandbox and call its own
``main``. The tap has no setting for its addresses, so the driver sets
``OutreachClient.BASE_URL`` (a class attribute) and rewrites the one hard-coded token URL
its ``refresh()`` posts to. The catalog comes from the tap's own ``--discover`` with the 20
streams marked ``selected`` (stream metadata, breadcrumb ``[]``, which is what singer's
``CatalogEntry.is_selected`` reads), and ``DESELECTED_FIELDS`` deselected.

The parent reads the tap's Singer messages as they come and only counts RECORD messages per
stream, so what the tap writes costs the tap, not a file system or a target.

    .venv/bin/python -m benchmarks.singer_tap 200 2000 [--venv DIR]

checks the counts against the sandbox's truth and prints the CPU of each run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.processes import SandboxProcess, Usage, wait_for

TAP_REQUIREMENT = "tap-outreach==1.2.2"

# The tap's STREAM_CONFIGS (tap_outreach/sync.py), every one of which our catalog has too.
SINGER_STREAMS: tuple[str, ...] = (
    "accounts",
    "call_dispositions",
    "call_purposes",
    "calls",
    "content_categories",
    "duties",
    "events",
    "mailboxes",
    "mailings",
    "opportunities",
    "personas",
    "prospects",
    "sequence_states",
    "sequence_steps",
    "sequence_templates",
    "sequences",
    "stages",
    "tasks",
    "teams",
    "users",
)

# Fields the sandbox sends in a shape the tap's schema refuses, deselected in the catalog so
# the tap drops them before its Transformer (singer's filter_data_by_metadata) sees them:
# the sandbox sends users.duties as a JSON object ({"kind": ...}, its generic JSON value),
# the tap's schema wants an array of {id, name, duty_type} objects and raises SchemaMismatch
# on the first user otherwise. Every record still arrives; it costs the tap one field.
DESELECTED_FIELDS: dict[str, tuple[str, ...]] = {"users": ("duties",)}

# Runs in the tap's venv (no outreach_assets there), as `python -c _DRIVER <tap args>`.
# OutreachClient.refresh() posts to this literal URL through its requests.Session; only
# that exact URL is rewritten, every other request goes out untouched.
_DRIVER = """\
import os
import sys

import requests
import tap_outreach
from tap_outreach.client import OutreachClient

OutreachClient.BASE_URL = os.environ["OUTREACH_API_BASE_URL"].rstrip("/") + "/"
_TOKEN_URLS = {"https://api.outreach.io/oauth/token": os.environ["OUTREACH_TOKEN_URL"]}
_request = requests.Session.request


def _to_sandbox(self, method, url, *args, **kwargs):
    return _request(self, method, _TOKEN_URLS.get(url, url), *args, **kwargs)


requests.Session.request = _to_sandbox
sys.argv = ["tap-outreach", *sys.argv[1:]]
tap_outreach.main()
"""

_STDERR_TAIL_LINES = 30
_LINE_MAX = 300
# Fail within a minute when there is no index, rather than after pip's default retries.
_PIP_INSTALL = ("install", "-q", "--disable-pip-version-check", "--retries", "1", "--timeout", "30")


@dataclass(frozen=True)
class SingerRun:
    """One finished sync of the tap: its process's usage and RECORD messages per stream."""

    usage: Usage
    records: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.records.values())


def default_venv() -> Path:
    """Where ``ensure_tap`` keeps the tap unless told otherwise (a cache, not the repo)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "outreach_assets" / "singer-tap-outreach"


def ensure_tap(venv: Path) -> Path | None:
    """The Python of a venv with ``tap-outreach`` installed, installing it if missing.

    None, with a one-line reason on stderr, when it cannot be installed (no package index,
    say), so callers can skip the comparison rather than fail.
    """
    python = venv / "bin" / "python"
    if (venv / "bin" / "tap-outreach").exists():
        return python
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", *_PIP_INSTALL, TAP_REQUIREMENT],
    )
    for step in steps:
        try:
            subprocess.run(step, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"{TAP_REQUIREMENT} unavailable in {venv}: {_reason(exc)}", file=sys.stderr)
            return None
    return python


def _reason(exc: OSError | subprocess.CalledProcessError) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        lines = [line for line in (exc.stderr or "").splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
    return str(exc)


def run_tap(
    python: Path,
    env: dict[str, str],
    start_date: str,
    workdir: Path,
    *,
    page_size: int | None = None,
) -> SingerRun:
    """Sync ``SINGER_STREAMS`` with the tap from ``start_date`` and count what it emits.

    ``env`` holds the sandbox's ``OUTREACH_*`` variables (``SandboxProcess.environment``);
    the tap's config, catalog and stderr go to ``workdir``. ``page_size`` None keeps the
    tap's default (250). Only the sync is measured: discovery runs in a process before it.
    Raises RuntimeError, with the tail of the tap's stderr, if the tap fails.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "tap_config.json"
    catalog_path = workdir / "tap_catalog.json"
    stderr_path = workdir / "tap.stderr"
    config_path.write_text(json.dumps(_tap_config(env, start_date, page_size)))
    child_env = {**os.environ, **env}
    driver = [str(python), "-c", _DRIVER, "--config", str(config_path)]

    discovered = subprocess.run(
        [*driver, "--discover"], capture_output=True, text=True, env=child_env, check=False
    )
    if discovered.returncode != 0:
        raise RuntimeError(f"tap discovery failed:\n{_tail(discovered.stderr)}")
    catalog_path.write_text(json.dumps(_select(json.loads(discovered.stdout))))

    records = dict.fromkeys(SINGER_STREAMS, 0)
    with stderr_path.open("wb") as stderr:
        started = time.monotonic()
        proc = subprocess.Popen(
            [*driver, "--catalog", str(catalog_path)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=child_env,
        )
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                message = json.loads(line)
                if message.get("type") == "RECORD":
                    stream = message["stream"]
                    records[stream] = records.get(stream, 0) + 1
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            proc.stdout.close()
        usage = wait_for(proc, started)
    if usage.exit_code != 0:
        tail = _tail(stderr_path.read_text(errors="replace"))
        raise RuntimeError(f"tap-outreach exited with status {usage.exit_code}:\n{tail}")
    return SingerRun(usage=usage, records=records)


def _tap_config(env: dict[str, str], start_date: str, page_size: int | None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "client_id": env["OUTREACH_CLIENT_ID"],
        "client_secret": env["OUTREACH_CLIENT_SECRET"],
        "redirect_uri": env["OUTREACH_REDIRECT_URI"],
        "refresh_token": env["OUTREACH_REFRESH_TOKEN"],
        "start_date": start_date,
        # Set, so the tap parses X-RateLimit-Remaining after every request as it would for
        # real. Its "quota used" is 1 - r/r, always 0 (ZeroDivisionError at r == 0), so it
        # never sleeps for it; the sandbox's budget (10,000 an hour, also the tap's own
        # client-side limit) is far above these runs.
        "quota_limit": 1,
    }
    if page_size is not None:
        config["page_size"] = page_size
    return config


def _select(catalog: dict[str, Any]) -> dict[str, Any]:
    """The discovered catalog with ``SINGER_STREAMS`` selected at the stream's breadcrumb
    and ``DESELECTED_FIELDS`` deselected at theirs."""
    found = set()
    for entry in catalog["streams"]:
        name = entry["tap_stream_id"]
        if name not in SINGER_STREAMS:
            continue
        _metadata(entry, [])["selected"] = True
        found.add(name)
        for field_name in DESELECTED_FIELDS.get(name, ()):
            _metadata(entry, ["properties", field_name])["selected"] = False
    missing = sorted(set(SINGER_STREAMS) - found)
    if missing:
        raise RuntimeError(f"the tap's catalog lacks streams {missing}")
    return catalog


def _metadata(entry: dict[str, Any], breadcrumb: list[str]) -> dict[str, Any]:
    """The metadata of ``breadcrumb`` in a catalog entry, added if discovery wrote none."""
    for item in entry["metadata"]:
        if item["breadcrumb"] == breadcrumb:
            found: dict[str, Any] = item["metadata"]
            return found
    added: dict[str, Any] = {}
    entry["metadata"].append({"breadcrumb": breadcrumb, "metadata": added})
    return added


def _tail(text: str) -> str:
    """The last lines of the tap's stderr, each cut short (its schema errors run to KBs)."""
    lines = text.splitlines()[-_STDERR_TAIL_LINES:]
    return "\n".join(
        line if len(line) <= _LINE_MAX else line[:_LINE_MAX] + " ..." for line in lines
    )


# --- demo: python -m benchmarks.singer_tap [SIZE ...] -----------------------------------

_SANDBOX_START, _SANDBOX_END = "2026-10-01", "2026-11-01"


def check(python: Path, size: int) -> bool:
    """Run the tap over ``size`` records of every shared stream; print counts and CPU."""
    config = {
        "records": 0,
        "sizes": dict.fromkeys(SINGER_STREAMS, size),
        "start": _SANDBOX_START,
        "end": _SANDBOX_END,
    }
    with SandboxProcess(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        run = run_tap(python, sandbox.environment, f"{_SANDBOX_START}T00:00:00Z", Path(tmp))
        truth = {name: len(sandbox.get(f"truth/{name}")) for name in SINGER_STREAMS}
        requests = sandbox.get("stats")["api_requests"]
    print(f"\n{size} records per stream, {requests} API requests")
    print(f"{'stream':<20} {'truth':>8} {'tap':>8}")
    ok = True
    for name in SINGER_STREAMS:
        got = run.records.get(name, 0)
        same = got == truth[name]
        ok &= same
        print(f"{name:<20} {truth[name]:>8} {got:>8}{'' if same else '  <- differs'}")
    usage = run.usage
    rate = run.total / usage.cpu_s if usage.cpu_s > 0 else float("inf")
    print(f"{'total':<20} {sum(truth.values()):>8} {run.total:>8}")
    print(
        f"tap CPU {usage.cpu_s:.2f} s (wall {usage.wall_s:.2f} s): "
        f"{rate:,.0f} records per CPU second"
    )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("sizes", nargs="*", type=int, default=[200], help="records per stream")
    parser.add_argument("--venv", type=Path, default=default_venv(), help="the tap's venv")
    args = parser.parse_args(argv)
    python = ensure_tap(args.venv)
    if python is None:
        return 2
    results = [check(python, size) for size in args.sizes]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
