"""Blocks of candidate pairs scored in bfloat16, the survivors re-scored exactly in float32.

A block (queries x rows of a cell) is multiplied in bfloat16 (PyTorch, oneDNN: AMX tiles or
AVX512-BF16 where the CPU has them, several times the float32 product's speed), each query keeps
its ``take`` best rows by that approximate score (``k`` plus a margin), and only those are scored
again in float32 (FAISS's ``fvec_inner_products_by_idx``: one float32 dot product per pair, no
product of the block). The lists the batch writes are therefore float32 scores of the ids they
hold, ordered by those scores; bfloat16 only decides which rows of a block reach the re-scoring.
With a margin at least the rows of every block nothing is dropped and the lists are the float32
ones (the scores equal to rounding: a single dot product rather than a matrix product's).

:func:`resolve` turns the setting (``auto``, ``bf16``, ``float32``) into the one every worker
uses: the driver resolves it once and ships the answer in the stage's options, so a Ray actor and
the local runner never choose differently. ``auto`` takes bfloat16 only where the CPU reports
``amx_bf16`` or ``avx512_bf16`` and a one-time timing of two blocks scored both ways (product, top k,
re-scoring) shows bfloat16 more than 1.1x as fast. The product alone is 5-14x faster in bfloat16 on
AMX; the whole block is only ~1.1-1.4x, since the top k of each query's row and the re-scoring then
take most of its time (experiments/results/batch.md). The top k is therefore picked on int32 keys
(the bfloat16 score's bits above, the row below) by NumPy's vectorised partition, about a third of the
cost of an arg-partition of the widened scores (:func:`best_keys`).
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import numpy as np

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "bf16", "float32")
_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(path: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (empty where the system does not say)."""
    try:
        text = path.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def has_bf16_units(flags: set[str] | None = None) -> bool:
    """Whether the CPU multiplies bfloat16 natively (AMX or AVX512-BF16)."""
    return bool(set(_FLAGS) & (cpu_flags() if flags is None else flags))


@lru_cache(maxsize=1)
def bf16_speedup() -> float:
    """float32 time over bfloat16 time of scoring two blocks as the cells do (product, top k, and for
    bf16 the float32 re-scoring): 512 queries x 2,048 rows (k 30, a shortlist block) and 1,024 x 600
    (k 10, a recommendation block), single-threaded, best of three each (measured once per process).
    The whole block, not the product alone: the top k and the re-scoring take most of a bf16 block."""
    from sepadan.batch.cells import _scored, _scored_bf16

    rng = np.random.default_rng(0)
    times = {"float32": 0.0, "bf16": 0.0}
    with one_thread():
        for nq, nr, k, margin in ((512, 2048, 30, 16), (1024, 600, 10, 6)):
            q, r = (rng.standard_normal((n, 384), dtype=np.float32) for n in (nq, nr))
            ids, r16 = np.arange(nr, dtype=np.int64), to_bf16(r)
            for name, fn in (("float32", lambda: _scored(r, ids, q, k, 1 << 62)),
                             ("bf16", lambda: _scored_bf16(q, r, ids, ids, r16, k, margin))):
                fn()
                best = np.inf
                for _ in range(3):
                    t = time.perf_counter()
                    fn()
                    best = min(best, time.perf_counter() - t)
                times[name] += best
    return times["float32"] / max(times["bf16"], 1e-9)


