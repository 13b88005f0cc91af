"""Memory of the S3 upload path: one big partition written to an S3 server, peak RSS.

``moto_server`` (S3-compatible, ``outreach_assets_tests/support/s3.py``) runs on 127.0.0.1
in a process of its own, so the objects it holds are not counted. A second process writes
one daily partition of ``mailings`` (``--records`` rows, default 250,000, each with
``--body-bytes`` of incompressible HTML body, default 2,000: a few hundred MB of Parquet)
through ``ParquetStore.write_partitions`` to ``s3://bucket/data``, exactly as a sync
does, and reports its peak RSS (``VmHWM``). Then it uploads the same file again alone,
once with the store's commit (``AtomicFiles.commit``: 8 MiB parts, two at a time) and
once with s3fs's default ``put_file`` (50 MiB parts, ten at a time), each time from a
reset peak (``/proc/self/clear_refs``, https://docs.kernel.org/admin-guide/mm/soft-dirty.html
and ``man 5 proc``), so each upload's own rise above the RSS it started from shows.
Targets: the whole write under 400 MB peak RSS; the commit's rise under 64 MiB, whatever
the file's size.

    .venv/bin/python -m benchmarks.s3_upload [--records 250000] [--body-bytes 2000]
    .venv/bin/python -m benchmarks.s3_upload --write-results   # also into RESULTS.md
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from benchmarks.processes import ROOT
from benchmarks.suite import machine

RUN_RSS_TARGET_MB = 400.0
UPLOAD_RISE_TARGET_MB = 64.0
BATCH_ROWS = 1_000  # a page of the API
DAY = datetime(2026, 10, 1, tzinfo=UTC)
BEGIN, END = "<!-- s3-upload:begin -->", "<!-- s3-upload:end -->"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def _status(field: str) -> float:
    """A ``/proc/self/status`` figure (kB) in MB."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(f"{field}:"))
    return int(line.split()[1]) / 1024


def _reset_peak() -> None:
    """Reset VmHWM to the current RSS ("5" in clear_refs, Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _batches(schema: pa.Schema, records: int, body_bytes: int) -> Iterator[pa.RecordBatch]:
    """Pages of ``mailings``: ids, cursors inside the day, a random hex HTML body, and
    null elsewhere; the body does not compress, so the file is about its raw size."""
    rng = np.random.default_rng(0)
    for first in range(0, records, BATCH_ROWS):
        rows = min(BATCH_ROWS, records - first)
        ids = np.arange(first + 1, first + rows + 1, dtype=np.int64)
        hexed = rng.bytes(rows * body_bytes // 2).hex()
        columns: dict[str, pa.Array] = {
            "id": pa.array(ids),
            "updatedAt": pa.array(
                [DAY + timedelta(seconds=int(i) % 86_400) for i in ids],
                schema.field("updatedAt").type,
            ),
            "_extracted_at": pa.array([DAY + timedelta(days=1)] * rows,
                                      schema.field("_extracted_at").type),
            "bodyHtml": pa.array([hexed[i * body_bytes : (i + 1) * body_bytes]
                                  for i in range(rows)]),
        }  # fmt: skip
        arrays = [
            columns[f.name].cast(f.type) if f.name in columns else pa.nulls(rows, f.type)
            for f in schema
        ]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def child(base: str, records: int, body_bytes: int) -> dict[str, Any]:
    """The measured process: the sync's write, then the two uploads of the same file."""
    import fsspec

    from outreach_assets.catalog import get_stream
    from outreach_assets.convert import arrow_schema
    from outreach_assets.storage import ParquetStore, PartitionWindow
    from outreach_assets.storage.atomic import AtomicFiles
    from outreach_assets.storage.objects import filesystem_options

    schema = arrow_schema(get_stream("mailings"))
    store = ParquetStore(base)
    window = PartitionWindow(DAY.date().isoformat(), DAY, DAY + timedelta(days=1))
    imported_mb = _status("VmRSS")
    started = time.monotonic()
    pairs = ((window.key, b) for b in _batches(schema, records, body_bytes))
    (result,) = store.write_partitions("mailings", schema, "updatedAt", [window], pairs)
    out: dict[str, Any] = {
        "records": result.rows,
        "write_s": time.monotonic() - started,
        "run_peak_mb": _status("VmHWM"),
        "imported_mb": imported_mb,
    }
    fs, root = fsspec.core.url_to_fs(base, **filesystem_options(base, None))
    remote = f"{root}/mailings/{window.key}.parquet"
    out["file_mb"] = fs.size(remote) / 2**20
    with tempfile.TemporaryDirectory() as tmp:
        staged = os.path.join(tmp, "staged.parquet")
        fs.get_file(remote, staged)
        uploads = {
            "commit": lambda path: AtomicFiles(fs).commit(path, f"{root}/copy/commit.parquet"),
            "s3fs_default": lambda path: fs.put_file(path, f"{root}/copy/default.parquet"),
        }
        for label, upload in uploads.items():
            copy = os.path.join(tmp, f"{label}.parquet")
            shutil.copyfile(staged, copy)
            before = _status("VmRSS")
            _reset_peak()
            started = time.monotonic()
            upload(copy)
            out[f"{label}_s"] = time.monotonic() - started
            out[f"{label}_rise_mb"] = _status("VmHWM") - before
    return out


