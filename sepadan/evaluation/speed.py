"""Speed at 10k, 100k and 1M workers: import, embedding, index build, memory, latency, ANN recall,
against exact FAISS flat search and BM25 retrieval measured in the same run.

Each size runs in a fresh process (so peak memory is that size's alone) on the synthetic demo data
(``sepadan.demo_data``, fixed seed): realistic phrases, languages, documents and agencies, so the
eligibility rules do real work. What is measured:

- import: ``Engine.import_file("workers", ...)`` into a fresh SQLite home (validation, PII
  encryption, upsert), rows a second; run up to ``import_max`` workers.
- records and profiles: the same files validated through the data contract and normalised by the
  engine's Profiler, in memory (no store), at every size.
- embedding: the distinct phrases of all worker profiles through a phrase cache that is empty (cold:
  the model encodes each) and then full (warm: read back from the cache's SQLite file), and the
  profile vectors (weighted means) from the cached phrase vectors.
- index: ``build_index`` as the engine configures it from its settings (exact up to
  ``index_exact_max``, else ``index_ann``: ivf_sq8 by default, with its nprobe and the planner's
  switch points), FAISS flat (``IndexFlatIP``) for comparison, and HNSW for the recall comparison
  up to ``hnsw_compare_max`` workers (its build is minutes at a million).
- queries: ``Matcher.shortlist`` (k=30) and ``Matcher.recommend`` (k=10), built from the same
  parts as ``Engine.build`` (records, profiles, indexes, WorkerTable, concept index, transparent
  scorer); one query at a time; beside them a flat search and a BM25 retrieval (bm25s, top 30, over
  the workers' whole text) for the same vacancies; then the shortlists again with each stage
  timed (rules, dense, lexical, fusion, batch scoring, explaining the k returned).
- ANN recall@10 against exact search at 100%, 10%, 1% and 0.1% of workers eligible, by exact ids
  and apart from it counting ties: through the engine index's own planner (what the matcher does)
  and, where it was built, raw HNSW with the filter inside the search.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from sepadan.evaluation.baselines import BM25Ranker, vacancy_text, worker_text
from sepadan.evaluation.results import Result
from sepadan.evaluation.speed_recall import recall_rows
from sepadan.evaluation.speed_report import (BM25, DENSE, FLAT, RECOMMEND, SHORTLIST, SHORTLIST_CPU, SUBSET,
                                             assemble)
from sepadan.features.encoder import CachedEncoder

log = logging.getLogger(__name__)
GB = 1024**3
@dataclass(frozen=True, slots=True)
class SpeedConfig:
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    vacancies: int = 500
    queries: int = 100
    recall_queries: int = 200
    selectivities: tuple[float, ...] = (1.0, 0.1, 0.01, 0.001)
    k: int = 30
    recall_k: int = 10
    import_max: int = 100_000
    seed: int = 20261123
    today: date = date(2026, 11, 1)
    index_exact_max: int = 50_000  # the engine's settings (sepadan.config.Settings) from here on
    index_ann: str = "ivf_sq8"
    ivf_nprobe: int = 32
    exact_filter_max: int | None = None  # None: the index kind's measured switch points (index.PLAN)
    exact_filter_share: float | None = None
    hnsw_m: int = 32
    ef_search: int = 256
    ef_construction: int = 80
    hnsw_compare_max: int = 100_000  # raw HNSW recall and its efSearch sweep up to this many workers


@dataclass(frozen=True, slots=True)
class EncoderSpec:
    """How a child process loads the encoder: a model folder (None: the default) and a cache URL."""

    model_path: Path | None = None
    sha256: str | None = None
    cache_url: str | None = None

    def load(self) -> CachedEncoder:
        from sepadan.features.encoder import open_model
        from sepadan.store.db import Store

        cache = Store.open(self.cache_url) if self.cache_url else None
        return CachedEncoder(open_model(self.model_path, self.sha256), cache)


@dataclass
class Clock:
    """Peak resident memory (Linux: VmHWM, reset through clear_refs) and wall time of a stage."""

    marks: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def reset_peak() -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass

    @staticmethod
    def peak_gb() -> float | None:
        try:
            found = re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())
        except OSError:
            return None
        return round(int(found.group(1)) * 1024 / GB, 2) if found else None


def run_speed(
    config: SpeedConfig,
    encoder: EncoderSpec,
    workdir: Path,
    *,
    isolate: bool = True,
    log_level: int = logging.INFO,
) -> Result:
    """Measure every size (each in a fresh process when ``isolate``) and assemble the result."""
    sizes = []
    for n in config.sizes:
        log.info("speed: %d workers", n)
        started = time.perf_counter()
        sizes.append(
            _in_process(
                measure_size, n, config, encoder, workdir, isolate=isolate, log_level=log_level
            )
        )
        log.info("speed: %d workers done in %.0fs", n, time.perf_counter() - started)
    return assemble(sizes, config)


def _in_process(fn: Callable[..., Any], *args: Any, isolate: bool, log_level: int) -> Any:
    if not isolate:
        return fn(*args)
    with ProcessPoolExecutor(
        1, mp_context=get_context("spawn"), initializer=_child_logging, initargs=(log_level,)
    ) as pool:
        return pool.submit(fn, *args).result()


def _child_logging(level: int) -> None:
    import sys

    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    for noisy in (
        "sentence_transformers",
        "bm25s",
        "alembic",
        "faiss",
        "sepadan.store",
        "sepadan.features.encoder",
        "sepadan.ingest.importer",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def measure_size(n: int, config: SpeedConfig, spec: EncoderSpec, workdir: Path) -> dict[str, Any]:
    """Everything measured at one size; returns plain data (it crosses a process boundary)."""
    from sepadan.config import Settings
    from sepadan.engine import Engine

    folder = workdir / f"data-{n}"
    paths = {k: folder / f"{k}.jsonl" for k in ("agencies", "trainings", "vacancies", "workers")}
    if not all(p.exists() for p in paths.values()):
        _generate(folder, n, config)
    out: dict[str, Any] = {"workers": n, "load_start": round(os.getloadavg()[0], 2)}
    encoder = spec.load()
    settings = Settings(
        home=workdir / f"home-{n}",
        index_exact_max=config.index_exact_max,
        index_ann=config.index_ann,
        ivf_nprobe=config.ivf_nprobe,
        hnsw_m=config.hnsw_m,
        hnsw_ef_search=config.ef_search,
        hnsw_ef_construction=config.ef_construction,
        exact_filter_max=config.exact_filter_max,
        exact_filter_share=config.exact_filter_share,
    )
    engine = Engine(settings, encoder=encoder, today=config.today)
    if n <= config.import_max:
        out |= _in_process(
            _import, paths, n, workdir / f"import-{n}", isolate=True, log_level=logging.WARNING
        )
    records = {kind: _records(kind, paths[kind]) for kind in ("workers", "vacancies", "agencies")}
    log.info("%d: import measured, records read", n)
    profiled = _profile(engine, records, out)
    out |= _embed(engine, profiled, encoder, workdir / f"cold-cache-{n}.db")
    log.info("%d: profiles and vectors built", n)
    built = _indexes(profiled["w_vectors"], config, out)
    matcher = _matcher(engine, records, profiled, built["index"], config)
    log.info("%d: indexes built, matcher ready", n)
    queries = _query_vacancies(matcher, config)
    with _one_thread():
        out["latency"] = _latency(matcher, built, records, profiled, queries, config)
        out["stages"] = _stages(matcher, queries, config)
        log.info("%d: latency and stages measured", n)
        out["recall"], out["ef_sweep"] = recall_rows(built, profiled, config)
    out["peak_query_gb"] = Clock.peak_gb()
    out["load_end"] = round(os.getloadavg()[0], 2)
    return out


@contextmanager
def _one_thread() -> Iterator[None]:
    """One BLAS and one FAISS (OpenMP) thread: one query per core, as a server handling
    concurrent requests runs them, and steadier timings on a shared machine."""
    import faiss
    from threadpoolctl import threadpool_limits

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        faiss.omp_set_num_threads(before)


def _generate(folder: Path, n: int, config: SpeedConfig) -> None:
    """The demo data at this size, written by a separate process (its memory is not ours)."""
    started = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        pool.submit(generate_pool, folder, n, config).result()
    log.info("generated %d workers in %.0fs", n, time.perf_counter() - started)


def generate_pool(folder: Path, n: int, config: SpeedConfig) -> None:
    """The demo files this benchmark reads (agencies, trainings, vacancies, workers), the same rows
    as ``sepadan.demo_data.generate`` writes; not its hiring outcomes, whose simulation over every
    round does not scale to a million workers and which no stage here reads."""
    from sepadan.demo_data import _Generator, _write_jsonl

    gen = _Generator(random.Random(config.seed), config.today, lambda kind, done, total: None)
    rows = {"agencies": gen.agencies(40), "trainings": gen.trainings(60)}
    rows["vacancies"] = gen.vacancies(config.vacancies)
    rows["workers"] = gen.workers(n)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, items in rows.items():
        _write_jsonl(folder / f"{kind}.jsonl", items)


def _import(paths: dict[str, Path], n: int, home: Path) -> dict[str, Any]:
    """Import the workers into a fresh home, in a process of its own (its memory is not ours)."""
    import shutil

    from sepadan.config import Settings
    from sepadan.engine import Engine

    shutil.rmtree(home, ignore_errors=True)
    engine = Engine(Settings(home=home))
    for kind in ("agencies", "trainings", "vacancies"):
        engine.import_file(kind, paths[kind])
    Clock.reset_peak()
    started = time.perf_counter()
    engine.import_file("workers", paths["workers"])
    seconds = time.perf_counter() - started
    return {
        "import_rows_per_s": round(n / seconds),
        "import_seconds": round(seconds, 1),
        "import_peak_gb": Clock.peak_gb(),
    }


def _records(kind: str, path: Path) -> list[Any]:
    """Records straight from a JSON Lines file through the data contract (no store)."""
    from sepadan.contract import MODELS

    model = MODELS[kind]
    with path.open(encoding="utf-8") as handle:
        return [
            model.model_validate(json.loads(line)).to_record() for line in handle if line.strip()
        ]


def _profile(engine: Any, records: dict[str, list[Any]], out: dict[str, Any]) -> dict[str, Any]:
    Clock.reset_peak()
    started = time.perf_counter()
    profiler = engine.profiler
    workers, vacancies = records["workers"], records["vacancies"]
    profiler.prepare(workers, vacancies)
    w_prof = [profiler.worker(w) for w in workers]
    v_prof = [profiler.vacancy(v) for v in vacancies]
    seconds = time.perf_counter() - started
    out["profile_rows_per_s"] = round(len(workers) / seconds)
    w_phrases = [profiler.worker_phrases(w, p) for w, p in zip(workers, w_prof, strict=True)]
    v_phrases = [profiler.vacancy_phrases(v, p) for v, p in zip(vacancies, v_prof, strict=True)]
    return {"w_prof": w_prof, "v_prof": v_prof, "w_phrases": w_phrases, "v_phrases": v_phrases}


def _embed(
    engine: Any, profiled: dict[str, Any], encoder: CachedEncoder, cold_db: Path
) -> dict[str, Any]:
    from sepadan.store.db import Store

    distinct = list(dict.fromkeys(t for phrases in profiled["w_phrases"] for t, _ in phrases if t))
    cold_db.unlink(missing_ok=True)
    store = Store.open(f"sqlite:///{cold_db.resolve()}")
    timings = {}
    for label in ("cold", "warm"):
        started = time.perf_counter()
        CachedEncoder(encoder.encoder, store).encode(distinct)
        timings[label] = time.perf_counter() - started
    Clock.reset_peak()
    started = time.perf_counter()
    profiled["w_vectors"] = engine.profiler.vectors(profiled["w_phrases"])
    seconds = time.perf_counter() - started
    profiled["v_vectors"] = engine.profiler.vectors(profiled["v_phrases"])
    del profiled["w_phrases"]  # a million lists of phrases: not needed past this point
    return {
        "distinct_phrases": len(distinct),
        "embed_cold_s": round(timings["cold"], 2),
        "embed_cold_phrases_per_s": round(len(distinct) / timings["cold"]),
        "embed_warm_phrases_per_s": round(len(distinct) / timings["warm"]),
        "profile_vectors_per_s": round(len(profiled["w_vectors"]) / seconds),
        "embed_peak_gb": Clock.peak_gb(),
    }


def _indexes(vectors: np.ndarray, config: SpeedConfig, out: dict[str, Any]) -> dict[str, Any]:
    from sepadan.matching.index import build_index

    built = {}
    Clock.reset_peak()
    for name, kind in (("index", "auto"), ("flat", "flat"), ("hnsw", "hnsw")):
        if name == "hnsw" and built["index"].kind == "hnsw":
            built["hnsw"] = built["index"]
            continue
        if name == "hnsw" and len(vectors) > config.hnsw_compare_max:
            continue  # minutes to build at a million, for a kind the engine does not use
        started = time.perf_counter()
        built[name] = build_index(
            vectors,
            kind=kind,
            exact_max=config.index_exact_max,
            ann=config.index_ann,
            hnsw_m=config.hnsw_m,
            ef_search=config.ef_search,
            exact_filter_max=config.exact_filter_max,
            ef_construction=config.ef_construction,
            nprobe=config.ivf_nprobe,
            exact_filter_share=config.exact_filter_share,
        )
        out[f"{name}_build_s"] = round(time.perf_counter() - started, 2)
    out["index_kind"] = built["index"].kind
    out["index_settings"] = _index_settings(built["index"])
    out["index_peak_gb"] = Clock.peak_gb()
    return built


def _index_settings(index: Any) -> str:
    """What the worker index searches with: its kind's breadth and the planner's switch points."""
    if index.kind == "exact":
        return "exact"
    parts = [index.kind]
    if index.kind.startswith("ivf"):
        parts.append(f"nprobe {index.nprobe} (more as the allowed share falls)")
    elif index.kind.startswith("hnsw"):
        parts.append(f"efSearch {index.ef_search}")
    parts.append(f"exact when <= {index.exact_filter_max:,} rows or < {index.exact_filter_share:.0%} allowed")
    return ", ".join(parts)


def _matcher(
    engine: Any,
    records: dict[str, list[Any]],
    profiled: dict[str, Any],
    index: Any,
    config: SpeedConfig,
) -> Any:
    """The matcher as Engine.build assembles it, from in-memory parts."""
    from sepadan.matching.eligibility import Context
    from sepadan.matching.index import build_index
    from sepadan.matching.matcher import Matcher, Side
    from sepadan.matching.scorer import TransparentScorer
    from sepadan.matching.table import WorkerTable

    w, v = records["workers"], records["vacancies"]
    w_prof, v_prof = profiled["w_prof"], profiled["v_prof"]
    v_index = build_index(profiled["v_vectors"], exact_max=config.index_exact_max)
    matcher = Matcher(
        workers=Side(w, w_prof, index),
        vacancies=Side(v, v_prof, v_index),
        table=WorkerTable(w, w_prof),
        ctx=Context(config.today, {a.licence: a for a in records["agencies"]}, engine.rules),
        scorer=TransparentScorer(engine.taxonomy, similarity=engine._similarity),
    )
    matcher.warm()  # as Engine.build does
    return matcher


def _query_vacancies(matcher: Any, config: SpeedConfig) -> list[int]:
    """A seeded sample of vacancies open through a legal channel with at least one eligible worker
    (the others return at once, and would only lower the percentiles)."""
    from sepadan.matching.eligibility import vacancy_checks

    usable = [
        i
        for i, v in enumerate(matcher.vacancies.records)
        if all(c.ok for c in vacancy_checks(v, matcher.ctx))
        and len(matcher.masks.get(("vacancy", v.id)).rows)
    ]
    return sorted(random.Random(config.seed).sample(usable, min(config.queries, len(usable))))


def _timed(fn: Callable[[], Any], repeat: Sequence[Any]) -> list[float]:
    out = []
    for item in repeat:
        started = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _timed_with_cpu(fn: Callable[[Any], Any], repeat: Sequence[Any]) -> tuple[list[float], list[float]]:
    """Wall and thread CPU milliseconds of each call: on a shared machine the second is what the
    query itself costs, the first what a caller waits."""
    wall, cpu = [], []
    for item in repeat:
        started, used = time.perf_counter(), time.thread_time()
        fn(item)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - used) * 1000)
    return wall, cpu


def _subset_peer(vectors: np.ndarray, qvec: np.ndarray, masks: dict[int, np.ndarray], queries: list[int],
                 k: int) -> list[float]:
    """FAISS flat built over each query's eligible rows alone (the build is not timed), one query."""
    import faiss

    out = []
    for i in queries:
        sub = faiss.IndexFlatIP(vectors.shape[1])
        if len(masks[i]):
            sub.add(vectors[masks[i]])
        started = time.perf_counter()
        sub.search(qvec[i][None, :], k)
        out.append((time.perf_counter() - started) * 1000)
        del sub
    return out


