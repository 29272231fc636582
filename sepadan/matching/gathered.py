"""Contiguous copies of the row subsets that are searched again and again, bounded by bytes.

Exact search over an allowed subset reads rows scattered through the whole matrix (1.5 GB at a
million 384-d rows), and at a few thousand rows it waits on memory for each one: 1,000 scattered
rows took about twice as long as the same rows in a contiguous copy, which is what a FAISS flat
index built over the subset scans (experiments/results/speed-index.md). A vacancy's eligibility
mask is cached (:mod:`sepadan.matching.masks`) and its rows array is searched at every shortlist,
so the copy is made the second time the same array is searched and kept, least recently used
dropped first, within a byte budget; a mask searched once (a one-off region scope) never pays for
a copy, and one whose copy was dropped for room must earn it again with more searches. The copy
is made on a background thread (numpy lets go of the GIL while it gathers) while the search that
earned it runs in place: made in the search, a fresh mapping's page faults made the second query
of a mask at 1,000 rows of a million 0.48 ms against 0.16 for the first (first-search-1m.md).
Only read-only arrays are copied (a rows array the caller can no longer change:
:class:`~sepadan.matching.masks.Allowed` makes its rows read-only), known by identity through a
weak reference, so a copy goes when its mask does.
"""

from __future__ import annotations

import logging
import mmap
import threading
import weakref
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from sepadan.matching.threads import LazyPool

log = logging.getLogger(__name__)
MAX_BYTES = 64 * 2**20  # per index, one entry up to all of it: at a million 384-d rows a mask of 2% (the
# IVF planner's exact bound) is 31 MB; kept small so that serving a million workers stays within half
# of the 10.5 GB it took before issue 15: with the copies full, 5.291 GB at 128 MiB, 5.227 at 64
# (experiments/results/memory-serving-1m.md)


@dataclass(frozen=True, slots=True)
class Gathered:
    """The allowed rows of one mask, copied in their order, with the ids FAISS scans them by."""

    matrix: np.ndarray  # (m, dim) float32, C-contiguous
    local: np.ndarray  # int64 0..m-1

    @property
    def nbytes(self) -> int:
        return self.matrix.nbytes + self.local.nbytes


@dataclass(frozen=True, slots=True)
class _Entry:
    ref: weakref.ref
    source: int  # id of the matrix the rows were copied from
    copy: Gathered
    searches: int  # searches of the rows that it took to make this copy


_Sighting = tuple  # (weakref to the rows array, searches since last copied or dropped, searches needed
# before a copy is made): a plain tuple, as one is made at every first search (a NamedTuple took
# 0.26 us to make, a frozen dataclass more)
_FIRST_NEEDED = 2  # a rows array never copied is copied at its second search


