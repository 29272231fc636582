"""Candidate retrieval: dense (the vector index), lexical (shared ESCO concepts), fused by RRF."""

from __future__ import annotations

import heapq
import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

RRF_K = 60
_CHUNK = 1 << 16  # values a roaring container holds
_ARRAY_MAX = 4096  # a container with at most this many values is stored as a sorted array
_EPS = 1e-9  # bounds are sums of the same gains in another order: this far apart at most
_BIT = np.arange(8)
# allowed rows above which the filter is read from the packed bits, not listed (equal cost near 15k)
_FROM_BITS = 16_384
# The branch and bound's tree has up to 2^(terms + 1) nodes: past this many query terms, or this
# many nodes taken, summing the postings is cheaper (200k rows, 40 terms held 6 at a time: 9.3 s
# against 0.13 s summed), and a caller (a vacancy with many skills, a portal's worker body) must
# not be able to choose the slow path.
_MOST_TERMS = 16
_MOST_NODES = 2048  # the demo's vacancies (up to 13 concepts) take at most 1,024 at 5,000 workers, fewer at more
_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little").astype(bool)


def rrf(rankings: Sequence[Sequence[int]], *, k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: sum of 1/(k + rank) over the lists an item appears in, best first,
    ties by item. Summed list by list in the order given (``np.bincount`` adds in input order), so
    the sums are those of adding them one by one (tests/test_concept_search.py holds it to that)."""
    lists = [np.asarray(r, dtype=np.int64).reshape(-1) for r in rankings]
    if not any(len(r) for r in lists):
        return []
    items = np.concatenate(lists)
    gains = np.concatenate([1.0 / (k + np.arange(1, len(r) + 1, dtype=np.int64)) for r in lists])
    found, inverse = np.unique(items, return_inverse=True)
    scores = np.bincount(inverse.reshape(-1), weights=gains, minlength=len(found))
    order = np.lexsort((found, -scores))
    return list(zip(found[order].tolist(), scores[order].tolist()))


class ConceptIndex:
    """Inverted index from concept key to row positions, scored by the sum of idf of shared concepts."""

    def __init__(self, concept_sets: Sequence[Iterable[str]]) -> None:
        postings: dict[str, list[int]] = defaultdict(list)
        for pos, keys in enumerate(concept_sets):
            for key in set(keys):
                postings[key].append(pos)
        self.size = len(concept_sets)
        self.postings = {k: np.asarray(v, dtype=np.int64) for k, v in postings.items()}
        self._bitmaps: dict[str, object] | None = None  # the postings as roaring bitmaps, on first use

    def idf(self, key: str) -> float:
        df = len(self.postings.get(key, ()))
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5)) if df else 0.0

    def search(self, query: dict[str, float], k: int, *, allowed: np.ndarray | None = None,
               bits: np.ndarray | None = None) -> list[int]:
        """Top-k positions by weighted idf of the query concepts they hold, among allowed rows
        (ascending; ``bits``: the same rows packed, little bit order, when the caller holds them),
        best first, ties by position.

        A row's score depends only on which of the query's few concepts it holds, so the rows are
        split by that subset, best subsets first, as a branch and bound over roaring bitmaps
        (:func:`_best_subsets`): the work follows the number of subsets the top k reach, not the
        postings' length (at a million workers a shortlist's postings hold hundreds of thousands
        of rows). The scores are the sums :meth:`summed` makes, term by term in the query's order."""
        terms = [(key, weight * self.idf(key)) for key, weight in query.items() if key in self.postings]
        if k <= 0 or not terms:
            return []
        if len(terms) > _MOST_TERMS or any(gain <= 0 for _, gain in terms):
            return self.summed(query, k, allowed=allowed)
        postings = self.bitmaps()
        keep = None
        if allowed is not None:
            many = bits is not None and len(allowed) > _FROM_BITS  # listing them would cost more
            keep = roaring_from_bits(bits, self.size, allowed) if many else _roaring(allowed)
        best = _best_subsets([postings[key] for key, _ in terms], [g for _, g in terms], k, keep,
                             most_nodes=_MOST_NODES)
        return self.summed(query, k, allowed=allowed) if best is None else best

    def summed(self, query: dict[str, float], k: int, *, allowed: np.ndarray | None = None) -> list[int]:
        """The same answer by summing every posting row (the reference, and the path for a query
        whose weights are not all positive)."""
        found, gains = [], []
        keep = None if allowed is None else _roaring(allowed)
        for key, weight in query.items():
            rows = self.postings.get(key)
            if rows is None:
                continue
            if keep is not None:
                rows = np.frombuffer((self.bitmaps()[key] & keep).to_array(), dtype=np.uint32).astype(np.int64)
            found.append(rows)
            gains.append(np.full(len(rows), weight * self.idf(key)))
        if not found or k <= 0:
            return []
        hits, inverse = np.unique(np.concatenate(found), return_inverse=True)
        scores = np.bincount(inverse.reshape(-1), weights=np.concatenate(gains), minlength=len(hits))
        keep_hits = scores > 0
        hits, scores = hits[keep_hits], scores[keep_hits]
        order = np.lexsort((hits, -scores))[:k]
        return hits[order].tolist()

    def bitmaps(self) -> dict[str, object]:
        """The postings as roaring bitmaps (made on first use, or ahead by the matcher's warm-up)."""
        if self._bitmaps is None:
            self._bitmaps = {key: _roaring(rows) for key, rows in self.postings.items()}
        return self._bitmaps


