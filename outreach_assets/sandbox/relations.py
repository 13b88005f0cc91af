"""Which records a sandbox record points at, in the three shapes Outreach sends relationships.

Outreach's resources (https://developers.outreach.io/api/making-requests/) carry to-one
relationships as ``{"data": {"type", "id"}}`` or ``{"data": null}``, to-many ones with
their ids inline as ``{"data": [...], "links": {"related": url}, "meta": {"count": n}}``,
and the rest as ``{"links": {"related": url}}`` only. Ids are pure arithmetic on the record
id, never stored: a to-one id is a hash of (id, salt). Each to-many relationship has
``POOL`` id lists drawn once from the seed, and one hash of the id picks the same position
in every pool, so the renderer serializes each record's whole to-many section once per
position and a record only splices its id into the links (each relationship's lists are
still drawn independently of the others'). Ids stay inside the target stream's size when
the target is a catalog type (so they exist there), inside ``EXTERNAL_TARGET_SIZE`` when not.
"""

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from outreach_assets.catalog import Relationship, Stream

MIX = 0x9E3779B1
M32 = 0xFFFFFFFF
POOL = 256  # seeded id lists per to-many relationship
EXTERNAL_TARGET_SIZE = 500  # id range for relationships to types outside the catalog
# How many ids a to-many list holds (0 to 5) and how often: mostly none or one, as most
# prospects have no favorites and one assigned user.
_COUNT_WEIGHTS = (3, 3, 2, 1, 1, 1)

# The relationships `SandboxConfig.unknown_relationships` adds to every record: names no
# catalog stream knows, one of each shape that carries ids.
UNKNOWN_TO_ONE = ("sandboxOwner", "user")
UNKNOWN_TO_MANY = ("sandboxTags", "tag")

RelationshipTruth = dict[str, list[int] | int | None]


def _mixed(record_id: int, salt: int) -> int:
    return (((record_id + salt) * MIX) & M32) >> 8