class GatheredRows:
    """Copies of repeatedly searched rows arrays of one matrix, at most ``max_bytes`` in all and
    ``max_entry_bytes`` each (default the whole budget); ``max_bytes=0`` keeps none.

    A copy is made at a rows array's second search. One dropped to make room must be searched
    twice as often again before it is copied once more (up to :data:`MOST_NEEDED` times), so
    more masks in turn than the budget holds do not pay for a copy at every search."""

    MOST_NEEDED = 64
    BACKGROUND = True  # copies made on a thread of their own (False: in the search that earns one)

    def __init__(self, *, max_bytes: int = MAX_BYTES, max_entry_bytes: int | None = None,
                 remembered: int = 4096, background: bool | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes if max_entry_bytes is None else max_entry_bytes
        self.remembered = remembered
        self.background = self.BACKGROUND if background is None else background
        self.held_bytes = 0
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._seen: OrderedDict[int, _Sighting] = OrderedDict()
        self._pending: dict[int, Future] = {}  # copies under way, by rows array id (the task holds the array)
        self._dead: list[weakref.ref] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __getstate__(self) -> dict[str, object]:  # an index shipped elsewhere starts with no copies
        return {"max_bytes": self.max_bytes, "max_entry_bytes": self.max_entry_bytes, "remembered": self.remembered,
                "background": self.background}

    def settle(self) -> None:
        """Wait for the copies under way (tests and benchmarks that count what is held)."""
        for task in list(self._pending.values()):
            task.result()

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def lookup(self, rows: np.ndarray, vectors: np.ndarray) -> Gathered | None:
        """The copy made for this very rows array of this matrix, if one is held."""
        if self._dead:
            self._purge()
        return self._held(id(rows), rows, vectors)

    def searched(self, rows: np.ndarray, vectors: np.ndarray, *, earlier: bool = False) -> Gathered | None:
        """:meth:`lookup`, and where no copy is held, :meth:`offer`, in one call: what a search asks
        of the keeper (``rows`` validated). ``earlier``: the caller knows the rows were searched
        before without the keeper hearing of it (a cached mask's first search,
        :class:`~sepadan.matching.masks.Ascending`), so an array never seen counts as seen once.
        A first sighting is written out here rather than through the helpers (a call each, run cold)."""
        if self._dead:
            self._purge()
        key = id(rows)
        if key in self._entries:
            held = self._held(key, rows, vectors)
            if held is not None:
                return held
        seen = self._seen.get(key)
        if seen is None or seen[0]() is not rows:
            if not earlier:
                self._first_sighting(key, rows)
                return None
            seen = (weakref.ref(rows), 1, _FIRST_NEEDED)
        return self._again(key, rows, vectors, seen)

    def _held(self, key: int, rows: np.ndarray, vectors: np.ndarray) -> Gathered | None:
        entry = self._entries.get(key)
        if entry is None or entry.ref() is not rows or entry.source != id(vectors):
            return None
        try:
            self._entries.move_to_end(key)  # one call, atomic under the GIL
        except KeyError:  # dropped by another thread meanwhile; the copy is still whole
            pass
        return entry.copy

    def offer(self, rows: np.ndarray, vectors: np.ndarray) -> Gathered | None:
        """Note that ``rows`` (validated int32 or int64 positions, read-only to be eligible) is
        being searched and has no copy; copy its rows of ``vectors`` and keep the copy when it has
        been searched often enough and fits. The copy, made here where ``background`` is false,
        is returned; made on the copier's thread, it is found by a later :meth:`lookup`, and this
        search goes on in place (None)."""
        if self._dead:
            self._purge()
        return self._offer(id(rows), rows, vectors)

    def _offer(self, key: int, rows: np.ndarray, vectors: np.ndarray) -> Gathered | None:
        seen = self._seen.get(key)
        if seen is None or seen[0]() is not rows:
            self._first_sighting(key, rows)
            return None
        return self._again(key, rows, vectors, seen)

    def _again(self, key: int, rows: np.ndarray, vectors: np.ndarray, seen: _Sighting) -> Gathered | None:
        """A later search of rows seen before: a copy asked for once they have been searched often
        enough, if it could be kept."""
        if not self._eligible(rows, vectors):
            return None
        with self._lock:
            if key in self._pending:
                return None
            ref, count, needed = self._seen.pop(key, seen)
            if count + 1 < needed:
                self._note(key, (ref, count + 1, needed))
                return None
            if self.background:
                self._pending[key] = _COPIER.get().submit(self._copy, key, rows, vectors, needed)
                return None
        return self._copy(key, rows, vectors, needed)

    def _eligible(self, rows: np.ndarray, vectors: np.ndarray) -> bool:
        """Whether a copy of these rows could be kept: read-only, within the budget and the entry bound."""
        budget = self.budget(vectors)
        return budget > 0 and not rows.flags.writeable and \
            len(rows) * (vectors.shape[1] * 4 + 8) <= min(self.max_entry_bytes, budget)

    def _first_sighting(self, key: int, rows: np.ndarray) -> None:
        """Remember a read-only rows array searched for the first time: one dict entry, no lock
        (each dict call is atomic under the GIL; two threads' first searches of one array at once
        note it once, and its copy waits one search more); whether a copy of it would fit is asked
        at its next search. Every first search of a cached mask pays for this: the checks and two
        frozen dataclasses made under the lock took about 8 us of it at 1,000 rows of 300,000, this
        about 3 (side runs on the shared machine; each line runs cold after the scan)."""
        if rows.flags.writeable or key in self._pending:  # pending: its record went when the copy was asked for
            return
        self._seen[key] = (weakref.ref(rows), 1, _FIRST_NEEDED)
        if len(self._seen) > self.remembered:
            with self._lock:
                self._trim_seen()

    def _copy(self, key: int, rows: np.ndarray, vectors: np.ndarray, needed: int) -> Gathered | None:
        try:
            copy = Gathered(_gather(vectors, rows), np.arange(len(rows), dtype=np.int64))
            self._keep(key, _Entry(weakref.ref(rows, self._dead.append), id(vectors), copy, needed),
                       self.budget(vectors))
            return copy
        except MemoryError:  # the search goes on in place; the mask may earn its copy again
            log.warning("no memory for a contiguous copy of %d rows", len(rows))
            return None
        finally:
            with self._lock:  # after offer has recorded the task (it submits under the lock)
                self._pending.pop(key, None)

    def budget(self, vectors: np.ndarray) -> int:
        """Bytes the copies of this matrix may hold: ``max_bytes``, and never more than one copy of
        all of it (at 3,000 workers the copies of a 4.6 MB matrix had reached 133 MB)."""
        return min(self.max_bytes, len(vectors) * (vectors.shape[1] * 4 + 8))

    def _note(self, key: int, seen: _Sighting) -> None:
        self._seen[key] = seen
        self._trim_seen()

    def _trim_seen(self) -> None:
        while len(self._seen) > self.remembered:
            self._seen.popitem(last=False)

    def _keep(self, key: int, entry: _Entry, budget: int) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.held_bytes -= old.copy.nbytes
            while self._entries and self.held_bytes + entry.copy.nbytes > budget:
                dropped_key, dropped = self._entries.popitem(last=False)
                self.held_bytes -= dropped.copy.nbytes
                if dropped.ref() is not None:  # its mask lives on: a copy again only if it earns one
                    self._note(dropped_key, (dropped.ref, 0, min(2 * dropped.searches, self.MOST_NEEDED)))
            self._entries[key] = entry
            self.held_bytes += entry.copy.nbytes
        log.debug("kept a contiguous copy of %d rows (%d bytes held)", len(entry.copy.local), self.held_bytes)

    def _purge(self) -> None:
        """Drop the copies whose rows arrays are gone (their weak references' callbacks filled
        ``_dead``)."""
        with self._lock:
            while self._dead:
                self._dead.pop()
            for key, entry in list(self._entries.items()):
                if entry.ref() is None:
                    del self._entries[key]
                    self.held_bytes -= entry.copy.nbytes


_COPIER = LazyPool(1, "sepadan-gather")  # the one thread that makes every keeper's copies


def _gather(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The rows (checked by the caller) of a float32 C-contiguous matrix, copied in their order
    into an anonymous mapping of their own, unmapped when the array goes. Copies come and go as
    masks take turns: made by malloc, most were carved from its heap, whose bytes a process keeps
    once freed (a dropped copy at 3,000 rows gave nothing back; malloc maps a block of its own only
    above a threshold that rises to each mapped block freed, up to 32 MiB), so the process held
    more than the copies it kept. A fresh mapping costs page faults: the copy itself took about
    2x as long (0.13 -> 0.27-0.40 ms at 1,000 rows of 384), once a mask."""
    shape, nbytes = (len(rows), vectors.shape[1]), len(rows) * vectors.shape[1] * 4
    if nbytes == 0:
        return np.empty(shape, dtype=np.float32)
    private = {"flags": mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS} if hasattr(mmap, "MAP_ANONYMOUS") else {}
    buffer = mmap.mmap(-1, nbytes, **private)
    if nbytes >= _HUGE and hasattr(mmap, "MADV_HUGEPAGE"):
        buffer.madvise(mmap.MADV_HUGEPAGE)  # as numpy asks for its own large arrays
    matrix = np.frombuffer(buffer, dtype=np.float32).reshape(shape)
    np.take(vectors, rows, axis=0, out=matrix, mode="clip")  # mode "raise" would buffer the copy
    return matrix


_HUGE = 4 * 2**20
