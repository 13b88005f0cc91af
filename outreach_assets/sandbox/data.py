"""Deterministic record store: compact per-record state plus a few dozen attribute variants.

A million prospects must fit without a million dicts, so a record is only its id (its
position), its cursor and companion timestamps (``array('q')``), a revision counter and a
packed sorted index of (cursor, id) keys. Everything else is derived: the attribute body
comes from one of ``VARIANTS`` seeded variants chosen by hashing (id, revision), and the
relationship ids from cheap integer arithmetic on the id (``relations.py``). Same seed,
sizes, date range, ``wrong_type_variants`` and ``unknown_relationships`` give the same
records. A deleted record keeps its slot (``tombstones.py``), so ids are never reused.
"""

import random
import threading
from array import array
from bisect import bisect_left, insort
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from outreach_assets.catalog import FieldType, Stream
from outreach_assets.jsontext import compact
from outreach_assets.sandbox.config import VARIANTS, SandboxConfig
from outreach_assets.sandbox.isotime import MAX_ID, format_ms, pack_key, parse_ms
from outreach_assets.sandbox.relations import (
    M32,
    MIX,
    RelationPlanner,
    RelationshipTruth,
    RelSpec,
)
from outreach_assets.sandbox.tombstones import Tombstones, spread
from outreach_assets.sandbox.values import field_value

# One attribute the catalog does not know, on every record, so the client's "unknown
# attributes are kept" path is exercised.
EXTRA_ATTRIBUTE = "sandboxNote"
# Outreach sends some relationship ids as attributes too (a prospect's `updaterId` repeats
# its `updater` relationship): json_type -> relationship echoed as `<rel>Id`.
ECHOED_RELATIONSHIPS = {"prospect": "updater"}

_MIX2 = 0x85EBCA77
_BACKDATED_SHARE = 0.15
_BACKDATE_MAX_MS = 30 * 86_400_000


@dataclass(frozen=True)
class Variant:
    """One pre-built attribute body shared by every record that hashes to it."""

    values: dict[str, Any]  # attribute -> JSON value (spliced attributes excluded)
    comparable: dict[str, Any]  # same, timestamps as ms, drifted ones as numbers: for filters
    json_fragment: str  # `"a":1,"b":"x"` without braces


def _companion(stream: Stream, types: dict[str, FieldType]) -> tuple[str | None, str]:
    """Pick the second stored timestamp and how it relates to the cursor.

    Modes: "before" (createdAt <= updatedAt cursor), "after" (updatedAt >= createdAt
    cursor), "backdated" (eventAt usually == createdAt cursor, sometimes much earlier),
    "delayed" (createdAt usually == eventAt cursor, sometimes much later).
    """
    cursor = stream.cursor
    has = {n for n, t in types.items() if t is FieldType.TIMESTAMP}
    if cursor is None:
        return None, ""
    if cursor == "createdAt":
        if "eventAt" in has:
            return "eventAt", "backdated"
        return ("updatedAt", "after") if "updatedAt" in has else (None, "")
    if cursor == "eventAt" and "createdAt" in has:
        return "createdAt", "delayed"
    return ("createdAt", "before") if "createdAt" in has else (None, "")