@dataclass(frozen=True)
class RelSpec:
    """A to-one relationship and the arithmetic that picks each record's target id."""

    name: str
    target: str
    salt: int
    target_size: int

    def target_id(self, record_id: int) -> int | None:
        """About one record in ten has no target (`{"data": null}`), like real payloads."""
        x = _mixed(record_id, self.salt)
        if x % 10 == 0 or self.target_size == 0:
            return None
        return (x // 10) % self.target_size + 1

    def target_codes(self, record_ids: list[int]) -> list[int]:
        """`target_id` for a whole page at once, 0 for no target so a renderer can index a
        table of texts (comprehensions, not a call per record)."""
        salt, size = self.salt, self.target_size
        if size == 0:
            return [0] * len(record_ids)
        mixed = [(((rid + salt) * MIX) & M32) >> 8 for rid in record_ids]
        return [0 if x % 10 == 0 else (x // 10) % size + 1 for x in mixed]


@dataclass(frozen=True)
class Link:
    """A relationship's `links.related` without the API base: ``before + id + after``."""

    before: str
    after: str = ""


@dataclass(frozen=True)
class ManySpec:
    """A to-many relationship with inline ids; ``link`` None sends `data` alone."""

    name: str
    target: str
    pool: tuple[tuple[int, ...], ...]  # POOL id lists, each 0..5 distinct target ids
    link: Link | None


@dataclass(frozen=True)
class LinksOnly:
    """A relationship that carries only `links.related`, as the catalog's ``links_only``."""

    name: str
    link: Link


@dataclass(frozen=True)
class Relations:
    """Every relationship one stream's records carry, in the order they are rendered."""

    to_one: tuple[RelSpec, ...]
    to_many: tuple[ManySpec, ...]
    links_only: tuple[LinksOnly, ...]
    pool_salt: int  # picks a record's position in every to-many pool

    def pool_index(self, record_id: int) -> int:
        return _mixed(record_id, self.pool_salt) % POOL

    def pool_indices(self, record_ids: list[int]) -> list[int]:
        """`pool_index` for a whole page at once (a comprehension, not a call per record)."""
        salt = self.pool_salt
        return [((((rid + salt) * MIX) & M32) >> 8) % POOL for rid in record_ids]

    def truth(self, record_ids: Iterable[int]) -> dict[int, RelationshipTruth]:
        """Id -> relationship -> target ids (to-many) or id/None (to-one): what is served."""
        out: dict[int, RelationshipTruth] = {}
        for rid in record_ids:
            k = self.pool_index(rid)
            row: RelationshipTruth = {r.name: r.target_id(rid) for r in self.to_one}
            row.update({m.name: list(m.pool[k]) for m in self.to_many})
            out[rid] = row
        return out


class RelationPlanner:
    """Builds each stream's `Relations` from the catalog and the sizes the store serves."""

    def __init__(
        self,
        streams: Sequence[Stream],
        sizes_by_type: dict[str, int],
        *,
        seed: int,
        unknown: bool,
    ) -> None:
        self._by_type = {s.json_type: s for s in streams}
        self._by_path = {s.path: s for s in streams}
        self._sizes = sizes_by_type
        self._seed = seed
        self._unknown = unknown

    def relations(self, stream: Stream, rng: random.Random) -> Relations:
        """``rng`` is the stream's own, and its first draws are the to-one salts, in catalog
        order, as they always were: the cursors and variants drawn after them stay what they
        were. To-many and unknown relationships draw from RNGs of their own, so adding them
        to the catalog or switching them on moves nothing else."""
        to_one = [
            RelSpec(r.name, r.target, rng.randrange(1 << 20), self._size(r.target))
            for r in stream.relationships
        ]
        to_many = [
            self._many(stream, r.name, r.target, self._link(stream, self._path_of(r), r.name))
            for r in stream.to_many
        ]
        links = tuple(
            LinksOnly(name, self._link(stream, name if name in self._by_path else None, name))
            for name in stream.links_only
        )
        if self._unknown:
            extra = random.Random(f"{self._seed}:{stream.name}:unknown relationships")
            name, target = UNKNOWN_TO_ONE
            to_one.append(RelSpec(name, target, extra.randrange(1 << 20), self._size(target)))
            to_many.append(self._many(stream, *UNKNOWN_TO_MANY, None))
        pool_salt = random.Random(f"{self._seed}:{stream.name}:to-many").randrange(1 << 20)
        return Relations(tuple(to_one), tuple(to_many), links, pool_salt)

    def _size(self, target: str) -> int:
        return self._sizes.get(target, EXTERNAL_TARGET_SIZE)

    def _path_of(self, rel: Relationship) -> str:
        """The path a to-many relationship's related link lists: its target stream's, or
        for a type outside the catalog its own name (`attachments`, `teamMemberships`)."""
        target = self._by_type.get(rel.target)
        return target.path if target is not None else rel.name

    def _link(self, stream: Stream, related_path: str | None, name: str) -> Link:
        """Outreach links a relationship to the related collection filtered by this record
        (`.../prospects?filter[account][id]=1`), on the related stream's own relationship
        back here where it has one, so the sandbox answers the link; without a collection,
        JSON:API's relationship URL (https://jsonapi.org/recommendations/#urls-relationships).
        """
        if related_path is None:
            return Link(f"/{stream.path}/", f"/{name}")
        related = self._by_path.get(related_path)
        backs = () if related is None else related.relationships
        # Prefer the one named after this type (a favorite's `user`, not its `creator`).
        names = [r.name for r in backs if r.target == stream.json_type]
        back = names[0] if names and stream.json_type not in names else stream.json_type
        return Link(f"/{related_path}?filter%5B{back}%5D%5Bid%5D=")

    def _many(self, stream: Stream, name: str, target: str, link: Link | None) -> ManySpec:
        rng = random.Random(f"{self._seed}:{stream.name}:{name}")
        size = self._size(target)
        return ManySpec(name, target, tuple(_draw(rng, size) for _ in range(POOL)), link)


def _draw(rng: random.Random, size: int) -> tuple[int, ...]:
    count = rng.choices(range(len(_COUNT_WEIGHTS)), weights=_COUNT_WEIGHTS)[0]
    return tuple(rng.sample(range(1, size + 1), min(count, size)))
