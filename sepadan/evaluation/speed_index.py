"""Vector search at scale on varied vectors: every index kind at every share of eligible rows,
recall against exact ids, and the peers in the same run (issue 15, items 2, 4, 6).

Worker vectors come from ESCO-derived text, not the demo's few phrases: each worker is an ESCO
occupation written as its label and 3-7 of its essential or optional skills' labels, embedded by
the real model (each distinct label once) and averaged with the profile weights, so a million
workers hold a few hundred thousand distinct vectors. Queries are other occupations' texts
(a vacancy's title and required skills) embedded the same way.

For each share of allowed rows (drawn at random) and each index kind, one query at a time:

- recall@k against the exact top-k *ids* (ties with the k-th score are counted apart, as
  ``ties``: the share of missed ids whose score equals the k-th exact score);
- time per query, against two peers: FAISS ``IndexFlatIP`` over the full set (ignores the filter:
  what a search costs with no filtering at all; once a share) and ``IndexFlatIP`` built over the
  allowed rows alone (the cost floor of exact filtered search), timed for each index in blocks of
  10 queries alternating with it, so both see the same load;
- the allowed rows are a read-only array searched again and again, as a vacancy's cached mask is,
  so an exact search keeps a contiguous copy of them from the second search on
  (:mod:`sepadan.matching.gathered`): ``ms/query`` is the repeated search (after two warm-up
  searches), and the first and the second search of a fresh mask are timed apart (the first in
  place, the second making the copy), each on 20 fresh arrays; every time is the median of
  per-query times (on a shared machine a mean at microseconds a query is mostly other processes'
  time slices);
- the planner's choice (exact or ANN) for that count of allowed rows.

A result where most queries come back with nothing is refused (an error), not reported.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
SHARES = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0)


@dataclass(frozen=True, slots=True)
class VariedSet:
    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    queries: np.ndarray  # (q, dim)
    distinct_phrases: int
    distinct_vectors: int
    texts: list[str] | None  # worker texts for BM25 (None when not kept)
    query_texts: list[str]


def varied_vectors(taxonomy: Any, encoder: Any, n: int, *, queries: int = 200, seed: int = 7,
                   keep_texts: bool = False) -> VariedSet:
    """``n`` worker vectors and ``queries`` query vectors from ESCO occupations and their skills."""
    from scipy import sparse

    rng = random.Random(seed)
    occupations = [o for o in taxonomy.occupations.values() if len(o.essential) + len(o.optional) >= 3]
    skills = taxonomy.skills
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    texts: list[str] = []
    for i in range(n):
        occ = rng.choice(occupations)
        pool = [u for u in (*occ.essential, *occ.optional) if u in skills]
        chosen = rng.sample(pool, min(len(pool), rng.randint(3, 7)))
        phrases = [(occ.label, 1.5)] + [(skills[u].label, 1.0) for u in chosen]
        for text, weight in phrases:
            rows.append(i)
            cols.append(vocab.setdefault(text, len(vocab)))
            vals.append(weight)
        if keep_texts:
            texts.append("; ".join(t for t, _ in phrases))
    qtexts, qrows, qcols, qvals = [], [], [], []
    for i in range(queries):
        occ = rng.choice(occupations)
        pool = [u for u in occ.essential if u in skills] or [u for u in occ.optional if u in skills]
        phrases = [(occ.label, 1.5)] + [(skills[u].label, 1.0) for u in pool[:6]]
        for text, weight in phrases:
            qrows.append(i)
            qcols.append(vocab.setdefault(text, len(vocab)))
            qvals.append(weight)
        qtexts.append("; ".join(t for t, _ in phrases))
    log.info("varied vectors: %d workers, %d distinct phrases to embed", n, len(vocab))
    table = encoder.encode(list(vocab))
    weights = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)), dtype=np.float32)
    vectors = _unit(np.asarray(weights @ table, dtype=np.float32))
    qweights = sparse.csr_matrix((qvals, (qrows, qcols)), shape=(queries, len(vocab)), dtype=np.float32)
    qvectors = _unit(np.asarray(qweights @ table, dtype=np.float32))
    distinct = len(np.unique(vectors[: min(n, 200_000)].round(5), axis=0)) if n else 0
    return VariedSet(vectors, qvectors, len(vocab), distinct, texts if keep_texts else None, qtexts)


def cached_varied(folder: Path, n: int, build: Callable[[], VariedSet]) -> VariedSet:
    """The varied set of ``n`` rows from ``folder`` (``.npy`` and text files, no pickle), built
    and written there the first time."""
    stem = folder / f"varied-{n}"
    names = {"vectors": stem.with_suffix(".vectors.npy"), "queries": stem.with_suffix(".queries.npy"),
             "texts": stem.with_suffix(".texts.txt"), "query_texts": stem.with_suffix(".query-texts.txt"),
             "meta": stem.with_suffix(".json")}
    if all(path.exists() for path in names.values()):
        meta = json.loads(names["meta"].read_text())
        log.info("varied vectors: %d rows read from %s", n, folder)
        return VariedSet(np.load(names["vectors"], allow_pickle=False), np.load(names["queries"], allow_pickle=False),
                         meta["distinct_phrases"], meta["distinct_vectors"],
                         names["texts"].read_text(encoding="utf-8").split("\n"),
                         names["query_texts"].read_text(encoding="utf-8").split("\n"))
    data = build()
    folder.mkdir(parents=True, exist_ok=True)
    np.save(names["vectors"], data.vectors, allow_pickle=False)
    np.save(names["queries"], data.queries, allow_pickle=False)
    names["texts"].write_text("\n".join(data.texts or []), encoding="utf-8")
    names["query_texts"].write_text("\n".join(data.query_texts), encoding="utf-8")
    names["meta"].write_text(json.dumps({"distinct_phrases": data.distinct_phrases,
                                         "distinct_vectors": data.distinct_vectors}))
    return data


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


@dataclass(frozen=True, slots=True)
class KindSpec:
    """An index kind as :func:`sepadan.matching.index.build_index` builds it."""

    name: str
    kind: str
    options: dict[str, Any]


def build_kinds(vectors: np.ndarray, specs: list[KindSpec], *, peak: Callable[[], float | None]
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Each index, with its build time and resident memory after the build."""
    from sepadan.matching.index import build_index

    built, rows = {}, []
    for spec in specs:
        started, cpu = time.perf_counter(), time.process_time()
        built[spec.name] = build_index(vectors, kind=spec.kind, **spec.options)
        seconds = time.perf_counter() - started
        rows.append({"workers": len(vectors), "index": spec.name, "build_s": round(seconds, 1),
                     "build_cpu_s": round(time.process_time() - cpu, 1),
                     "index_bytes_per_row": round(index_bytes(built[spec.name]) / max(len(vectors), 1), 1),
                     "rss_gb_after": peak()})
        log.info("built %s over %d rows in %.1fs", spec.name, len(vectors), seconds)
    return built, rows


