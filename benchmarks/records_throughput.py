"""Records per CPU second of the converters on realistic pages, and what to-many ids cost.

Prospects (the default) are the widest stream: every attribute present as Outreach sends
it, all 150 custom fields, the to-one relationships, the eight to-many ones with 0 to 5 ids
each, the links-only ones, and the ``contactHistogram`` Outreach still includes. They bound
the cost of every other stream.

* ``--decoder reference`` (the default): ``convert.to_record_batch`` of parsed pages. JSON
  parsing is not part of the figure (the client hands over parsed pages); its rate is
  printed next to it for scale.
* ``--decoder fast``: ``ArrowPageDecoder.decode`` of the page bodies, parsing included.
* ``--to-many-cost``: the fast decoder on the same pages in three shapes, rounds
  interleaved so that the machine's drift hits all of them alike: to-many relationships
  with their ids (``data``, ``links``, ``meta``, as Outreach sends them), with ``links``
  only, and absent. The attributes are identical in all three.

Run from the repository root::

    .venv/bin/python -m benchmarks.records_throughput                  # 150 custom fields set
    .venv/bin/python -m benchmarks.records_throughput --custom-fill 0.25
    .venv/bin/python -m benchmarks.records_throughput --stream events
    .venv/bin/python -m benchmarks.records_throughput --decoder fast --to-many links
    .venv/bin/python -m benchmarks.records_throughput --to-many-cost --pages 5 --repeat 7

Figures are CPU seconds of this process (``time.process_time``: one core, whatever else
the machine runs), the median of ``--repeat`` rounds after one warm-up round.
"""

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from outreach_assets.catalog import FieldType, Stream, get_stream
from outreach_assets.convert import ArrowPageDecoder, to_record_batch

_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "sales",
    "director", "vp", "engineering", "operations", "marketing", "enterprise", "mid-market",
    "renewal", "q3", "champion", "evaluation", "pilot",
)  # fmt: skip
_FIRST = ("Sally", "Omar", "Mei", "John", "Priya", "Lars", "Ana", "Kwame", "Ines", "Tom")
_LAST = ("Ride", "Haddad", "Chen", "Smith", "Patel", "Berg", "Souza", "Mensah", "Roy", "Kay")
_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
_API: Final = "https://api.outreach.io/api/v2"
# How each to-many relationship is sent: with its ids, as links only, or not at all.
TO_MANY_SHAPES: Final = ("ids", "links", "absent")


def _text(rnd: random.Random, words: int) -> str:
    return " ".join(rnd.choice(_WORDS) for _ in range(words))


