"""The two processes of a benchmark run, and what is measured of each from outside.

The sandbox and the materializing process are separate children so that each one's CPU
time is its own: ``os.wait4`` reports it for exactly one process (the kernel's accounting,
not a sampled guess). Peak memory comes from the materializing process itself (VmHWM):
``wait4``'s maximum RSS would include the parent's RSS at the time of the fork.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Usage:
    """What the kernel accounted to one finished process."""

    exit_code: int
    cpu_s: float  # user + system, every thread of the process
    wall_s: float


def wait_for(proc: subprocess.Popen[Any], started: float) -> Usage:
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Usage(
        exit_code=proc.returncode,
        cpu_s=rusage.ru_utime + rusage.ru_stime,
        wall_s=time.monotonic() - started,
    )


class SandboxProcess:
    """``benchmarks.sandbox_child`` with a given config; stopped (and measured) on exit."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._proc: subprocess.Popen[str] | None = None
        self._started = 0.0
        self.environment: dict[str, str] = {}
        self.base_url = ""
        self.usage: Usage | None = None

    def __enter__(self) -> "SandboxProcess":
        self._started = time.monotonic()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sandbox_child", json.dumps(self._config)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait()
            raise RuntimeError(f"the sandbox exited with status {self._proc.returncode}")
        ready = json.loads(line)
        self.base_url, self.environment = ready["base_url"], ready["environment"]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        self.usage = wait_for(proc, self._started)

    def get(self, endpoint: str) -> Any:
        """A ``/_sandbox/<endpoint>`` answer (stats, truth/<stream>, rate_windows)."""
        with urllib.request.urlopen(f"{self.base_url}/_sandbox/{endpoint}", timeout=120) as r:
            return json.loads(r.read())


def materialize(spec: dict[str, Any], workdir: Path) -> tuple[Usage, dict[str, Any], Path]:
    """Run ``benchmarks.materialize_child`` on ``spec``; its usage, its outcome, its log."""
    spec_path, log_path = workdir / "spec.json", workdir / "run.log"
    result_path = workdir / "result.json"
    spec_path.write_text(json.dumps({**spec, "result_path": str(result_path)}))
    started = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.materialize_child", str(spec_path)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **spec["env"]},
        )
        usage = wait_for(proc, started)
    outcome = json.loads(result_path.read_text()) if result_path.exists() else {}
    return usage, outcome, log_path