def _pct(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
    }


def _latency(
    matcher: Any,
    built: dict[str, Any],
    records: dict[str, list[Any]],
    profiled: dict[str, Any],
    queries: list[int],
    config: SpeedConfig,
) -> dict[str, Any]:
    vids = [matcher.vacancies.records[i].id for i in queries]
    wids = [w.id for w in random.Random(config.seed + 1).sample(records["workers"], len(queries))]
    qvec = profiled["v_vectors"]
    held = {i: matcher.masks.get(("vacancy", matcher.vacancies.records[i].id)) for i in queries}
    masks = {i: a.rows for i, a in held.items()}  # the matcher's cached masks, as a shortlist reads them
    index, flat = built["index"], built["flat"]
    for warm in vids[:3]:
        matcher.shortlist(warm, k=config.k)
    empty = {SHORTLIST: 0, RECOMMEND: 0}  # queries with no result (counted, not timed apart)

    def counted(kind: str, results: Any) -> None:
        empty[kind] += not results.results

    wall, cpu = _timed_with_cpu(lambda v: counted(SHORTLIST, matcher.shortlist(v, k=config.k)), vids)
    out = {
        SHORTLIST: wall,
        SHORTLIST_CPU: cpu,
        RECOMMEND: _timed(lambda w: counted(RECOMMEND, matcher.recommend(w, k=10)), wids),
        DENSE: _timed(
            lambda i: index.search(
                qvec[i][None, :],
                config.k,
                allowed=None if len(masks[i]) == index.size else masks[i],
                bitmap=held[i].bits,
            ),
            queries,
        ),
        FLAT: _timed(lambda i: flat.index.search(qvec[i][None, :], config.k), queries),
        SUBSET: _subset_peer(flat.vectors, qvec, masks, queries, config.k),
    }
    Clock.reset_peak()
    started = time.perf_counter()
    bm25 = BM25Ranker().fit([worker_text(w) for w in records["workers"]])
    build_s = time.perf_counter() - started
    texts = {i: vacancy_text(matcher.vacancies.records[i]) for i in queries}
    out[BM25] = _timed(lambda i: bm25.search([texts[i]], config.k), queries)
    summary = {name: _pct(ms) for name, ms in out.items()}
    summary["bm25_build_s"] = round(build_s, 2)
    summary["empty"] = {**empty, "queries": len(vids)}
    summary["eligible_share"] = round(
        float(np.mean([len(m) / index.size for m in masks.values()])), 4
    )
    return summary


