"""A run's process and what its death leaves: step workers that stop with it, and runs that
a dead process left STARTED, reported failed.

Why this exists. ``dagster asset materialize`` and ``dagster job execute`` run the plan in
the command's own process, with no run launcher. Killed with SIGKILL, that process ends no
run: the run stays STARTED in the instance for good. Dagster's run monitoring does not
cover it: the daemon checks a started run's worker only through the run launcher
(``monitor_started_run`` in ``dagster/_daemon/monitoring/run_monitoring.py`` asks
``run_launcher.supports_check_run_worker_health``, which the base and the default launcher
answer False), and only where a daemon runs at all
(https://docs.dagster.io/deployment/execution/run-monitoring). With the multiprocess
executor, the step workers are separate processes that nothing stops when the run's process
dies: they would go on spending the quota and commit partitions for a run nobody follows.

So every step that calls Outreach (``guard_step``, entered through ``outreach_failures``):

- in a step worker of the multiprocess executor, arms a watchdog that SIGKILLs the worker as
  soon as its parent (the run's process) is gone: a thread blocked on the parent's
  ``multiprocessing`` sentinel (readable once the parent dies, whatever the start method:
  https://docs.python.org/3/library/multiprocessing.html#multiprocessing.parent_process),
  and on Linux ``prctl(PR_SET_PDEATHSIG)`` too, which holds even when the worker's threads
  are stuck (https://man7.org/linux/man-pages/man2/prctl.2.html);
- tags its run with the run's process (host, boot, pid and start time), and reports failed
  every STARTED run of this host whose tagged process is gone (``reap_dead_runs``, by the
  process that tags a run, once per run). A run killed before its first such step has no tag
  and is left alone: nothing says which process it was.

The watchdog kills rather than interrupts: a worker whose parent is gone has nobody to
report its events to, and the store's atomic commit keeps the partition's previous file
(the next write of the stream removes the killed write's temporary file).
"""

import contextlib
import ctypes
import functools
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import dagster as dg

RUN_HOST_TAG = "outreach/run_host"  # host name and boot: a pid means nothing elsewhere
RUN_PROCESS_TAG = "outreach/run_process"  # "<pid>:<start time>" of the run's process
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Statuses in which a run's process is expected to be alive and ending it.
LIVE_STATUSES = (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING)

_guarded: set[str] = set()  # run ids this process has tagged and reaped for
_watch_armed = threading.Event()  # set once this step worker's watchdog runs


@functools.cache
def this_host() -> str:
    """This machine, since its last boot (after a reboot every recorded pid is stale)."""
    boot = ""
    with contextlib.suppress(OSError):
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return f"{socket.gethostname()}/{boot}" if boot else socket.gethostname()


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), telling a pid's process
    from a later one that reuses the number; "" where unknown (no such process, no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]  # field 22, counted after the command


def process_alive(recorded: str) -> bool:
    """Whether the process a ``RUN_PROCESS_TAG`` value names still runs."""
    pid_text, _, start = recorded.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return True  # not ours to judge
    if Path("/proc").is_dir():
        return bool(start) and process_start(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def in_step_worker(context: dg.AssetExecutionContext) -> bool:
    """Whether this step runs in a worker process of the multiprocess executor, rather than
    in the run's process (the in-process executor; the run worker ``dagster dev`` launches
    is itself a ``multiprocessing`` child of the code server, and must outlive it)."""
    executor = context.job_def.executor_def
    return (
        multiprocessing.parent_process() is not None
        and executor.name != dg.in_process_executor.name
    )


def _die_with(parent: multiprocessing.process.BaseProcess) -> None:
    """SIGKILL this process as soon as ``parent`` has exited."""
    multiprocessing.connection.wait([parent.sentinel])
    os.kill(os.getpid(), signal.SIGKILL)


def arm_watchdog() -> None:
    """Make this step worker die with its parent, once per process."""
    parent = multiprocessing.parent_process()
    if parent is None or _watch_armed.is_set():
        return
    _watch_armed.set()
    if sys.platform.startswith("linux") and parent.pid == os.getppid():
        # Only when the parent forked this process itself (not a forkserver's child).
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    threading.Thread(target=_die_with, args=(parent,), name="parent-watchdog", daemon=True).start()
    if not parent.is_alive():  # it died before the watch began
        os.kill(os.getpid(), signal.SIGKILL)


def reap_dead_runs(
    instance: dg.DagsterInstance, noted_by: str, log: Callable[[str], None] | None = None
) -> list[str]:
    """Report failed (or canceled, if a stop was asked) every live run of this host whose
    tagged process is gone; return their ids. ``noted_by`` says who found them."""
    host = this_host()
    filters = dg.RunsFilter(statuses=list(LIVE_STATUSES), tags={RUN_HOST_TAG: host})
    reaped = []
    for run in instance.get_runs(filters=filters):
        recorded = run.tags.get(RUN_PROCESS_TAG, "")
        if not recorded or process_alive(recorded):
            continue
        pid = recorded.partition(":")[0]
        message = (
            f"The run's process (pid {pid} on {socket.gethostname()}) is gone without ending "
            f"the run: it was killed (SIGKILL, out of memory) or its machine stopped; any step "
            f"workers stopped with it. Found by {noted_by}."
        )
        if run.status == dg.DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message=message)
        else:
            instance.report_run_failed(run, message=message)
        reaped.append(run.run_id)
        if log:
            log(f"Ended run {run.run_id}, left {run.status.value}: {message}")
    return reaped


def guard_step(context: dg.AssetExecutionContext) -> None:
    """At the start of a step's Outreach work: arm the watchdog in a step worker; at the
    run's first such step, tag the run with its process and reap the runs dead processes
    left."""
    worker = in_step_worker(context)
    if worker:
        arm_watchdog()
    if context.run.run_id in _guarded:
        return
    _guarded.add(context.run.run_id)
    parent = multiprocessing.parent_process() if worker else None
    pid = parent.pid if parent is not None and parent.pid else os.getpid()
    tags = {RUN_HOST_TAG: this_host(), RUN_PROCESS_TAG: f"{pid}:{process_start(pid)}"}
    if any(context.run.tags.get(k) != v for k, v in tags.items()):  # the run's first step
        context.instance.add_run_tags(context.run.run_id, tags)
        reap_dead_runs(context.instance, f"run {context.run.run_id}", context.log.warning)
