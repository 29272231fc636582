"""What the first exact search of a fresh mask spends beyond FAISS flat over the same rows (issue
15, item 2; experiments/results/speed-index-1m.md: 0.117 ms against 0.034 at 0.1% of a million).

    python experiments/first_search.py [--vectors /tmp/sepadan-bench-index/varied-1000000.vectors.npy]

A missing ``varied-N.vectors.npy`` is made first, as experiments/bench_index.py makes it
(``--make-only``: make it and stop).

The first search of a mask runs FAISS's k-NN by index over the rows where they lie in the whole
matrix (sepadan/matching/index.py); from the second on, over a contiguous copy
(sepadan/matching/gathered.py). This times, query by query and variant by variant in turn (the
same stretch of a shared machine's time for each), the pieces of that first search apart:

- the peer: ``IndexFlatIP`` over a contiguous copy of the rows (as the speed benchmark's);
- the first search as a server runs it: ``exact_search`` over a fresh read-only int32 rows array
  (a cached mask's), with a copies' keeper, the matrix read by ``read_rows`` into memory advised
  huge as ``load_index`` reads it (sepadan/matching/pages.py), and the kernel alone over that
  matrix; from 50,000 rows the search is split over two threads (sepadan/matching/index.py), and
  the kernel split over two Python threads is timed beside it from 5%;
- the same kernel as the first search, ``knn_inner_products_by_idx``, over that contiguous copy;
- that kernel in place over the matrix: read into memory (anonymous; transparent huge pages where
  numpy's allocation got them), the same bytes copied into memory without huge pages, and the
  file memory-mapped as a server holds it, plain and after ``madvise`` (random, will-need);
- the whole first search, ``exact_search`` with a fresh rows array and its own copies' keeper,
  and without the keeper;
- what else might be cheap: gathering the rows into a reused buffer and scanning that, reading
  one float of each row (or of each cache line of it) before the kernel, as a prefetch from
  Python; the rows' bounds check alone;
- the peer and the in-place kernel after the caches were flushed (a first search on a server
  where other work ran since the mask was last read);
- a server's first four searches of one fresh mask in turn, one call each: the first in place,
  the second earning the contiguous copy (made on a background thread since 1557cfe, in the
  search before), the rest over the copy once it is made.

Every time is the median over the queries of the best of three calls (one call where the caches
are flushed first), FAISS on one thread. Results: experiments/results/first-search-1m.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import logging
import mmap
import os
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
DEFAULT = Path("/tmp/sepadan-bench-index/varied-1000000.vectors.npy")
log = logging.getLogger("first_search")
ORDERS = {"rotating": "the order rotating (each variant always after the same one)",
          "drawn": "in an order drawn afresh for each query"}
FIRST = "first search as served: a fresh cached mask's rows (int32, ascending), copies' keeper, rows by read_rows (huge pages)"


def ensure_vectors(path: Path) -> None:
    """Make the varied set where ``path`` (``varied-N.vectors.npy``) is missing, as
    experiments/bench_index.py makes it in its work folder (the same rows, queries and texts,
    the packaged MiniLM with the folder's phrase cache), so both benchmarks read the same file."""
    if path.exists():
        return
    named = re.fullmatch(r"varied-(\d+)\.vectors\.npy", path.name)
    if named is None:
        raise SystemExit(f"{path} is missing, and not a varied-N.vectors.npy this script can make")
    from sepadan.evaluation.speed_index import cached_varied, varied_vectors
    from sepadan.features.encoder import CachedEncoder, open_model
    from sepadan.features.taxonomy import load_taxonomy
    from sepadan.store.db import Store

    n, work = int(named.group(1)), path.parent
    work.mkdir(parents=True, exist_ok=True)
    log.info("%s is missing: making %d varied vectors in %s", path, n, work)
    encoder = CachedEncoder(open_model(), Store.open(f"sqlite:///{(work / 'phrases.db').resolve()}"))
    cached_varied(work, n, lambda: varied_vectors(load_taxonomy(), encoder, n, keep_texts=True))


def plain_pages(matrix: np.ndarray) -> np.ndarray:
    """A copy of the matrix in memory that numpy did not ask huge pages for."""
    from numpy._core.multiarray import _set_madvise_hugepage

    before = _set_madvise_hugepage(False)
    try:
        out = np.empty_like(matrix)
        out[...] = matrix
    finally:
        _set_madvise_hugepage(before)
    return out


def mapped(path: Path, advice: int | None) -> np.ndarray:
    """The file's matrix memory-mapped read-only, every page touched once (as after a server's
    earlier searches), with ``advice`` given to the kernel first."""
    matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    if advice is not None:
        matrix._mmap.madvise(advice)
    matrix[:, 0].sum()  # one read of every row's page: resident, as on a warm server
    return matrix


def knn(queries: np.ndarray, vectors: np.ndarray, rows: np.ndarray, k: int) -> Any:
    from sepadan.matching.index import _knn_by_idx

    return _knn_by_idx(queries, vectors, rows, k)


class Flush:
    """Reads a buffer larger than the last-level cache, to push other data out of it."""

    def __init__(self, nbytes: int) -> None:
        self.buffer = np.ones(nbytes // 8, dtype=np.int64)

    def __call__(self) -> None:
        self.buffer.sum()


def timed(variants: dict[str, Callable[[np.ndarray], Any]], queries: np.ndarray, *, tries: int = 3,
          before: Callable[[], None] | None = None) -> dict[str, float]:
    """The median over the queries of each variant's best of ``tries`` calls on the query (the
    other processes' time slices on a shared machine land in the worse ones), the variants run
    in turn on each query in an order drawn afresh for each (rotating one order, each variant
    always followed the same one, and a variant after one that read the same rows came out up to
    1.5x faster at 1%: in 4602caf's run the kernel in place took 0.76 ms after the first search
    over the same matrix, 1.04 after the peer's copy); with ``before`` (run before every call),
    one call."""
    names = list(variants)
    for name in names:  # one warm-up call each
        variants[name](queries[:1])
    spent: dict[str, list[float]] = {name: [] for name in names}
    order = np.random.default_rng(len(queries) * len(names))
    for i in range(len(queries)):
        q = queries[i:i + 1]
        for name in order.permutation(names).tolist():
            best = float("inf")
            for _ in range(1 if before is not None else tries):
                if before is not None:
                    before()
                started = time.perf_counter()
                variants[name](q)
                best = min(best, time.perf_counter() - started)
            spent[name].append(best)
    return {name: round(float(np.median(values)) * 1000, 4) for name, values in spent.items()}


def first_search_variants(matrix: np.ndarray, rows: np.ndarray, k: int, *, gathered: bool,
                          cached: int = 0) -> Callable[[np.ndarray], Any]:
    """The whole first search of a fresh read-only rows array: copied in the call (a few
    microseconds), or with ``cached`` > 0 one of that many arrays made before the timing as a
    mask cache makes a mask's rows (read-only, noted ascending: sepadan/matching/masks.py), a new
    one each call (made in the call once they run out)."""
    from sepadan.matching.gathered import GatheredRows
    from sepadan.matching.index import exact_search

    keeper = GatheredRows() if gathered else None
    made = [cached_rows(rows) for _ in range(cached)]

    def run(q: np.ndarray) -> Any:
        if made:
            fresh = made.pop()
        else:
            fresh = rows.copy()
            fresh.setflags(write=False)
        return exact_search(matrix, q, k, fresh, gathered=keeper)

    return run


def cached_rows(rows: np.ndarray) -> np.ndarray:
    """A mask's rows as the mask cache holds them (``Allowed``): int32, read-only, known ascending."""
    from sepadan.matching.masks import mark_ascending

    fresh = rows.astype(np.int32)
    fresh.setflags(write=False)
    mark_ascending(fresh)
    return fresh


def searches_in_turn(matrix: np.ndarray, rows: np.ndarray, queries: np.ndarray, k: int, *, turns: int = 4
                     ) -> list[float]:
    """A server's first ``turns`` searches of one fresh mask (a read-only int32 rows array, one
    keeper of copies for all masks): the first in place, the second making the contiguous copy,
    the rest over it. The median over the queries of each turn (one call each, a new mask a
    query), ms."""
    from sepadan.matching.gathered import GatheredRows
    from sepadan.matching.index import exact_search

    keeper, spent = GatheredRows(), [[] for _ in range(turns)]
    for i in range(len(queries)):
        fresh = cached_rows(rows)
        q = queries[i:i + 1]
        for turn in range(turns):
            started = time.perf_counter()
            exact_search(matrix, q, k, fresh, gathered=keeper)
            spent[turn].append(time.perf_counter() - started)
    return [round(float(np.median(t)) * 1000, 4) for t in spent]


def split_in_two(queries: np.ndarray, matrix: np.ndarray, rows: np.ndarray, k: int, pool: Any) -> None:
    """The kernel in place over each half of the rows on a thread of its own, the two top-k merged."""
    half = len(rows) // 2
    parts = [pool.submit(knn, queries, matrix, part, k) for part in (rows[:half], rows[half:])]
    for part in parts:
        part.result()


def query_vectors(path: Path, matrix: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """The speed benchmark's queries stored beside its vectors (``varied-N.queries.npy``), or
    rows of the matrix drawn at random."""
    beside = path.with_name(path.name.replace(".vectors.npy", ".queries.npy"))
    if beside != path and beside.exists():
        return np.ascontiguousarray(np.load(beside, allow_pickle=False)[:n], dtype=np.float32)
    return np.ascontiguousarray(matrix[rng.choice(len(matrix), n, replace=False)])


def measure(path: Path, shares: list[float], n_queries: int, k: int, cold_queries: int, seed: int,
            large_queries: int = 40) -> dict[str, Any]:
    import faiss

    from sepadan.evaluation.speed_index import machine

    faiss.omp_set_num_threads(1)  # one query at a time on one thread, as the index benchmark times
    out: dict[str, Any] = {"vectors": str(path), "k": k, "machine_start": machine(), "order": "drawn",
                           "faiss_threads": faiss.omp_get_max_threads()}
    from sepadan.matching.pages import huge_share, read_rows

    matrix = np.load(path, allow_pickle=False)
    n, dim = matrix.shape
    plain = plain_pages(matrix)
    huge = read_rows(path)  # as a server loads its rows (sepadan/matching/persist.py)
    maps = {"mapped": mapped(path, None), "mapped, madvise random": mapped(path, mmap.MADV_RANDOM),
            "mapped, madvise will-need": mapped(path, mmap.MADV_WILLNEED)}
    out["rows"], out["dim"] = n, dim
    out["huge_page_share"] = {"in memory": huge_share(matrix), "in memory, no huge pages asked": huge_share(plain),
                              "read_rows (2 MiB-aligned, advised huge)": huge_share(huge)}
    log.info("%d x %d rows; huge-page share %s", n, dim, out["huge_page_share"])
    rng = np.random.default_rng(seed)
    queries = query_vectors(path, matrix, n_queries, rng)
    flush = Flush(1 << 30)
    pool = ThreadPoolExecutor(2)
    out["shares"] = []
    for share in shares:
        m = max(1, round(share * n))
        rows = np.sort(rng.choice(n, m, replace=False)).astype(np.int64)
        copy = np.ascontiguousarray(matrix[rows])
        local = np.arange(m, dtype=np.int64)
        sub = faiss.IndexFlatIP(dim)
        sub.add(copy)
        buffer = np.empty_like(copy)
        lines = np.arange(0, dim, 16)  # one float of each 64-byte line of a row

        def gather_then_scan(q: np.ndarray) -> None:
            np.take(matrix, rows, axis=0, out=buffer, mode="clip")  # "raise" would buffer it
            knn(q, buffer, local, k)

        asked = queries if share < 0.05 else queries[:large_queries]
        variants: dict[str, Callable[[np.ndarray], Any]] = {
            "peer: IndexFlatIP over a contiguous copy": lambda q: sub.search(q, k),
            FIRST: first_search_variants(huge, rows, k, gathered=True, cached=3 * len(asked) + cold_queries + 2),
            "kernel in place, read_rows (huge pages)": lambda q: knn(q, huge, rows, k),
            "kernel over the contiguous copy": lambda q: knn(q, copy, local, k),
            "kernel in place, in memory": lambda q: knn(q, matrix, rows, k),
            "kernel in place, in memory, no huge pages": lambda q: knn(q, plain, rows, k),
            **{f"kernel in place, {name}": (lambda q, mx=mx: knn(q, mx, rows, k)) for name, mx in maps.items()},
            "first search (exact_search, fresh rows, copies' keeper), in memory":
                first_search_variants(matrix, rows, k, gathered=True),
            "first search without the keeper, in memory": first_search_variants(matrix, rows, k, gathered=False),
            "first search, int32 rows (a cached mask's), in memory":
                first_search_variants(matrix, rows.astype(np.int32), k, gathered=True),
            "first search (exact_search, fresh rows, copies' keeper), mapped":
                first_search_variants(maps["mapped"], rows, k, gathered=True),
            "gather into a reused buffer, then the kernel over it": gather_then_scan,
            "touch one float a row, then the kernel in place": lambda q: (matrix[rows, 0], knn(q, matrix, rows, k)),
            "touch every cache line of the rows, then the kernel in place":
                lambda q: (matrix[rows[:, None], lines], knn(q, matrix, rows, k)),
            "bounds check of the rows alone": lambda q: (rows.min(), rows.max()),
        }
        if share >= 0.05:  # where a split might pay
            variants["kernel in place, read_rows, rows split over 2 Python threads"] = \
                lambda q: split_in_two(q, huge, rows, k, pool)
        hot = timed(variants, asked)
        cold_variants = {name: variants[name] for name in (
            "peer: IndexFlatIP over a contiguous copy", FIRST, "kernel in place, read_rows (huge pages)",
            "kernel in place, in memory", "kernel in place, in memory, no huge pages", "kernel in place, mapped")}
        cold = timed(cold_variants, queries[:cold_queries], before=flush)
        turns = searches_in_turn(huge, rows, asked, k)
        peer, peer_cold = hot["peer: IndexFlatIP over a contiguous copy"], cold["peer: IndexFlatIP over a contiguous copy"]
        out["shares"].append({"share": share, "rows": m, "queries": len(asked), "cold_queries": cold_queries,
                              "turns_ms": turns,
                              "hot_ms": hot, "hot_x_peer": {name: round(v / peer, 2) for name, v in hot.items()},
                              "cold_ms": cold, "cold_x_peer": {name: round(v / peer_cold, 2) for name, v in cold.items()}})
        log.info("%.1f%% (%d rows): %s; cold %s; in turn %s", share * 100, m, hot, cold, turns)
    out["machine_end"] = machine()
    return out


def aims(result: dict[str, Any]) -> list[str]:
    """Where we aim (issue 15 item 2): the first search as served within 2x of the peer."""
    rows = ["## Where we aim: the first search of a fresh mask within 2x of IndexFlatIP over the same rows", "",
            "| allowed | first search as served (ms) | peer (ms) | x peer | within 2x | caches flushed: x peer |",
            "|---|---|---|---|---|---|"]
    for s in result["shares"]:
        if FIRST not in s["hot_ms"]:
            continue
        x = s["hot_x_peer"][FIRST]
        rows.append(f"| {s['share']:.1%} ({s['rows']:,} rows) | {s['hot_ms'][FIRST]} | "
                    f"{s['hot_ms']['peer: IndexFlatIP over a contiguous copy']} | {x} | {'met' if x <= 2 else 'not met'} | "
                    f"{s['cold_x_peer'].get(FIRST, '')} |")
    return rows + [""]


def write(result: dict[str, Any], stem: str) -> None:
    from sepadan.evaluation.speed_index import machine_line

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2))
    m0, m1 = result["machine_start"], result["machine_end"]
    lines = [f"# The first exact search of a fresh mask, taken apart: {result['rows']:,} rows of {result['dim']}", "",
             f"{machine_line(m0, m1, 'cores (shared)')}; FAISS threads {result['faiss_threads']}; k {result['k']}. "
             f"Vectors `{result['vectors']}`. Share of the matrix in transparent huge pages: "
             f"{result['huge_page_share']}. Median over the queries of the best of 3 calls (cold: of one call after "
             f"a 1 GiB read), ms; the variants in turn on each query, {ORDERS[result.get('order', 'rotating')]}.", ""]
    lines += aims(result)
    for s in result["shares"]:
        lines += [f"## {s['share']:.1%} allowed ({s['rows']:,} rows, {s['queries']} queries; "
                  f"cold: {s['cold_queries']} queries, caches flushed before each)", "",
                  "| variant | ms (hot) | x peer | ms (cold) | x peer (cold) |", "|---|---|---|---|---|"]
        for name, ms in s["hot_ms"].items():
            cold = s["cold_ms"].get(name)
            lines.append(f"| {name} | {ms} | {s['hot_x_peer'][name]} | {'' if cold is None else cold} | "
                         f"{'' if cold is None else s['cold_x_peer'][name]} |")
        if "turns_ms" in s:
            peer = s["hot_ms"]["peer: IndexFlatIP over a contiguous copy"]
            turns = ", ".join(f"{i + 1}: {ms} ms ({ms / peer:.2f}x)" for i, ms in enumerate(s["turns_ms"]))
            lines += ["", f"A server's searches of one fresh mask in turn (rows by read_rows, one call each, a new "
                      "mask a query, back to back; the second earns the contiguous copy, made on the copier's "
                      "thread since 1557cfe and used once made, in the search before), median, x the hot peer: "
                      f"{turns}."]
        lines.append("")
    lines += [f"![first search]({stem}.png)", ""]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(result["shares"]), figsize=(7 * len(result["shares"]), 6), squeeze=False)
    for ax, s in zip(axes[0], result["shares"]):
        names = list(s["hot_ms"])
        at = np.arange(len(names))
        ax.barh(at - 0.2, [s["hot_x_peer"][n] for n in names], height=0.4, color="tab:blue", label="hot")
        ax.barh(at + 0.2, [s["cold_x_peer"].get(n, 0) for n in names], height=0.4, color="tab:orange",
                label="caches flushed first")
        ax.set_yticks(at, [n[:58] for n in names], fontsize=6)
        ax.axvline(1, color="grey", lw=0.8)
        ax.axvline(2, color="tab:red", lw=0.8, ls="--", label="2x the peer")
        ax.invert_yaxis()
        ax.set(xlabel="x IndexFlatIP over a contiguous copy (median ms)", title=f"{s['share']:.1%} of {result['rows']:,} rows")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{stem}.png", dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vectors", type=Path, default=DEFAULT)
    parser.add_argument("--shares", type=float, nargs="+", default=[0.001, 0.01, 0.1])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--large-queries", type=int, default=40, help="queries at a share of 5%% or more")
    parser.add_argument("--cold-queries", type=int, default=20)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", default="first-search-1m")
    parser.add_argument("--make-only", action="store_true", help="make the vectors where missing, time nothing")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    ensure_vectors(opts.vectors)
    if opts.make_only:
        return
    write(measure(opts.vectors, opts.shares, opts.queries, opts.k, opts.cold_queries, opts.seed, opts.large_queries),
          opts.out)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main(sys.argv[1:])
