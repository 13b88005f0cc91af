"""The CPU floor of scenario (a): JSON parsers on the sandbox's prospects, and Parquet writing.

Scenario (a) of ``benchmarks/README.md`` (one big ``prospects`` partition) publishes its
records per CPU second without a target; read them against this ceiling. This script
measures the two costs no connector can skip, on real sandbox pages of 1,000 prospects
fetched over HTTP: turning the JSON into columns, and writing them to Parquet. The best
parser plus the Parquet write bounds the records per CPU second any implementation can
reach on this machine, before HTTP, routing, checks and Dagster. The sandbox's prospects
carry the ids of their to-many relationships, as Outreach sends them; the report says how
many per record, and a page the fast path refuses stops the run rather than being timed as
a fast one.

Parsers not in the project's dependencies are measured when importable and skipped
otherwise; to include them, install them into a separate venv next to the project, e.g.::

    python3 -m venv /tmp/ceiling && /tmp/ceiling/bin/pip install -e . arro3-io msgspec orjson polars
    /tmp/ceiling/bin/python -m benchmarks.parse_ceiling

    .venv/bin/python -m benchmarks.parse_ceiling            # the project's own parsers only

Times are CPU seconds of this process (``time.process_time``; the sandbox runs in its own
process), the median of ``--rounds`` rounds that take every candidate in turn, so that the
VM's drift hits all of them alike.
"""

import argparse
import importlib
import io
import json
import signal
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq

from benchmarks.sandbox_serving import authorized_session, start_server
from outreach_assets.catalog import get_stream
from outreach_assets.convert import ArrowPageDecoder, ConvertedPage
from outreach_assets.convert.fast import page_read_schema
from outreach_assets.storage import COMPRESSION

WRITE = f"Parquet write ({COMPRESSION}, one row group)"
Candidate = Callable[[bytes], Any]


def fetch_bodies(pages: int, page_size: int) -> list[bytes]:
    """``pages`` raw bodies of prospects, as the client receives them."""
    proc, base_url = start_server("prospects", pages * page_size)
    try:
        session = authorized_session(base_url)
        url: str | None = (
            f"{base_url}/api/v2/prospects?page%5Bsize%5D={page_size}&count=false&sort=updatedAt"
        )
        bodies: list[bytes] = []
        while url is not None and len(bodies) < pages:
            response = session.get(url, timeout=300)
            response.raise_for_status()
            bodies.append(response.content)
            url = response.json()["links"].get("next")
        return bodies
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def parsers(schema: pa.Schema) -> dict[str, Candidate]:
    """Every JSON reader to compare, each producing the page's values (columns if it can)."""
    decoder = ArrowPageDecoder(get_stream("prospects"), datetime.now(UTC))

    def pyarrow_json(body: bytes) -> pa.Table:
        options = pj.ReadOptions(block_size=len(body) + 1, use_threads=False)
        return pj.read_json(
            io.BytesIO(body),
            read_options=options,
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="infer"
            ),
        )

    def fast_path(body: bytes) -> ConvertedPage:
        # A refused page returns early and would be timed as a fast one.
        page = decoder.decode(body)
        if page is None:
            raise RuntimeError(f"the fast path refused a page: {decoder.stats.last_refusal}")
        return page.value

    found: dict[str, Candidate] = {
        "json.loads (to Python objects)": json.loads,
        "pyarrow.json into the catalog schema (the fast path's read)": pyarrow_json,
        "the project's whole fast path (ArrowPageDecoder.decode)": fast_path,
    }
    optional: dict[str, Callable[[Any], Candidate]] = {
        "orjson": lambda m: m.loads,
        "msgspec": lambda m: m.json.decode,
        "arro3.io": lambda m: (
            lambda b: pa.table(m.read_json(io.BytesIO(b), schema, batch_size=1 << 20))
        ),
        "polars": lambda m: lambda b: m.read_json(io.BytesIO(b)),
    }
    labels = {
        "orjson": "orjson.loads (to Python objects)",
        "msgspec": "msgspec.json.decode (to Python objects)",
        "arro3.io": "arro3.io.read_json (arrow-rs) into the catalog schema",
        "polars": "polars.read_json (inferred)",
    }
    for module, make in optional.items():
        try:
            found[labels[module]] = make(importlib.import_module(module))
        except ImportError:
            print(f"({module} not installed: skipped)")
    return found


def parquet_writer(bodies: list[bytes]) -> Candidate:
    """Writing the decoded pages to Parquet as the storage does (its codec, all pages in
    one row group, as the storage buffers them); ``measure`` divides by the pages."""
    decoder = ArrowPageDecoder(get_stream("prospects"), datetime.now(UTC))
    decoded = [decoder.decode(body) for body in bodies]
    table = pa.Table.from_batches([page.value.batch for page in decoded if page is not None])
    if table.num_rows == 0:
        raise RuntimeError("the fast path refused the sandbox's pages; nothing to write")
    return lambda _: pq.write_table(table, io.BytesIO(), compression=COMPRESSION)


def measure(candidates: dict[str, Candidate], bodies: list[bytes], rounds: int) -> dict[str, float]:
    """Median CPU seconds per page of each candidate, rounds interleaved."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for r in range(rounds):
        body = bodies[r % len(bodies)]
        for name, run in candidates.items():
            started = time.process_time()
            run(body)
            spent = time.process_time() - started
            times[name].append(spent / (len(bodies) if name == WRITE else 1))
    return {name: statistics.median(spent) for name, spent in times.items()}


def to_many_ids_per_record(bodies: list[bytes]) -> float:
    """How many to-many ids the sandbox's prospects carry, which the read pays for."""
    stream = get_stream("prospects")
    page = ArrowPageDecoder(stream, datetime.now(UTC)).decode(bodies[0])
    if page is None or not page.records:
        return 0.0
    batch = page.value.batch
    ids = sum(
        pc.sum(pc.list_value_length(batch.column(r.column))).as_py() or 0 for r in stream.to_many
    )
    return ids / page.records


def report(medians: dict[str, float], bodies: list[bytes], records: int) -> None:
    size = sum(map(len, bodies)) / len(bodies)
    print(
        f"\n{records:,} prospects per page, {size / records / 1e3:.1f} KB of JSON and "
        f"{to_many_ids_per_record(bodies):.1f} to-many ids each\n"
    )
    print("| step | CPU ms per page | MB of JSON per CPU s | records per CPU s |")
    print("|---|---|---|---|")
    for name, seconds in medians.items():
        rate = records / seconds
        print(f"| {name} | {seconds * 1e3:.1f} | {size / seconds / 1e6:.0f} | {rate:,.0f} |")
    write = medians.pop(WRITE)
    columnar = {n: s for n, s in medians.items() if "into" in n or "fast path" in n}
    best_name, best = min(columnar.items(), key=lambda item: item[1])
    ceiling = records / (best + write)
    print(
        f"\nFloor: the fastest reader to columns ({best_name}, {best / records * 1e6:.0f} us) "
        f"plus the Parquet write ({write / records * 1e6:.0f} us) is "
        f"{(best + write) / records * 1e6:.0f} us per record: at most {ceiling:,.0f} records "
        f"per CPU second before HTTP, routing, checks and Dagster, on this machine."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    bodies = fetch_bodies(args.pages, args.page_size)
    candidates = parsers(page_read_schema(get_stream("prospects")))
    candidates[WRITE] = parquet_writer(bodies)
    report(measure(candidates, bodies, args.rounds), bodies, args.page_size)


if __name__ == "__main__":
    main()