class StreamData:
    """All records of one stream; guard every read that spans records with ``lock``."""

    def __init__(
        self,
        stream: Stream,
        size: int,
        *,
        seed: int,
        start_ms: int,
        end_ms: int,
        planner: RelationPlanner,
        wrong_type_variants: int = 0,
    ) -> None:
        if size > MAX_ID:
            raise ValueError(f"at most {MAX_ID} records per stream")
        self.stream = stream
        self.lock = threading.RLock()
        self.field_types = {f.name: f.type for f in stream.fields}
        self.cursor = stream.cursor
        if self.cursor is not None:
            self.field_types.setdefault(self.cursor, FieldType.TIMESTAMP)
        self.companion, self.companion_mode = _companion(stream, self.field_types)
        self.label = stream.json_type[:1].upper() + stream.json_type[1:]
        rng = random.Random(f"{seed}:{stream.name}")
        self.relations = planner.relations(stream, rng)
        self.relationships = self.relations.to_one
        self.echoed = self._echoed_relationship()
        self.spliced = self._spliced_fields()
        self.drifted = self._drift_attribute()
        self.wrong_type_variants = wrong_type_variants
        self._variant_salt = rng.randrange(1 << 30)
        self.variants = [
            self._make_variant(random.Random(f"{seed}:{stream.name}:v{v}"), v, start_ms, end_ms)
            for v in range(VARIANTS)
        ]
        self._mutations = random.Random(f"{seed}:{stream.name}:mutations")
        # Its own RNG, so deleting never changes which records a later touch picks.
        self._deletions = random.Random(f"{seed}:{stream.name}:deletions")
        self.gone = Tombstones()
        self.cur = array("q")
        self.comp = array("q")
        self.keys = array("q")  # sorted pack_key(cursor, id): the cursor index
        self.rev = array("I", bytes(array("I").itemsize * size))
        self._generate(size, rng, start_ms, end_ms)

    # --- construction -------------------------------------------------------------------

    def _echoed_relationship(self) -> RelSpec | None:
        name = ECHOED_RELATIONSHIPS.get(self.stream.json_type)
        return next((r for r in self.relationships if r.name == name), None)

    def _spliced_fields(self) -> frozenset[str]:
        """Attributes whose value is per record, so they cannot live in a shared variant."""
        out = {n for n in (self.cursor, self.companion) if n is not None}
        if self.field_types.get("name") is FieldType.STRING:
            out.add("name")
        if self.echoed is not None:
            out.add(f"{self.echoed.name}Id")
        return frozenset(out)

    def _drift_attribute(self) -> str | None:
        """The one attribute ``wrong_type_variants`` sends with the wrong JSON type.

        An INTEGER because its decimal string is the plainest drift (nothing about the
        number is lost, only its type); one that lives in the shared variant, since a
        spliced value is rendered per record and a drifted variant could not carry it.
        """
        return next(
            (
                f.name
                for f in self.stream.fields
                if f.type is FieldType.INTEGER and f.name not in self.spliced
            ),
            None,
        )

    def _make_variant(self, rng: random.Random, v: int, start_ms: int, end_ms: int) -> Variant:
        values = {
            f.name: field_value(f, rng, start_ms, end_ms)
            for f in self.stream.fields
            if f.name not in self.spliced
        }
        if isinstance(values.get("createdAt"), str) and isinstance(values.get("updatedAt"), str):
            low, high = sorted((values["createdAt"], values["updatedAt"]))
            values["createdAt"], values["updatedAt"] = low, high
        values[EXTRA_ATTRIBUTE] = f"sandbox variant {v}; not in the catalog"
        comparable = {
            name: parse_ms(value) if self.field_types.get(name) is FieldType.TIMESTAMP else value
            for name, value in values.items()
        }
        if self.drifted is not None and v < self.wrong_type_variants:
            # Drawn as an integer and only sent as text, so every other value is the same
            # with or without drift, and `comparable` keeps the number: only the JSON type
            # drifts, the server still knows the value, so filters and sorts stay numeric.
            values[self.drifted] = str(values[self.drifted])
        fragment = compact(values)[1:-1]
        return Variant(values, comparable, fragment)

    def _generate(self, n: int, rng: random.Random, start: int, end: int) -> None:
        if self.cursor is None:
            return
        rnd = rng.random
        span = end - start
        self.cur = array("q", [start + int(rnd() * span) for _ in range(n)])
        if self.companion is not None:
            derive = self._companion_rule(start, end, rnd)
            self.comp = array("q", [derive(c) for c in self.cur])
        self.keys = array("q", sorted(pack_key(c, i + 1) for i, c in enumerate(self.cur)))

    def _companion_rule(
        self, start: int, end: int, rnd: Callable[[], float]
    ) -> Callable[[int], int]:
        mode = self.companion_mode

        def derive(c: int) -> int:
            if mode == "before":
                return c - int(rnd() * (c - start))
            if mode == "after":
                return c + int(rnd() * (end - c))
            if rnd() >= _BACKDATED_SHARE:
                return c
            shift = 60_000 + int(rnd() * _BACKDATE_MAX_MS)
            return max(start, c - shift) if mode == "backdated" else c + shift

        return derive

    # --- reads ----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Slots, deleted ones included: the highest id handed out so far."""
        return len(self.rev)

    def exists(self, record_id: int) -> bool:
        return 1 <= record_id <= self.size and not self.gone.holds(record_id - 1)

    def variant_of(self, i: int) -> int:
        h = ((i + 1) * MIX + self.rev[i] * _MIX2 + self._variant_salt) & M32
        return (h >> 8) % VARIANTS

    def variants_of(self, indices: list[int]) -> list[int]:
        """`variant_of` for a whole page at once."""
        rev, salt = self.rev, self._variant_salt
        mixed = [((i + 1) * MIX + rev[i] * _MIX2 + salt) & M32 for i in indices]
        return [(h >> 8) % VARIANTS for h in mixed]

    def name_of(self, i: int) -> str:
        return f"{self.label} {i + 1}"

    def relationship(self, name: str) -> RelSpec | None:
        return next((r for r in self.relationships if r.name == name), None)

    def getter(self, name: str) -> Callable[[int], Any]:
        """Index -> comparable value of an attribute (ms for timestamps), or of `id`."""
        if name == "id":
            return _next_id
        if name == self.cursor:
            return self.cur.__getitem__
        if name == self.companion:
            return self.comp.__getitem__
        if name == "name" and name in self.spliced:
            return self.name_of
        echoed = self.echoed
        if echoed is not None and name == f"{echoed.name}Id":
            return lambda i: echoed.target_id(i + 1)
        variants, variant_of = self.variants, self.variant_of
        return lambda i: variants[variant_of(i)].comparable[name]

    def cursor_text(self, i: int) -> str:
        return format_ms(self.cur[i]) if self.cursor is not None else ""

    def truth(self) -> dict[int, str]:
        with self.lock:
            return {i + 1: self.cursor_text(i) for i in self.gone.live(range(self.size))}

    def relationship_truth(self) -> dict[int, RelationshipTruth]:
        with self.lock:
            return self.relations.truth(self.gone.live_ids(self.size))

    # --- writes ---------------------------------------------------------------------------

    def _existing(self, ids: Sequence[int]) -> list[int]:
        """``ids`` as a list, or ValueError naming those that do not exist (any longer)."""
        chosen = list(ids)
        bad = [r for r in chosen if not _is_id(r) or not self.exists(r)]
        if bad:
            deleted = [r for r in bad if _is_id(r) and 1 <= r <= self.size]
            was = f" ({deleted} were deleted)" if deleted else ""
            raise ValueError(f"{self.stream.name} has no records with ids {bad}{was}")
        return chosen

    def touch(self, count: int, ids: Sequence[int] | None, now_ms: int) -> list[int]:
        """Change records as an edit would: new attribute variant, cursor moved to now."""
        with self.lock:
            if ids is None:
                live = self.gone.live_ids(self.size)
                chosen = self._mutations.sample(live, min(count, len(live)))
            else:
                chosen = self._existing(ids)
            for rid in chosen:
                self.rev[rid - 1] += 1
                if self.cursor is not None:
                    self._move_cursor(rid - 1, now_ms)
            return sorted(chosen)

    def delete(self, count: int, ids: Sequence[int] | None) -> list[int]:
        """Hard-delete records as Outreach does: gone from every read, their ids never reused.

        Records of other streams that point at them keep pointing: Outreach leaves such
        references in place for some relationships too, so a client must not assume that
        every related id still exists.
        """
        with self.lock:
            if ids is None:
                chosen = spread(self._deletions, self.gone.live_ids(self.size), count)
            else:
                chosen = sorted(set(self._existing(ids)))
            if self.cursor is not None:
                for rid in chosen:
                    self._unindex(rid - 1)
            self.gone.bury(rid - 1 for rid in chosen)
            return chosen

    def _unindex(self, i: int) -> None:
        del self.keys[bisect_left(self.keys, pack_key(self.cur[i], i + 1))]

    def _move_cursor(self, i: int, now_ms: int) -> None:
        new = max(now_ms, self.comp[i]) if self.companion_mode == "before" else now_ms
        self._unindex(i)
        self.cur[i] = new
        insort(self.keys, pack_key(new, i + 1))
        if self.companion_mode in ("after", "delayed"):
            self.comp[i] = max(self.comp[i], new)

    def add(self, count: int, now_ms: int) -> list[int]:
        """Append new records whose cursor (and companion timestamp) is now."""
        with self.lock:
            first = self.size + 1
            if first + count - 1 > MAX_ID:
                raise ValueError(f"at most {MAX_ID} records per stream")
            for rid in range(first, first + count):
                self.rev.append(0)
                if self.cursor is not None:
                    self.cur.append(now_ms)
                    insort(self.keys, pack_key(now_ms, rid))
                    if self.companion is not None:
                        self.comp.append(now_ms)
            return list(range(first, first + count))