def _timestamp(rnd: random.Random) -> str:
    moment = _EPOCH + timedelta(seconds=rnd.randrange(3 * 365 * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _value(rnd: random.Random, name: str, kind: FieldType, custom_fill: float) -> Any:
    """A plausible value; 40% of optional attributes are null or empty, as in a real CRM."""
    if name.startswith("custom"):
        return _text(rnd, rnd.randint(1, 4)) if rnd.random() < custom_fill else None
    always = name in {"createdAt", "updatedAt", "addedAt", "name", "firstName", "lastName"}
    if not always and rnd.random() < 0.4:
        return [] if kind in (FieldType.STRING_LIST, FieldType.INT_LIST_LIST) else None
    if kind is FieldType.STRING:
        return _text(rnd, rnd.randint(1, 5))
    if kind is FieldType.INTEGER:
        return rnd.randrange(500)
    if kind is FieldType.NUMBER:
        return round(rnd.random() * 100, 2)
    if kind is FieldType.BOOLEAN:
        return rnd.random() < 0.1
    if kind is FieldType.TIMESTAMP:
        return _timestamp(rnd)
    if kind is FieldType.DATE:
        return _timestamp(rnd)[:10]
    if kind is FieldType.STRING_LIST:
        return [f"{rnd.choice(_FIRST).lower()}{rnd.randrange(99)}@example.com"] * rnd.randint(1, 2)
    if kind is FieldType.INT_LIST_LIST:
        return [[rnd.randrange(4), rnd.randrange(9)] for _ in range(12)]
    return {"source": _text(rnd, 1)}


def _relationships(
    stream: Stream, rnd: random.Random, ids: random.Random, rid: int, to_many: str
) -> dict[str, Any]:
    """To-one ids (70% set), to-many ones in the ``to_many`` shape, links-only ones."""
    out: dict[str, Any] = {
        r.name: {"data": {"type": r.target, "id": rnd.randrange(1, 10**6)}}
        if rnd.random() < 0.7
        else {"data": None}
        for r in stream.relationships
    }
    related = f"filter%5B{stream.json_type}%5D%5Bid%5D={rid}"
    for r in stream.to_many:
        links = {"related": f"{_API}/{r.target}s?{related}"}
        if to_many == "ids":
            data = [
                {"type": r.target, "id": ids.randrange(1, 10**6)} for _ in range(ids.randint(0, 5))
            ]
            out[r.name] = {"data": data, "links": links, "meta": {"count": len(data)}}
        elif to_many == "links":
            out[r.name] = {"links": links}
    for name in stream.links_only:
        out[name] = {"links": {"related": f"{_API}/{name}?{related}"}}
    return out


def _resource(
    stream: Stream,
    rnd: random.Random,
    ids: random.Random,
    rid: int,
    *,
    custom_fill: float,
    to_many: str,
) -> dict[str, Any]:
    attributes = {f.name: _value(rnd, f.name, f.type, custom_fill) for f in stream.fields}
    if "firstName" in attributes:
        attributes["firstName"], attributes["lastName"] = rnd.choice(_FIRST), rnd.choice(_LAST)
        attributes["name"] = f"{attributes['firstName']} {attributes['lastName']}"
    return {
        "type": stream.json_type,
        "id": rid,
        "attributes": attributes,
        "relationships": _relationships(stream, rnd, ids, rid, to_many),
        "links": {"self": f"{_API}/{stream.path}/{rid}"},
    }


def pages(stream: Stream, count: int, size: int, custom_fill: float, to_many: str) -> list[str]:
    """Page bodies as compact JSON text, as Outreach sends them, so every timed round
    converts freshly parsed objects. The same arguments give the same attributes whatever
    ``to_many`` is (its ids have their own random stream)."""
    rnd, ids = random.Random(42), random.Random(7)
    return [
        json.dumps(
            {
                "data": [
                    _resource(
                        stream, rnd, ids, p * size + i + 1, custom_fill=custom_fill, to_many=to_many
                    )
                    for i in range(size)
                ]
            },
            separators=(",", ":"),
        )
        for p in range(count)
    ]


def _rate(records: int, run: Callable[[], object]) -> float:
    """Records per CPU second of one call of ``run``."""
    start = time.process_time()
    run()
    return records / (time.process_time() - start)


def _decode_all(decoder: ArrowPageDecoder, bodies: list[bytes]) -> Callable[[], object]:
    """Decoding every body; a refused page stops the run (it would be timed as a fast one)."""

    def run() -> None:
        for body in bodies:
            if decoder.decode(body) is None:
                sys.exit(f"the fast path refused a page: {decoder.stats.last_refusal}")

    return run


def reference_rates(
    stream: Stream, texts: list[str], records: int, repeat: int, keep: frozenset[str]
) -> tuple[list[float], list[float]]:
    """(to_record_batch rates, json.loads rates), the warm-up round left out."""
    convert_rates, parse_rates = [], []
    for _ in range(repeat + 1):  # the first round warms pyarrow up and is not counted
        start = time.process_time()
        parsed = [json.loads(text)["data"] for text in texts]
        parse_rates.append(records / (time.process_time() - start))
        now = datetime.now(UTC)
        # Collect now, or a full collection of the objects json.loads just made would land in
        # (and be charged to) the conversion; in a sync it is paid while parsing.
        gc.collect()
        start = time.process_time()
        for page in parsed:
            to_record_batch(stream, page, now, keep=keep)
        convert_rates.append(records / (time.process_time() - start))
    return convert_rates[1:], parse_rates[1:]


def to_many_cost(stream: Stream, args: argparse.Namespace, keep: frozenset[str]) -> None:
    """The fast decoder on the pages in every to-many shape, rounds interleaved."""
    records = args.pages * args.page_size
    bodies = {
        shape: [
            t.encode() for t in pages(stream, args.pages, args.page_size, args.custom_fill, shape)
        ]
        for shape in TO_MANY_SHAPES
    }
    rates: dict[str, list[float]] = {shape: [] for shape in TO_MANY_SHAPES}
    for round_ in range(args.repeat + 1):  # the first round warms pyarrow up
        for shape in TO_MANY_SHAPES:
            rate = _rate(
                records, _decode_all(ArrowPageDecoder(stream, _EPOCH, keep), bodies[shape])
            )
            if round_:
                rates[shape].append(rate)
    medians = {shape: statistics.median(rates[shape]) for shape in TO_MANY_SHAPES}
    print(
        f"{stream.name}: ArrowPageDecoder.decode, {records} records in pages of "
        f"{args.page_size}, {len(stream.to_many)} to-many relationships, median of "
        f"{args.repeat} interleaved rounds (CPU time, one core)\n"
        "| to-many relationships | KB of JSON per record | records per CPU s | vs links only |\n"
        "|---|---|---|---|"
    )
    for shape in TO_MANY_SHAPES:
        size = sum(map(len, bodies[shape])) / records / 1e3
        ratio = medians[shape] / medians["links"]
        print(f"| {shape} | {size:.2f} | {medians[shape]:,.0f} | {ratio:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", default="prospects")
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--custom-fill", type=float, default=1.0, help="share of custom fields set")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep dropped-by-default attributes")
    parser.add_argument("--decoder", choices=("reference", "fast"), default="reference")
    parser.add_argument("--to-many", choices=TO_MANY_SHAPES, default="ids")
    parser.add_argument(
        "--to-many-cost", action="store_true", help="fast decoder, every to-many shape"
    )
    args = parser.parse_args()

    stream = get_stream(args.stream)
    keep = frozenset(stream.dropped_by_default) if args.keep else frozenset()
    if args.to_many_cost:
        to_many_cost(stream, args, keep)
        return
    texts = pages(stream, args.pages, args.page_size, args.custom_fill, args.to_many)
    records = args.pages * args.page_size
    print(
        f"{stream.name}: {records} records in pages of {args.page_size}, custom fields "
        f"{args.custom_fill:.0%} filled, to-many relationships {args.to_many}, "
        f"dropped-by-default attributes {'kept' if keep else 'dropped'}"
    )
    if args.decoder == "fast":
        bodies = [text.encode() for text in texts]
        run = _decode_all(ArrowPageDecoder(stream, _EPOCH, keep), bodies)
        fast_rates = [_rate(records, run) for _ in range(args.repeat + 1)][1:]
        print(
            f"  ArrowPageDecoder.decode: best {max(fast_rates):,.0f} records/s, median "
            f"{statistics.median(fast_rates):,.0f} records/s (CPU time, one core)"
        )
        return
    convert_rates, parse_rates = reference_rates(stream, texts, records, args.repeat, keep)
    print(
        f"  to_record_batch: best {max(convert_rates):,.0f} records/s, "
        f"median {statistics.median(convert_rates):,.0f} records/s (CPU time, one core)\n"
        f"  json.loads of the same pages, for scale: median "
        f"{statistics.median(parse_rates):,.0f} records/s"
    )


if __name__ == "__main__":
    main()
