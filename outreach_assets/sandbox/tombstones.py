"""Hard deletes: which record slots of a stream are empty, and which to empty when asked for n.

Outreach deletes records outright: the record leaves every list page, filter and count, its
URL answers 404, and no list endpoint reports that it is gone (no tombstone, no `deletedAt`).
The store keeps a deleted record's slot, so an index stays ``id - 1`` and ``add`` never hands
an id out again; this module only remembers which slots are empty.
"""

import random
from array import array
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Sequence


class Tombstones:
    """The deleted indices of one stream: a set to test one, a sorted array to count a span."""

    def __init__(self) -> None:
        self._members: set[int] = set()
        self._sorted = array("q")

    def __len__(self) -> int:
        return len(self._sorted)

    def holds(self, index: int) -> bool:
        return index in self._members

    def bury(self, indices: Iterable[int]) -> None:
        for i in indices:
            if i not in self._members:
                self._members.add(i)
                insort(self._sorted, i)

    def count_in(self, start: int, stop: int) -> int:
        """Deleted indices in ``range(start, stop)``: a page count without a scan."""
        return bisect_left(self._sorted, stop) - bisect_left(self._sorted, start)

    def live(self, indices: Iterable[int]) -> Iterator[int]:
        """``indices`` without the deleted ones (no per-record test while nothing is)."""
        if not self._members:
            return iter(indices)
        members = self._members
        return (i for i in indices if i not in members)

    def live_ids(self, size: int) -> Sequence[int]:
        """The ids of a stream of ``size`` slots that still exist, ascending."""
        if not self._members:
            return range(1, size + 1)
        return [i + 1 for i in self.live(range(size))]


def spread(rng: random.Random, ids: Sequence[int], count: int) -> list[int]:
    """``count`` of ``ids``, one drawn from each of ``count`` equal runs: spread over the
    whole id range (old and new records alike) yet fixed by the seed."""
    n = min(count, len(ids))
    return [ids[rng.randrange(k * len(ids) // n, (k + 1) * len(ids) // n)] for k in range(n)]
