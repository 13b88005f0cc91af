"""Records/s of the reference converter (``convert.to_record_batch``) on realistic pages.

Prospects (the default) are the widest stream: every attribute present as Outreach sends
it, all 150 custom fields, eight to-one relationships plus to-many and links-only ones, and
the ``contactHistogram`` Outreach still includes. They bound the cost of every other
stream. JSON parsing is not part of the figure (the client hands over parsed pages); its
rate is printed next to it for scale.

Run from the repository root::

    .venv/bin/python -m benchmarks.records_throughput                  # 150 custom fields set
    .venv/bin/python -m benchmarks.records_throughput --custom-fill 0.25
    .venv/bin/python -m benchmarks.records_throughput --stream events
"""

import argparse
import gc
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from outreach_assets.catalog import FieldType, Stream, get_stream
from outreach_assets.convert import to_record_batch

_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "sales",
    "director", "vp", "engineering", "operations", "marketing", "enterprise", "mid-market",
    "renewal", "q3", "champion", "evaluation", "pilot",
)  # fmt: skip
_FIRST = ("Sally", "Omar", "Mei", "John", "Priya", "Lars", "Ana", "Kwame", "Ines", "Tom")
_LAST = ("Ride", "Haddad", "Chen", "Smith", "Patel", "Berg", "Souza", "Mensah", "Roy", "Kay")
_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


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


def _resource(stream: Stream, rnd: random.Random, rid: int, custom_fill: float) -> dict[str, Any]:
    attributes = {f.name: _value(rnd, f.name, f.type, custom_fill) for f in stream.fields}
    if "firstName" in attributes:
        attributes["firstName"], attributes["lastName"] = rnd.choice(_FIRST), rnd.choice(_LAST)
        attributes["name"] = f"{attributes['firstName']} {attributes['lastName']}"
    api = "https://api.outreach.io/api/v2"
    relationships: dict[str, Any] = {
        r.name: {"data": {"type": r.target, "id": rnd.randrange(1, 10**6)}}
        if rnd.random() < 0.7
        else {"data": None}
        for r in stream.relationships
    }
    filter_key = f"filter%5B{stream.json_type}%5D%5Bid%5D={rid}"
    relationships["favorites"] = {
        "data": [{"type": "favorite", "id": rid * 3}],
        "links": {"related": f"{api}/favorites?{filter_key}"},
        "meta": {"count": 1},
    }
    for name in ("calls", "mailings", "tasks"):
        relationships[name] = {"links": {"related": f"{api}/{name}?{filter_key}"}}
    return {
        "type": stream.json_type,
        "id": rid,
        "attributes": attributes,
        "relationships": relationships,
        "links": {"self": f"{api}/{stream.path}/{rid}"},
    }


def _pages(stream: Stream, count: int, size: int, custom_fill: float) -> list[str]:
    """Page bodies as JSON text, so every timed round converts freshly parsed objects."""
    rnd = random.Random(42)
    return [
        json.dumps(
            {"data": [_resource(stream, rnd, p * size + i + 1, custom_fill) for i in range(size)]}
        )
        for p in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", default="prospects")
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--custom-fill", type=float, default=1.0, help="share of custom fields set")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep dropped-by-default attributes")
    args = parser.parse_args()

    stream = get_stream(args.stream)
    keep = frozenset(stream.dropped_by_default) if args.keep else frozenset()
    bodies = _pages(stream, args.pages, args.page_size, args.custom_fill)
    records = args.pages * args.page_size
    convert_rates, parse_rates = [], []
    for _ in range(args.repeat + 1):  # the first round warms pyarrow up and is not counted
        start = time.process_time()
        pages = [json.loads(body)["data"] for body in bodies]
        parse_rates.append(records / (time.process_time() - start))
        now = datetime.now(UTC)
        # Collect now, or a full collection of the objects json.loads just made would land in
        # (and be charged to) the conversion; in a sync it is paid while parsing.
        gc.collect()
        # CPU time of this process: the figure for one core, whatever else the machine runs.
        start = time.process_time()
        for page in pages:
            to_record_batch(stream, page, now, keep=keep)
        convert_rates.append(records / (time.process_time() - start))
    convert_rates, parse_rates = convert_rates[1:], parse_rates[1:]
    print(
        f"{stream.name}: {records} records in pages of {args.page_size}, custom fields "
        f"{args.custom_fill:.0%} filled, dropped-by-default attributes "
        f"{'kept' if keep else 'dropped'}\n"
        f"  to_record_batch: best {max(convert_rates):,.0f} records/s, "
        f"median {statistics.median(convert_rates):,.0f} records/s (CPU time, one core)\n"
        f"  json.loads of the same pages, for scale: median "
        f"{statistics.median(parse_rates):,.0f} records/s"
    )


if __name__ == "__main__":
    main()
