"""The speed benchmark's result: one column per size, the latency, stage, ratio and recall tables,
the aims, and the charts (sepadan.evaluation.speed measures; this module only assembles)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sepadan.evaluation.results import Result, aim, latency_chart, recall_chart

if TYPE_CHECKING:
    from sepadan.evaluation.speed import SpeedConfig

NOTES = [
    "data: sepadan.demo_data at each size (fixed seed; its agencies, trainings, vacancies and "
    "workers, not its hiring outcomes, which no stage reads); its vocabulary is small (186 distinct "
    "profile phrases at every size), as a real pool's is: a million workers share a few thousand "
    "phrases, so cold embedding costs about a second whatever the size",
    "shortlist scoring: the retrieved candidates are scored together (sepadan.matching."
    "score_batch, the transparent scorer's scores to the bit) and only the k returned are "
    "explained in full (checks, reasons, gaps)",
    "import: Engine.import_file into a fresh SQLite home, in a process of its own; every other "
    "stage reads the same JSON Lines through the data contract and builds the matcher in memory "
    "from the same parts as Engine.build (profiles, profile vectors from the cached phrase "
    "vectors, indexes, WorkerTable, concept index, transparent scorer); Engine.build's reading of "
    "the records back from the store is not timed",
    "latency and recall: one query at a time, with one BLAS and one FAISS thread (a server "
    "runs concurrent queries one per core); index builds use both cores",
    "shortlist: the queries are open vacancies through a licensed agency with at least one "
    "eligible worker (about 6% of the demo's open vacancies have none, and would answer at once); "
    "the share of workers eligible for them (languages, age, documents, preferences) is in the "
    "ratios table",
    "index: the worker index is the one the engine's settings build (SEPADAN_INDEX_ANN, default "
    "ivf_sq8: IVF over 8-bit codes, re-ranked on the float32 rows, with the planner's exact search "
    "for small allowed sets); raw HNSW is compared only up to hnsw_compare_max workers",
    "recall: vacancy profile vectors with small noise as queries (200), eligible rows drawn at "
    "random; recall counts the exact top-k ids found, and apart from it the recall where a returned "
    "row whose score reaches the exact k-th score counts (ties: the demo's few phrases give many "
    "equal vectors, so this one is lenient); recall on varied vectors (ESCO-derived, hundreds of "
    "thousands of distinct vectors) for every index kind is in speed-index.md",
    "stages: a second pass over the shortlist queries with Matcher.shortlist(stages=...) marking "
    "each stage's end; the slowest 5% are the queries with the largest total",
    "CPU time: time.thread_time of the querying thread around each shortlist, what the query "
    "itself costs whatever else the machine runs; the aims are read on the wall times",
    "peers in the same run: FAISS flat over all workers, FAISS flat built over each query's "
    "eligible workers alone (the floor of exact filtered search; its build not timed) and BM25",
]
SHORTLIST = "sepadan shortlist (k=30: rules, retrieval, scoring, reasons)"
SHORTLIST_CPU = "sepadan shortlist, CPU time of the querying thread (the same queries)"
SUBSET = "FAISS flat (exact) search, top 30, over the eligible workers alone"
RECOMMEND = "sepadan recommend (k=10)"
DENSE = "sepadan index search, top 30, eligible workers only"
FLAT = "FAISS flat (exact) search, top 30, all workers"
BM25 = "BM25 (bm25s) retrieval, top 30, all workers"
LATENCY_TABLE = "Latency, one query at a time (ms)"
RECALL_TABLE = "ANN recall@10 against exact search"
MEASURES = {
    "import_rows_per_s": "import (Engine.import_file), workers a second",
    "import_peak_gb": "peak memory during import (GB)",
    "profile_rows_per_s": "normalise and profile, workers a second",
    "distinct_phrases": "distinct phrases in the worker profiles",
    "embed_cold_s": "embedding all distinct phrases, cache cold (model) (s)",
    "embed_cold_phrases_per_s": "embedding, cache cold (model), phrases a second",
    "embed_warm_phrases_per_s": "embedding, cache warm (read back), phrases a second",
    "profile_vectors_per_s": "profile vectors from cached phrase vectors, workers a second",
    "embed_peak_gb": "peak memory while building profile vectors (GB)",
    "index_kind": "worker index kind (engine settings)",
    "index_settings": "worker index settings",
    "index_build_s": "worker index build (s)",
    "hnsw_build_s": "HNSW build for the recall comparison, where the engine's index is not HNSW (s)",
    "flat_build_s": "FAISS flat build (s)",
    "index_peak_gb": "peak memory while building indexes (GB)",
    "peak_query_gb": "peak memory while querying, incl. the BM25 index (GB)",
    "load_start": "load average (1 min) when this size started (2 cores: above 1 is shared)",
    "load_end": "load average (1 min) when this size ended",
}


STAGE_TABLE = "Shortlist by stage (ms, a second pass over the same queries)"


def assemble(sizes: list[dict[str, Any]], config: SpeedConfig) -> Result:
    """One result: a column per size; latency, ratio and recall tables; the aims."""
    table = {f"{s['workers']:,} workers": _summary(s, config) for s in sizes}
    latency, ratios, recall, sweep, stages = [], [], [], [], []
    for s in sizes:
        lat = s["latency"]
        latency += [
            {"workers": s["workers"], "operation": name, **lat[name]}
            for name in (SHORTLIST, SHORTLIST_CPU, RECOMMEND, DENSE, FLAT, SUBSET, BM25)
            if name in lat
        ]
        ratios.append(
            {
                "workers": s["workers"],
                "eligible share (mean)": lat["eligible_share"],
                "BM25 index build (s)": lat["bm25_build_s"],
                **_ratios(lat),
            }
        )
        recall += s["recall"]
        sweep += s["ef_sweep"]
        stages += s.get("stages", [])
    result = Result(
        name="speed",
        task="speed",
        dataset="synthetic demo workers (sepadan.demo_data)",
        metrics=list(dict.fromkeys(m for v in table.values() for m in v)),
        table=table,
        layout="measures",
        params=asdict(config) | {"sizes": list(config.sizes)},
        extra_tables={
            LATENCY_TABLE: latency,
            STAGE_TABLE: stages,
            "Ratios (p50 against p50)": ratios,
            RECALL_TABLE: recall,
            **({f"HNSW efSearch, everyone eligible (this run's setting is {config.ef_search})": sweep}
               if sweep else {}),
        },
    )
    result.aims = _aims(sizes, config)
    result.notes += NOTES
    _count_empty(result, sizes)
    return result


def _count_empty(result: Result, sizes: list[dict[str, Any]]) -> None:
    """Shortlists and recommendations that returned nothing, over every size, for check_empty."""
    counts = [s["latency"].get("empty", {}) for s in sizes]
    by = {kind: sum(c.get(kind, 0) for c in counts) for kind in (SHORTLIST, RECOMMEND)}
    result.queries = sum(c.get("queries", 0) for c in counts)
    result.empty = {
        "by_system": by,
        "no_candidate": by[SHORTLIST],
        "hint": "the generated vacancies should be open through a licensed agency",
    }


def _summary(size: dict[str, Any], config: SpeedConfig) -> dict[str, Any]:
    """The headline numbers of one size: the measures, p50/p99 latencies and planned recall."""
    out = {label: size.get(key) for key, label in MEASURES.items()}
    lat = size["latency"]
    for name, short in (
        (SHORTLIST, "shortlist"),
        (SHORTLIST_CPU, "shortlist thread CPU"),
        (RECOMMEND, "recommend"),
        (FLAT, "FAISS flat search"),
        (BM25, "BM25 retrieval"),
    ):
        out[f"{short} p50 (ms)"], out[f"{short} p99 (ms)"] = (
            lat[name]["p50_ms"],
            lat[name]["p99_ms"],
        )
    for row in size["recall"]:
        out[f"recall@{config.recall_k}, {row['eligible']} eligible (planned search)"] = row[
            f"planned recall@{config.recall_k}"
        ]
    return out


def _ratios(lat: dict[str, Any]) -> dict[str, float]:
    flat, bm25 = lat[FLAT]["p50_ms"], lat[BM25]["p50_ms"]
    dense, short = lat[DENSE]["p50_ms"], lat[SHORTLIST]["p50_ms"]
    subset = lat.get(SUBSET, {}).get("p50_ms")
    return {
        "sepadan index search / flat over the eligible alone": round(dense / max(subset, 1e-6), 2)
        if subset is not None else None,
        "flat search / sepadan index search": round(flat / max(dense, 1e-6), 2),
        "sepadan shortlist / flat search": round(short / max(flat, 1e-6), 2),
        "sepadan shortlist / BM25 retrieval": round(short / max(bm25, 1e-6), 2),
    }


def chart_makers(result: Result) -> list[tuple[str, Callable[[Path], Path]]]:
    """For :func:`sepadan.evaluation.results.write`: the latency and recall charts of a result."""
    latency, recall = result.extra_tables[LATENCY_TABLE], result.extra_tables[RECALL_TABLE]
    stages = result.extra_tables.get(STAGE_TABLE, [])
    charts = [("latency", lambda p: latency_chart(latency, p)), ("recall", lambda p: recall_chart(recall, p))]
    if stages:
        charts.append(("stages", lambda p: _stage_chart(stages, p)))
    return charts


def _stage_chart(rows: list[dict[str, Any]], path: Path) -> Path:
    """Per size, each shortlist stage's mean over the slowest 5% of queries and over the rest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["workers"] for r in rows})
    fig, axes = plt.subplots(1, len(sizes), figsize=(5.5 * len(sizes), 3.8), squeeze=False)
    for ax, n in zip(axes[0], sizes):
        mine = [r for r in rows if r["workers"] == n and r["stage"] != "total"]
        ys = np.arange(len(mine))
        ax.barh(ys - 0.2, [r["mean ms, the rest"] or 0 for r in mine], 0.4, label="the other 95%")
        ax.barh(ys + 0.2, [r["mean ms, slowest 5%"] for r in mine], 0.4, label="slowest 5%")
        ax.set_yticks(ys, [r["stage"] for r in mine], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("mean ms a shortlist")
        ax.set_title(f"{n:,} workers: shortlist stages", fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _aims(sizes: list[dict[str, Any]], config: SpeedConfig) -> list[dict[str, Any]]:
    biggest = max(sizes, key=lambda s: s["workers"])
    n = f"{biggest['workers']:,}"
    p99 = biggest["latency"][SHORTLIST]["p99_ms"]
    full = [r for r in biggest["recall"] if r["eligible"] == "100.0%"]
    worst = min((r[f"planned recall@{config.recall_k}"] for r in biggest["recall"]), default=None)
    p50 = biggest["latency"][SHORTLIST]["p50_ms"]
    at_scale = biggest["workers"] >= 1_000_000
    out = [
        aim(f"shortlist p99 at {n} workers (ms)", p99, "<= 20 ms at 1,000,000 on 2 cores",
            p99 <= 20 if at_scale else None),
        aim(f"shortlist p50 at {n} workers (ms)", p50, "<= 8 ms at 1,000,000 on 2 cores",
            p50 <= 8 if at_scale else None),
    ]
    if full:
        value = full[0][f"planned recall@{config.recall_k}"]
        out.append(
            aim(
                f"ANN recall@{config.recall_k} at {n} workers, all eligible",
                value,
                ">= 0.95",
                value >= 0.95,
            )
        )
    out.append(
        aim(
            f"worst recall@{config.recall_k} over the selectivities at {n}",
            worst,
            ">= 0.95",
            None if worst is None else worst >= 0.95,
        )
    )
    return out