def index_bytes(index: Any) -> int:
    """Bytes the FAISS structure holds (codes and graph), without the float32 rows kept beside it."""
    raw = getattr(index, "index", None)
    if raw is None:
        return 0
    import faiss

    writer = faiss.VectorIOWriter()
    faiss.write_index(raw, writer)
    return int(writer.data.size())


def selectivity_table(built: dict[str, Any], vectors: np.ndarray, queries: np.ndarray, *, k: int = 10,
                      shares: tuple[float, ...] = SHARES, seed: int = 11, max_queries: int = 200,
                      exact_budget_s: float = 60.0) -> list[dict[str, Any]]:
    """Recall and time per query for every index at every share, with the two flat peers."""
    import faiss

    rng = np.random.default_rng(seed)
    n, out = len(vectors), []
    full = faiss.IndexFlatIP(vectors.shape[1])
    full.add(vectors)
    for share in shares:
        m = max(1, round(share * n))
        allowed = None if m >= n else np.sort(rng.choice(n, m, replace=False)).astype(np.int64)
        if allowed is not None:
            allowed.setflags(write=False)  # as a cached mask's rows are (masks.Allowed)
        nq = _queries_within(max_queries, n if allowed is None else m, exact_budget_s)
        qs = queries[:nq]
        truth_s, truth_i = _truth(vectors, qs, k, allowed)
        sub = faiss.IndexFlatIP(vectors.shape[1])
        sub.add(vectors if allowed is None else vectors[allowed])
        peer_full = _per_query(lambda q: full.search(q, k), qs)
        for name, index in built.items():
            got_s, got_i, ms, peer_sub = _search_all(index, qs, k, allowed, lambda q: sub.search(q, k))
            first, second = _fresh_masks(index, qs, k, allowed) if allowed is not None else (ms, ms)
            empty = int((got_i[:, 0] < 0).sum())
            if empty > nq // 2 and m >= k:
                raise RuntimeError(f"{name} at {share:.1%} allowed: {empty} of {nq} queries returned nothing")
            rec, ties = _recall(got_s, got_i, truth_s, truth_i)
            out.append({"workers": n, "allowed": f"{share:.1%}", "allowed_rows": m, "index": name,
                        "plan": _plan(index, allowed), "queries": nq, f"recall@{k} (ids)": round(rec, 4),
                        "missed ids tied with the k-th": round(ties, 4), "ms/query": round(ms, 3),
                        "flat over allowed rows ms": round(peer_sub, 3), "flat over all rows ms": round(peer_full, 3),
                        "x flat over allowed": round(ms / max(peer_sub, 1e-6), 2),
                        "first query on a mask ms": round(first, 3), "second query ms": round(second, 3),
                        "x flat, first query": round(first / max(peer_sub, 1e-6), 2),
                        "empty results": empty})
        log.info("%d rows, %.1f%% allowed: done", n, share * 100)
    return out