def _best_subsets(lists: list, gains: list[float], k: int, keep: object | None, *,
                  most_nodes: int = _MOST_NODES) -> list[int] | None:
    """Top k rows by the summed gains of the lists holding them, ties by position; None once more
    than ``most_nodes`` nodes are taken from the heap (the caller sums the postings instead).

    Best first over a binary tree: depth j decides whether a row holds list j (gains largest
    first); a node's rows are a roaring bitmap and its bound the gains taken plus all still
    undecided. A child's rows are worked out only when it is taken from the heap (most of the
    heap is never reached). Leaves (a row's exact subset) come out in falling score; the search
    stops once k rows are held and no node left can reach the lowest score taken. Each leaf's
    score is summed in the lists' given order, so it equals :meth:`ConceptIndex.summed`'s to the bit."""
    order = sorted(range(len(gains)), key=lambda j: -gains[j])
    rest = [0.0] * (len(order) + 1)
    for depth in range(len(order) - 1, -1, -1):
        rest[depth] = rest[depth + 1] + gains[order[depth]]
    root = lists[order[0]].union(*(lists[j] for j in order[1:]))
    if keep is not None:
        root &= keep
    # (-bound, tie, depth, rows or None, parent's rows, holds the list decided at depth - 1, lists held)
    heap: list[tuple] = [(-rest[0], 0, 0, root, None, False, ())]
    taken: list[tuple[float, np.ndarray]] = []
    held, lowest, pushed, popped = 0, math.inf, 1, 0
    while heap and not (held >= k and -heap[0][0] < lowest - _EPS):
        popped += 1
        if popped > most_nodes:
            return None
        bound, _, depth, rows, parent, holds_last, holds = heapq.heappop(heap)
        if rows is None:
            last = lists[order[depth - 1]]
            rows = parent & last if holds_last else parent - last
        if not rows:
            continue
        if depth == len(order):
            score = 0.0
            for j in sorted(holds):  # in the query's order, as the reference sums
                score += gains[j]
            part = rows[:k] if len(rows) > k else rows
            taken.append((score, np.frombuffer(part.to_array(), dtype=np.uint32)))
            held, lowest = held + len(part), min(lowest, score)
            continue
        j = order[depth]
        heapq.heappush(heap, (bound, pushed, depth + 1, None, rows, True, (*holds, j)))
        heapq.heappush(heap, (bound + gains[j], pushed + 1, depth + 1, None, rows, False, holds))
        pushed += 2
    if not taken:
        return []
    scores = np.concatenate([np.full(len(r), s) for s, r in taken])
    hits = np.concatenate([r for _, r in taken]).astype(np.int64)
    return hits[np.lexsort((hits, -scores))][:k].tolist()


def _roaring(rows: np.ndarray) -> object:
    from pyroaring import BitMap

    return BitMap(array("I", np.asarray(rows, dtype=np.uint32).tobytes()))


def roaring_from_bits(bits: np.ndarray, n: int, rows: np.ndarray | None = None) -> object:
    """A roaring bitmap of the rows set in packed bits (little bit order, ``n`` rows; ``rows``: the
    same rows listed, ascending, where the caller has them), written in roaring's portable serial
    format and read back: a dense 64k-row chunk of packed bits is already a bitset container, so
    its rows are never listed (at 440k rows of 1M: ~0.05 ms against ~3 ms from the positions);
    a sparse chunk is a sorted array of its rows."""
    from pyroaring import BitMap

    bits = np.asarray(bits, dtype=np.uint8)
    need = -(-n // 8)
    if len(bits) < need:
        raise ValueError(f"{len(bits)} packed bytes cannot hold {n} rows")
    chunks = -(-n // _CHUNK)
    padded = np.zeros(chunks * (_CHUNK // 8), dtype=np.uint8)
    padded[:need] = bits[:need]
    if n % 8:
        padded[need - 1] &= (1 << (n % 8)) - 1  # bits past the last row are not rows
    blocks = padded.reshape(chunks, _CHUNK // 8)
    cards = np.bitwise_count(blocks.view(np.uint64)).sum(axis=1, dtype=np.int64)
    keys = np.flatnonzero(cards)
    bounds = None if rows is None else np.searchsorted(rows, np.arange(chunks + 1) * _CHUNK)
    bodies = [_container(blocks[c], int(cards[c]), c, None if bounds is None else rows[bounds[c]:bounds[c + 1]])
              for c in keys.tolist()]
    header = 8 + 8 * len(keys)  # cookie, count, (key, cardinality - 1) and an offset per container
    sizes = np.array([len(b) for b in bodies], dtype=np.int64)
    offsets = header + np.cumsum(sizes) - sizes
    descriptive = np.empty((len(keys), 2), dtype="<u2")
    descriptive[:, 0], descriptive[:, 1] = keys, cards[keys] - 1
    out = b"".join([np.array([12346, len(keys)], dtype="<u4").tobytes(), descriptive.tobytes(),
                    offsets.astype("<u4").tobytes(), *bodies])
    return BitMap.deserialize(out)


def _container(block: np.ndarray, card: int, chunk: int, rows: np.ndarray | None) -> bytes:
    """One container's serial body: the 8 KiB of bits, or its rows as sorted 16-bit values."""
    if card > _ARRAY_MAX:
        return block.tobytes()
    if rows is not None:
        if len(rows) != card:
            raise ValueError("the rows listed are not the rows set in the bits")
        return (np.asarray(rows, dtype=np.int64) - chunk * _CHUNK).astype("<u2").tobytes()
    at = np.flatnonzero(block)  # the bytes with a row set, then their bits
    return (at[:, None] * 8 + _BIT)[_BITS[block[at]]].astype("<u2").tobytes()
