"""Eligibility masks cached per vacancy, updated row by row when workers are written.

A shortlist's hard rules over a million workers are a dozen array operations (a few ms); the
answer only changes when a worker, the vacancy or an agency changes, so each vacancy's mask is kept
as a packed bitmap (an eighth of a byte a worker: 62 MB for 500 vacancies at a million) with its
allowed row positions, and region scopes likewise. After a write :meth:`MaskCache.updated` keeps
the rows of unchanged workers and evaluates the rules for the changed ones only; a property test
holds the result equal to masks computed from scratch.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)
MaskFn = Callable[[int], np.ndarray]  # vacancy position -> bool mask over the worker rows


@dataclass(frozen=True, slots=True)
class Allowed:
    """One cached mask: packed bits and the positions where it is true. The rows are made
    read-only, so an exact search may keep a contiguous copy of them for the next time the same
    mask is searched (:mod:`sepadan.matching.gathered`)."""

    bits: np.ndarray  # uint8, little bit order
    rows: np.ndarray  # positions, ascending, read-only; int32 when made by ``of`` (int64 past 2**31 rows)
    n: int

    def __post_init__(self) -> None:
        self.rows.setflags(write=False)
        if len(self.rows) < 2 or bool((self.rows[1:] > self.rows[:-1]).all()):
            mark_ascending(self.rows)

    @classmethod
    def of(cls, mask: np.ndarray) -> Allowed:
        # int32 rows: half the bytes of int64 (500 vacancies' masks at a million workers held ~0.28
        # GB of int64 rows; experiments/results/memory-serving-1m.md)
        rows = np.flatnonzero(mask).astype(np.int32 if len(mask) < 2**31 else np.int64)
        return cls(np.packbits(mask, bitorder="little"), rows, len(mask))

    def mask(self) -> np.ndarray:
        return np.unpackbits(self.bits, count=self.n, bitorder="little").view(bool)


class Ascending:
    """A read-only rows array known to rise strictly, with its two ends (an empty one: 0 and -1),
    and whether it has been searched yet. Not frozen: ``searched`` is set by the array's first
    search, so that a copies' keeper hears of a cached mask only from its second search on (the
    keeper's own record of a first sighting cost a first search about 2 us at 1,000 rows of a
    million, :mod:`sepadan.matching.gathered`)."""

    __slots__ = ("ref", "first", "last", "searched")

    def __init__(self, ref: weakref.ref, first: int, last: int) -> None:
        self.ref, self.first, self.last, self.searched = ref, first, last, False


_ASCENDING: dict[int, Ascending] = {}  # by identity


def mark_ascending(rows: np.ndarray) -> None:
    """Note that this read-only array holds strictly ascending positions (a cached mask's rows), and
    its ends, so that a search checks its bounds by them (:func:`ascending`): a numpy reduction
    over the rows before an in-place search made the search 7 us slower at 1,000 rows of a
    million, about a quarter of what it spends beyond the kernel (first-search-1m.md)."""
    key = id(rows)

    def gone(ref: weakref.ref, key: int = key) -> None:
        held = _ASCENDING.get(key)
        if held is not None and held.ref is ref:
            del _ASCENDING[key]

    first, last = (rows.item(0), rows.item(-1)) if len(rows) else (0, -1)
    _ASCENDING[key] = Ascending(weakref.ref(rows, gone), first, last)


def ascending(rows: np.ndarray) -> Ascending | None:
    """What :func:`mark_ascending` noted of ``rows``, while it is still read-only; else None."""
    held = _ASCENDING.get(id(rows))
    if held is None or held.ref() is not rows or rows.flags.writeable:
        return None
    return held


def known_ascending(rows: np.ndarray) -> bool:
    """Whether ``rows`` is an array :func:`mark_ascending` noted, still read-only."""
    return ascending(rows) is not None


class MaskCache:
    """Masks by key (a vacancy position, or ``("region", code)``), made on first use by ``make``."""

    def __init__(self, n: int, make: Callable[[object], np.ndarray], *, limit: int = 4096) -> None:
        self.n, self.make, self.limit = n, make, limit
        self._held: dict[object, Allowed] = {}
        self._lock = threading.Lock()

    def get(self, key: object) -> Allowed:
        held = self._held.get(key)
        if held is None:
            mask = np.asarray(self.make(key), dtype=bool)
            if mask.shape != (self.n,):
                raise ValueError(f"mask for {key!r} has shape {mask.shape}, expected ({self.n},)")
            held = Allowed.of(mask)
            with self._lock:
                if len(self._held) >= self.limit:
                    self._held.pop(next(iter(self._held)))
                self._held[key] = held
        return held

    def keys(self) -> list[object]:
        return list(self._held)

    def updated(self, kept: np.ndarray, fresh: Sequence[int], n: int, make: Callable[[object], np.ndarray],
                evaluate: Callable[[object, Sequence[int]], np.ndarray], *, drop: Callable[[object], bool]
                ) -> MaskCache:
        """The cache for a new worker pool of ``n`` rows: row ``i`` of the new pool is old row
        ``kept[i]`` where that is >= 0, else a changed or new worker (listed in ``fresh``) whose
        rules ``evaluate(key, fresh)`` works out. Keys for which ``drop`` is true are not carried."""
        out = MaskCache(n, make, limit=self.limit)
        fresh = np.asarray(fresh, dtype=np.int64)
        carried = np.flatnonzero(kept >= 0)
        for key, held in list(self._held.items()):
            if drop(key):
                continue
            mask = np.zeros(n, dtype=bool)
            mask[carried] = held.mask()[kept[carried]]
            if len(fresh):
                mask[fresh] = evaluate(key, fresh)
            out._held[key] = Allowed.of(mask)
        return out