def run(records: int, body_bytes: int) -> dict[str, Any]:
    """Start the S3 server, make a bucket, run :func:`child` in a process of its own."""
    from outreach_assets_tests.support.s3 import start_s3_server

    server = start_s3_server()
    try:
        bucket = server.new_bucket()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env |= server.environment()
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.s3_upload", "--child", f"s3://{bucket}/data",
             "--records", str(records), "--body-bytes", str(body_bytes)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-4000:])
        figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        figures["objects"] = server.keys(bucket)
        figures["pending_uploads"] = len(server.uploads(bucket))
        return figures
    finally:
        server.stop()


def report(f: dict[str, Any], argv: Sequence[str]) -> tuple[str, bool]:
    run_ok = f["run_peak_mb"] < RUN_RSS_TARGET_MB
    rise_ok = f["commit_rise_mb"] < UPLOAD_RISE_TARGET_MB
    clean = f["pending_uploads"] == 0
    command = " ".join(["python -m benchmarks.s3_upload", *argv])
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command}`"
        f", moto {_moto_version()} on 127.0.0.1. Machine: {machine()}.",
        "",
        "| upload | file MB | seconds | RSS rise MB |",
        "|---|---|---|---|",
        f"| the store's commit (8 MiB parts, 2 at a time) | {f['file_mb']:.0f} "
        f"| {f['commit_s']:.1f} | {f['commit_rise_mb']:.0f} |",
        f"| s3fs's default `put_file` (50 MiB parts, 10 at a time) | {f['file_mb']:.0f} "
        f"| {f['s3fs_default_s']:.1f} | {f['s3fs_default_rise_mb']:.0f} |",
        "",
        f"The whole write of {f['records']:,} `mailings` records ({f['file_mb']:.0f} MB of "
        f"Parquet) took {f['write_s']:.1f} s, from {f['imported_mb']:.0f} MB of RSS once "
        f"the project was imported; no incomplete upload left: "
        f"{'yes' if clean else 'NO'}.",
        "",
        "Targets:",
        "",
        f"- peak RSS of the whole write {f['run_peak_mb']:.0f} MB (target < "
        f"{RUN_RSS_TARGET_MB:.0f}): {'MET' if run_ok else 'NOT MET'}",
        f"- the commit's RSS rise {f['commit_rise_mb']:.0f} MB (target < "
        f"{UPLOAD_RISE_TARGET_MB:.0f}, whatever the file size): {'MET' if rise_ok else 'NOT MET'}",
    ]
    return "\n".join(lines), run_ok and rise_ok and clean


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def write_results(text: str) -> None:
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in current:
        head, rest = current.split(BEGIN, 1)
        current = head + block + rest.split(END, 1)[1]
    else:
        heading = "## S3 upload memory (`s3_upload.py`)"
        current = current.rstrip() + f"\n\n{heading}\n\n" + block + "\n"
    RESULTS.write_text(current)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=250_000)
    parser.add_argument("--body-bytes", type=int, default=2_000)
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--child", metavar="BASE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.records, args.body_bytes)))
        return 0
    figures = run(args.records, args.body_bytes)
    text, met = report(figures, sys.argv[1:] if argv is None else list(argv))
    print(text)
    if args.write_results:
        write_results(text)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