def _queries_within(max_queries: int, rows: int, budget_s: float) -> int:
    """Fewer queries where one exact query costs much (a million rows, everyone allowed)."""
    per_query = rows * 384 * 4 / 4e9  # about 4 GB/s of rows read
    return int(max(30, min(max_queries, budget_s / max(per_query * 4, 1e-9))))


def _truth(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None
           ) -> tuple[np.ndarray, np.ndarray]:
    from sepadan.matching.index import exact_search

    return exact_search(vectors, queries, k, allowed)


def _per_query(fn: Callable[[np.ndarray], Any], queries: np.ndarray) -> float:
    """The median ms of one query."""
    fn(queries[:1])
    spent = []
    for i in range(len(queries)):
        started = time.perf_counter()
        fn(queries[i:i + 1])
        spent.append(time.perf_counter() - started)
    return float(np.median(spent)) * 1000


def _search_all(index: Any, queries: np.ndarray, k: int, allowed: np.ndarray | None,
                peer: Callable[[np.ndarray], Any], *, block: int = 10) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Every query through the index, and through the peer in alternate blocks of ``block``
    queries (the same stretch of a shared machine's time for both); the median ms a query of
    each (a mean at a few microseconds a query is mostly the other processes' time slices)."""
    bits = None
    if allowed is not None:
        keep = np.zeros(index.size, dtype=bool)
        keep[allowed] = True
        bits = np.packbits(keep, bitorder="little")  # the matcher holds this bitmap cached per vacancy
    scores, ids = [], []
    for _ in range(2):  # the first search of these rows, and the second, which earns a copy of them
        index.search(queries[:1], k, allowed=allowed, bitmap=bits)
    gathered = getattr(index, "gathered", None)
    if gathered is not None:
        gathered.settle()  # the copy the second search started is made on the copier's thread
    peer(queries[:1])
    spent, spent_peer = [], []
    for start in range(0, len(queries), block):
        chunk = range(start, min(start + block, len(queries)))
        for i in chunk:
            started = time.perf_counter()
            s, j = index.search(queries[i:i + 1], k, allowed=allowed, bitmap=bits)
            spent.append(time.perf_counter() - started)
            scores.append(s)
            ids.append(j)
        for i in chunk:
            started = time.perf_counter()
            peer(queries[i:i + 1])
            spent_peer.append(time.perf_counter() - started)
    return (np.concatenate(scores), np.concatenate(ids), float(np.median(spent)) * 1000,
            float(np.median(spent_peer)) * 1000)


def _fresh_masks(index: Any, queries: np.ndarray, k: int, allowed: np.ndarray, *, reps: int = 20
                 ) -> tuple[float, float]:
    """The median ms of the first and of the second search of a mask never searched before: a
    fresh read-only copy of the rows each time (made outside the timing), one query searched
    twice."""
    keep = np.zeros(index.size, dtype=bool)
    keep[allowed] = True
    bits = np.packbits(keep, bitorder="little")
    first, second = [], []
    for i in range(min(reps, len(queries))):
        rows = allowed.copy()
        rows.setflags(write=False)
        q = queries[i:i + 1]
        started = time.perf_counter()
        index.search(q, k, allowed=rows, bitmap=bits)
        middle = time.perf_counter()
        index.search(q, k, allowed=rows, bitmap=bits)
        first.append(middle - started)
        second.append(time.perf_counter() - middle)
        del rows  # its copy goes with it
    return float(np.median(first)) * 1000, float(np.median(second)) * 1000


def _recall(got_s: np.ndarray, got_i: np.ndarray, truth_s: np.ndarray, truth_i: np.ndarray
            ) -> tuple[float, float]:
    """Recall against the exact ids, and the share of missed ids tied with the k-th exact score."""
    hits, missed, tied = [], 0, 0
    for gs, gi, ts, ti in zip(got_s, got_i, truth_s, truth_i):
        want = ti[ti >= 0]
        if not len(want):
            continue
        found = set(gi[gi >= 0].tolist())
        hits.append(sum(1 for t in want if t in found) / len(want))
        kth = ts[len(want) - 1]
        for t, s in zip(ti[: len(want)], ts[: len(want)]):
            if t not in found:
                missed += 1
                tied += bool(abs(s - kth) <= 1e-6)
    return (float(np.mean(hits)) if hits else 1.0), (tied / missed if missed else 0.0)


def _plan(index: Any, allowed: np.ndarray | None) -> str:
    if index.kind == "exact":
        return "exact index"
    if allowed is None:
        return "ANN"
    plan = getattr(index, "_plan_exact", None)
    return "exact (planned)" if plan and plan(len(allowed)) else "ANN + filter"


def serving_memory(built: dict[str, Any], folder: Path, queries: np.ndarray, *, shares: tuple[float, ...] = SHARES,
                   k: int = 10, seed: int = 11) -> list[dict[str, Any]]:
    """Resident memory of a fresh process that loads each index as a server does (persisted, rows
    mapped from the file) and answers planned filtered queries at every share: the index's part of
    a serving process, anonymous memory and mapped file pages apart."""
    import shutil
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from sepadan.matching.persist import save_index

    out = []
    for name, index in built.items():
        where = folder / "".join(c if c.isalnum() else "-" for c in name)
        shutil.rmtree(where, ignore_errors=True)
        save_index(where, index, [str(i) for i in range(index.size)], side="workers", model="bench",
                   fingerprint="bench")
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            got = pool.submit(_serve, where, queries, shares, k, seed, index.exact_filter_max
                              if hasattr(index, "exact_filter_max") else 0).result()
        out.append({"index": name, **got})
        shutil.rmtree(where, ignore_errors=True)
        log.info("serving memory of %s: %s", name, got)
    return out


def _serve(where: Path, queries: np.ndarray, shares: tuple[float, ...], k: int, seed: int,
           exact_filter_max: int) -> dict[str, Any]:
    from sepadan.matching.persist import load_index

    before = _memory()
    index, _, _ = load_index(where, model="bench", exact_filter_max=exact_filter_max)
    loaded = _memory()
    rng = np.random.default_rng(seed)
    for share in shares:
        m = max(1, round(share * index.size))
        allowed = None if m >= index.size else np.sort(rng.choice(index.size, m, replace=False))
        bits = None
        if allowed is not None:
            keep = np.zeros(index.size, dtype=bool)
            keep[allowed] = True
            bits = np.packbits(keep, bitorder="little")
        for q in queries[: 20 if share >= 0.5 else 50]:
            index.search(q, k, allowed=allowed, bitmap=bits)
    after = _memory()
    return {"rss_gb_empty_process": before["VmRSS"], "rss_gb_after_load": loaded["VmRSS"],
            "rss_gb_after_queries": after["VmRSS"], "anon_gb_after_queries": after["RssAnon"],
            "file_gb_after_queries": after["RssFile"], "peak_gb": after["VmHWM"]}


def _memory() -> dict[str, float]:
    """VmRSS, RssAnon, RssFile and VmHWM of this process in GB (Linux)."""
    import re

    text = Path("/proc/self/status").read_text()
    return {key: round(int(re.search(rf"{key}:\s+(\d+)", text).group(1)) / 2**20, 3)
            for key in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}


def bm25_peer(texts: list[str], query_texts: list[str], *, k: int = 30) -> dict[str, float]:
    """BM25 over the workers' text (bm25s): build time and ms per query, one at a time."""
    from sepadan.evaluation.baselines import BM25Ranker

    started = time.perf_counter()
    bm25 = BM25Ranker().fit(texts)
    build = time.perf_counter() - started
    ms = _per_query_texts(lambda t: bm25.search([t], k), query_texts[:100])
    return {"bm25_build_s": round(build, 1), "bm25_ms_per_query": round(ms, 3)}


def _per_query_texts(fn: Callable[[str], Any], texts: list[str]) -> float:
    fn(texts[0])
    started = time.perf_counter()
    for t in texts:
        fn(t)
    return (time.perf_counter() - started) * 1000 / len(texts)


def machine() -> dict[str, Any]:
    """Machine, commit and load average: every speed figure carries them."""
    import platform
    import subprocess

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                            cwd=os.path.dirname(__file__)).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True, cwd=os.path.dirname(__file__)).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "commit": commit, "tree_dirty": bool(dirty),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def machine_line(start: dict[str, Any], end: dict[str, Any], cores: str = "cores") -> str:
    """Where a result ran, for its report: CPU, cores, commit, the load average at both ends."""
    return (f"{start['cpu']}, {start['cores']} {cores}, commit `{start['commit']}`"
            f"{' (with uncommitted changes)' if start['tree_dirty'] else ''}, load average "
            f"{start['load_average']} at the start, {end['load_average']} at the end")