def resolve(precision: str) -> str:
    """``bf16`` or ``float32``: the setting itself, or for ``auto`` the faster where the CPU has
    bfloat16 units (float32 everywhere else)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not '{precision}'")
    if precision != "auto":
        return precision
    if not has_bf16_units():
        log.info("precision auto: float32 (the CPU reports neither %s)", " nor ".join(_FLAGS))
        return "float32"
    speedup = bf16_speedup()
    chosen = "bf16" if speedup > 1.1 else "float32"
    log.info("precision auto: %s (a bfloat16 block %.2fx as fast as a float32 one here)", chosen, speedup)
    return chosen


@contextmanager
def one_thread() -> Iterator[None]:
    """PyTorch and FAISS on one thread each inside (blocks are spread over a pool of threads by
    the caller); the settings are process-wide and restored on leaving."""
    import faiss
    import torch

    before_t, before_f = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before_t)
        faiss.omp_set_num_threads(before_f)


def take_rows(x16: Any, at: np.ndarray) -> Any:
    """Rows ``at`` of a bfloat16 tensor (a copy; through NumPy, several times faster than torch's
    indexing for a few hundred rows)."""
    import torch

    return torch.from_numpy(np.take(x16.view(torch.int16).numpy(), at, axis=0)).view(torch.bfloat16)


def to_bf16(x: np.ndarray) -> Any:
    """A float32 array as a bfloat16 tensor (a copy, half the bytes)."""
    import warnings

    import torch

    with warnings.catch_warnings():  # a read-only array (a memory map) is only read: the copy is torch's
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).bfloat16()


_TILE = 256  # queries per product: oneDNN compiles a kernel per shape, so shapes are few and reused


def _padded(n: int) -> int:
    """Rows of a product padded to one of few sizes (multiples of 128, coarser above 1,024)."""
    step = 128 if n <= 1024 else 512 if n <= 8192 else 2048
    return -(-n // step) * step


def _pad(x: Any, n: int) -> Any:
    import torch

    if len(x) == n:
        return x
    out = torch.zeros((n, x.shape[1]), dtype=x.dtype)
    out[:len(x)] = x
    return out


def ordered_product(queries16: Any, rows16: Any, tile: int) -> np.ndarray:
    """``queries16 @ rows16.T`` as int16 that order as its bfloat16 values (:func:`_ordered`), the
    queries padded to ``tile``: what ranks the columns, in half the bytes of float32 and no conversion."""
    product = _pad(queries16, tile) @ _pad(rows16, _padded(len(rows16))).T
    return _ordered(_bits(product[:len(queries16), :len(rows16)].contiguous()))


_KEY_TILE = 512  # queries per product of best_keys (4 shapes of queries: 128, 256, 384, 512)


def _tile(m: int, tile: int = _TILE) -> int:
    """Queries of a product: ``tile``, a shorter last tile padded to a multiple of 128 only (one query:
    one)."""
    return m if m == 1 else min(tile, -(-m // 128) * 128)


def approx_top(queries16: Any, rows16: Any, take: int) -> np.ndarray:
    """Positions (into ``rows16``) of each query's ``take`` best rows by the bfloat16 product,
    in no particular order (``take`` at most the rows): the low halves of :func:`best_keys`."""
    m, n = len(queries16), len(rows16)
    if take >= n:
        return np.broadcast_to(np.arange(n, dtype=np.int64), (m, n)).copy()
    if n > KEYED:
        return _wide_top(queries16, rows16, take)
    return (best_keys(queries16, rows16, take) & 0xFFFF).astype(np.int64)


def best_keys(queries16: Any, rows16: Any, take: int, *, n: int | None = None) -> np.ndarray:
    """Each query's ``take`` best rows by the bfloat16 product as int32 keys, in no particular order:
    the score's bits made order-preserving in the high half (``keys >> 16``, an int16 that orders as
    the scores do), the row in the low half (``keys & 0xFFFF``); ``(len(queries16), min(take, rows))``,
    at most 65,536 rows. Products of ``_TILE`` queries against the rows padded to a few sizes (the
    padding never chosen), the best of each by :func:`_keyed_best`. ``n``: only the first ``n`` rows of
    ``rows16`` are the block; rows after them stand in for the padding (scored, never chosen), so a
    block inside a larger tensor is multiplied in place instead of copied into a padded one."""
    m, n = len(queries16), len(rows16) if n is None else n
    if n > KEYED:
        raise ValueError(f"a key names at most {KEYED} rows, not {n}")
    rows, step = _padded_rows(rows16, n).T, 1 if m == 1 else _KEY_TILE  # one query (the matcher's): one row
    out = np.empty((m, min(take, n)), dtype=np.int32)
    for lo in range(0, m, step):
        q = queries16[lo:lo + step]
        out[lo:lo + len(q)] = _keyed_best((_pad(q, _tile(len(q), step)) @ rows)[:len(q), :n], take)
    return out


def _padded_rows(rows16: Any, n: int) -> Any:
    """The first ``n`` rows padded to :func:`_padded` rows: a view where ``rows16`` holds that many
    (what follows is scored and dropped), else a zero-padded copy."""
    want = _padded(n)
    return rows16[:want] if len(rows16) >= want else _pad(rows16[:n], want)


def _wide_top(queries16: Any, rows16: Any, take: int) -> np.ndarray:
    """:func:`approx_top` over more rows than a key names: an arg-partition of the widened scores."""
    rows, out = _pad(rows16, _padded(len(rows16))).T, np.empty((len(queries16), take), dtype=np.int64)
    for lo in range(0, len(queries16), _TILE):
        q = queries16[lo:lo + _TILE]
        scores = (_pad(q, _tile(len(q))) @ rows)[:len(q), :len(rows16)].float().numpy()
        out[lo:lo + len(q)] = np.argpartition(-scores, take - 1, axis=1)[:, :take]
    return out


KEYED = 1 << 16  # rows a key can name (its low 16 bits)


def _keyed_best(scores16: Any, take: int) -> np.ndarray:
    """Each row's ``take`` largest columns of a bfloat16 matrix (a tensor) as keys (:func:`best_keys`),
    ties to the higher column: one int32 per value, NumPy's partition of them (vectorised: about 1.5 ns
    a value against 4-5 ns for an arg-partition of the widened floats, measured on rows of a few
    hundred). A bfloat16's bits order as its value when it is not negative; a row whose chosen values
    include a negative one (fewer than ``take`` non-negative) is done again with every value's bits
    made order-preserving."""
    r, n = scores16.shape
    bits = _bits(scores16)
    if take >= n:
        return _keyed(_ordered(bits), n)
    best = np.partition(_keyed(bits, n), n - take, axis=1)[:, n - take:]
    again = np.flatnonzero((best < 0).any(axis=1))
    if len(again):
        best[again] = np.partition(_keyed(_ordered(bits[again]), n), n - take, axis=1)[:, n - take:]
    return best


def _bits(scores16: Any) -> np.ndarray:
    import torch

    return scores16.view(torch.int16).numpy()


def _ordered(bits: np.ndarray) -> np.ndarray:
    """bfloat16 bits as int16 that order as the values (negative values: all bits below the sign flipped)."""
    flip = np.right_shift(bits, 15)
    np.bitwise_and(flip, 0x7FFF, out=flip)
    return np.bitwise_xor(bits, flip)


def _keyed(bits: np.ndarray, n: int) -> np.ndarray:
    """int32 keys of bfloat16 bits (``(r, n)``): the bits in the high half, the column in the low half."""
    keys = np.empty((len(bits), n, 2), dtype=np.int16)  # little-endian: [column, value] is one int32
    keys[:, :, 0] = _columns(n)
    keys[:, :, 1] = bits
    return keys.view(np.int32).reshape(len(bits), n)


@lru_cache(maxsize=1)
def _all_columns() -> np.ndarray:
    return np.arange(KEYED, dtype=np.uint16).view(np.int16)


def _columns(n: int) -> np.ndarray:
    return _all_columns()[:n]


def exact_scores(queries: np.ndarray, rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``queries[i] . rows[pos[i, j]]`` in float32, one dot product per pair (``pos`` int64, no
    padding)."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    pos = np.ascontiguousarray(pos, dtype=np.int64)
    out = np.empty(pos.shape, dtype=np.float32)
    if pos.size:
        faiss.fvec_inner_products_by_idx(faiss.swig_ptr(out), faiss.swig_ptr(queries), faiss.swig_ptr(rows),
                                         faiss.swig_ptr(pos), queries.shape[1], len(queries), pos.shape[1])
    return out


def all_pairs_topk(rows: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int, *, margin: int = 16,
                   rows16: Any = None, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Every query against every row (no index): products of ``_TILE`` queries in bfloat16, each
    query's ``k + margin`` best re-scored in float32, its top k by that score then id (as
    :func:`sepadan.batch.topk.shard_topk` orders them); the tiles spread over ``threads``. The peer
    that shows what the lower precision buys without the cells."""
    from sepadan.batch.cells import each_block, rows_topk

    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    ids = np.asarray(ids, dtype=np.int64)
    rows16 = to_bf16(rows) if rows16 is None else rows16
    out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_i = np.full((len(queries), k), -1, dtype=np.int64)
    take = min(k + margin, len(rows))

    def one(lo: int) -> None:
        q = queries[lo:lo + _TILE]
        found = approx_top(to_bf16(q), rows16, take)
        out_s[lo:lo + len(q)], out_i[lo:lo + len(q)] = rows_topk(exact_scores(q, rows, found), ids[found], k)

    if len(rows):
        with one_thread():
            each_block(one, range(0, len(queries), _TILE), threads)
    return out_s, out_i