STAGES = ("rules", "dense", "lexical", "fused", "scored", "explained")
STAGE_LABELS = {
    "rules": "eligibility: the cached mask's rows",
    "dense": "dense search (the engine's index, planned)",
    "lexical": "lexical: shared concepts (ConceptIndex)",
    "fused": "reciprocal rank fusion",
    "scored": "batch scoring of the candidates",
    "explained": "explaining until k are returned",
}


class _StageClock:
    """Milliseconds from one stage's end to the next's, as ``Matcher.shortlist(stages=...)`` calls it."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self.last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.ms[stage] = self.ms.get(stage, 0.0) + (now - self.last) * 1000
        self.last = now


def _stages(matcher: Any, queries: list[int], config: SpeedConfig) -> list[dict[str, Any]]:
    """Each stage's p50 and p99 over the shortlist queries, and its mean over the slowest 5% of
    them (by their total), against the mean over the rest: what makes the tail."""
    rows = []
    for i in queries:
        clock = _StageClock()
        matcher.shortlist(matcher.vacancies.records[i].id, k=config.k, stages=clock)
        rows.append({name: clock.ms.get(name, 0.0) for name in STAGES})
    totals = np.array([sum(r.values()) for r in rows])
    slow = totals >= np.percentile(totals, 95)
    out = []
    for name in (*STAGES, "total"):
        ms = totals if name == "total" else np.array([r[name] for r in rows])
        out.append({
            "workers": matcher.table.n,
            "stage": "total" if name == "total" else STAGE_LABELS[name],
            **_pct(list(ms)),
            "mean ms": round(float(ms.mean()), 2),
            "mean ms, slowest 5%": round(float(ms[slow].mean()), 2),
            "mean ms, the rest": round(float(ms[~slow].mean()), 2) if (~slow).any() else None,
        })
    return out