def _next_id(i: int) -> int:
    return i + 1


def _is_id(value: object) -> bool:
    """An int and not a bool: JSON's `true` is no record id."""
    return isinstance(value, int) and not isinstance(value, bool)


class DataStore:
    """Every stream's records, built on first use (a 1M-record stream takes seconds)."""

    def __init__(self, streams: Sequence[Stream], config: SandboxConfig) -> None:
        by_name = {s.name: s for s in streams}
        unknown = set(config.sizes) - set(by_name)
        if unknown:
            raise ValueError(f"sizes names unknown streams: {sorted(unknown)}")
        self.streams = tuple(streams)
        self._by_name = by_name
        self._by_path = {s.path: s for s in streams}
        self._sizes = {s.name: config.size_of(s.name) for s in streams}
        self._seed = config.seed
        self._wrong_type_variants = config.wrong_type_variants
        self._start_ms, self._end_ms = config.start_ms, config.end_ms
        self._planner = RelationPlanner(
            streams,
            {s.json_type: self._sizes[s.name] for s in streams},
            seed=config.seed,
            unknown=config.unknown_relationships,
        )
        self._built: dict[str, StreamData] = {}
        self._lock = threading.Lock()

    def stream_for_path(self, path: str) -> Stream | None:
        return self._by_path.get(path)

    def get(self, name: str) -> StreamData:
        stream = self._by_name.get(name) or self._by_path.get(name)
        if stream is None:
            raise KeyError(f"unknown sandbox stream {name!r}")
        with self._lock:
            data = self._built.get(stream.name)
            if data is None:
                data = StreamData(
                    stream,
                    self._sizes[stream.name],
                    seed=self._seed,
                    start_ms=self._start_ms,
                    end_ms=self._end_ms,
                    planner=self._planner,
                    wrong_type_variants=self._wrong_type_variants,
                )
                self._built[stream.name] = data
            return data
