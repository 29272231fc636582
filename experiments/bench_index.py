"""Vector search on varied vectors at 100k and 1M rows: every index kind at every share of
allowed rows, against FAISS flat peers and BM25 in the same run (issue 15, items 2, 4, 6).

    python experiments/bench_index.py --sizes 100000,1000000 [--kinds exact,hnsw32-efc80,...]

Each size runs in its own process (its memory is its own). Results are written after every size
to experiments/results/speed-index.json, .md and .png (the real model embeds the phrases; its
phrase cache is a SQLite file in the work folder, so a rerun does not encode them again).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
KINDS = {
    "exact": ("exact", {}),
    "flat (FAISS with the filter inside)": ("flat", {"exact_filter_max": 0}),
    "hnsw32-efc200 (before)": ("hnsw", {"hnsw_m": 32, "ef_construction": 200, "ef_search": 256}),
    "hnsw32-efc80": ("hnsw", {"hnsw_m": 32, "ef_construction": 80, "ef_search": 256}),
    "hnsw24-efc80": ("hnsw", {"hnsw_m": 24, "ef_construction": 80, "ef_search": 256}),
    "hnsw32-sq8-efc80": ("hnsw_sq8", {"hnsw_m": 32, "ef_construction": 80, "ef_search": 256}),
    "hnsw32-sq8-efc40": ("hnsw_sq8", {"hnsw_m": 32, "ef_construction": 40, "ef_search": 256}),
    "hnsw16-sq8-efc40": ("hnsw_sq8", {"hnsw_m": 16, "ef_construction": 40, "ef_search": 256}),
    "ivf": ("ivf", {}),
    "ivf-np16": ("ivf", {"nprobe": 16}),
    "ivf-sq8": ("ivf_sq8", {}),
    "ivf-sq8-np16": ("ivf_sq8", {"nprobe": 16}),
}


def measure(n: int, kinds: list[str], work: Path, planned: bool, shares: tuple[float, ...] | None = None,
            raw_too: bool = True, serving: bool = False) -> dict[str, Any]:
    import faiss
    from threadpoolctl import threadpool_limits

    from sepadan.evaluation.speed import Clock
    from sepadan.evaluation.speed_index import SHARES, KindSpec, cached_varied, serving_memory, bm25_peer, build_kinds, machine, selectivity_table, varied_vectors
    from sepadan.features.encoder import CachedEncoder, open_model
    from sepadan.features.taxonomy import load_taxonomy
    from sepadan.store.db import Store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    out: dict[str, Any] = {"workers": n, "machine_start": machine()}
    encoder = CachedEncoder(open_model(), Store.open(f"sqlite:///{(work / 'phrases.db').resolve()}"))
    started = time.perf_counter()
    data = cached_varied(work, n, lambda: varied_vectors(load_taxonomy(), encoder, n, keep_texts=True))
    out |= {"vectors_s": round(time.perf_counter() - started, 1), "distinct_phrases": data.distinct_phrases,
            "distinct_vectors_in_first_200k": data.distinct_vectors}
    specs = []
    for name in kinds:
        kind, options = KINDS[name]
        options = dict(options)
        if not planned and kind != "exact":
            options["exact_filter_max"] = 0
        specs.append(KindSpec(name, kind, options))
    Clock.reset_peak()
    built, out["builds"] = build_kinds(data.vectors, specs, peak=Clock.peak_gb)
    out["planner"] = {name: [index.exact_filter_max, index.exact_filter_share] for name, index in built.items()
                      if hasattr(index, "exact_filter_share")}
    for index in built.values():
        if not planned and hasattr(index, "_plan_exact"):
            index._plan_exact = lambda n_allowed: False  # raw ANN with the filter inside, no planner
    faiss.omp_set_num_threads(1)
    with threadpool_limits(limits=1):
        extra = {"shares": shares} if shares else {}
        out["selectivity"] = selectivity_table(built, data.vectors, data.queries, **extra)
        if planned and raw_too:  # the same ANN indexes once more without the planner: where filtered ANN loses
            raw = {name: index for name, index in built.items() if hasattr(index, "_plan_exact")}
            for index in raw.values():
                index._plan_exact = lambda n_allowed: False
            out["selectivity_raw"] = selectivity_table(raw, data.vectors, data.queries, **extra)
        out |= bm25_peer(data.texts, data.query_texts)
    if serving:
        out["serving"] = serving_memory(built, work / "serving", data.queries, shares=shares or SHARES)
    out["peak_gb"] = Clock.peak_gb()
    out["machine_end"] = machine()
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/sepadan-bench-index"))
    parser.add_argument("--raw", action="store_true", help="ANN kinds without the planner (the filter inside only)")
    parser.add_argument("--out", default="speed-index")
    parser.add_argument("--shares", help="shares of allowed rows, comma-separated (default 0.1% to 100%)")
    parser.add_argument("--no-raw", action="store_true", help="skip the pass without the planner")
    parser.add_argument("--serving", action="store_true",
                        help="resident memory of a fresh process serving each persisted index")
    opts = parser.parse_args(argv)
    opts.work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"sizes": [], "planned": not opts.raw}
    for n in (int(s) for s in opts.sizes.split(",")):
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            shares = tuple(float(x) for x in opts.shares.split(",")) if opts.shares else None
            result["sizes"].append(pool.submit(measure, n, opts.kinds.split(","), opts.work, not opts.raw, shares,
                                               not opts.no_raw, opts.serving).result())
        write(result, opts.out)


def write(result: dict[str, Any], stem: str) -> None:
    from sepadan.evaluation.speed_index import machine_line
    from sepadan.matching.gathered import MAX_BYTES

    GATHER_MIB = MAX_BYTES // 2**20  # noqa: N806 (the copies' bound of the code that writes the report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2))
    lines = ["# speed: vector search on varied vectors, every index kind at every share allowed", ""]
    for s in result["sizes"]:
        m0, m1 = s["machine_start"], s["machine_end"]
        lines += [f"## {s['workers']:,} workers", "",
                  f"{machine_line(m0, m1)} (2 cores shared: above 1 the machine was busy). "
                  f"Vectors from {s['distinct_phrases']:,} distinct ESCO phrases "
                  f"({s['distinct_vectors_in_first_200k']:,} distinct vectors in the first 200k rows), "
                  f"built in {s['vectors_s']} s; peak memory {s['peak_gb']} GB. BM25 peer (bm25s over the "
                  f"same texts, top 30): build {s['bm25_build_s']} s, {s['bm25_ms_per_query']} ms a query.", "",
                  "| index | build, wall (s) | build, CPU of both cores (s) | index bytes a row (FAISS part) "
                  "| resident memory after build (GB) |", "|---|---|---|---|---|"]
        lines += [f"| {b['index']} | {b['build_s']} | {b.get('build_cpu_s', '-')} | {b['index_bytes_per_row']} "
                  f"| {b['rss_gb_after']} |" for b in s["builds"]]
        if s.get("planner"):
            lines += ["", "Planner in this run (exact at or under the rows, or under the share): " + "; ".join(
                f"{name} {most:,} rows, {share:.0%}" for name, (most, share) in s["planner"].items()) + "."]
        rows = s["selectivity"]
        keys = list(rows[0])
        lines += ["", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(str(r[c]) for c in keys) + " |" for r in rows]
        lines.append("")
        if s.get("selectivity_raw"):
            lines += ["The ANN indexes without the planner (the filter inside the search only; a search that "
                      "comes back short still falls back to exact):", "",
                      "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
            lines += ["| " + " | ".join(str(r[c]) for c in keys) + " |" for r in s["selectivity_raw"]]
            lines.append("")
        if s.get("serving"):
            lines += ["Resident memory of a fresh process that loads each index from disk as a server does "
                      "(rows memory-mapped from vectors.npy for every FAISS kind) and answers planned "
                      "filtered queries at every share (GB; anonymous memory and mapped file pages apart):", "",
                      "| index | empty process | after load | after queries | of which anonymous | of which "
                      "mapped file | peak |", "|---|---|---|---|---|---|---|"]
            lines += [f"| {r['index']} | {r['rss_gb_empty_process']} | {r['rss_gb_after_load']} "
                      f"| {r['rss_gb_after_queries']} | {r['anon_gb_after_queries']} | {r['file_gb_after_queries']} "
                      f"| {r['peak_gb']} |" for r in s["serving"]]
            lines.append("")
    lines += ["Recall is counted against the exact top-10 ids over the allowed rows; 'missed ids tied with "
              "the k-th' is the share of the missed ids whose exact score equals the 10th (a different "
              "but equally good answer). Queries one at a time, one thread; the flat peer over the "
              "allowed rows runs on the same queries for each index, in blocks of 10 alternating with it "
              "(the same stretch of the shared machine's time); the peer over all rows once a share. The share of allowed rows is drawn at random.", "",
              "The allowed rows are one read-only array searched again and again, as a vacancy's cached "
              "mask is: an exact search keeps a contiguous copy of them, started by its second search on "
              "a background thread and used once made "
              f"(sepadan/matching/gathered.py, at most {GATHER_MIB} MiB an index and never more than one copy of its matrix, one mask up to all of it; a larger "
              "mask is searched in place every time). Every time is the median of per-query times, the peers' "
              "too. *ms/query* and *x flat over allowed* are the repeated "
              "search, after two warm-up searches; *first query on a mask* (in place) and *second query* "
              "(which starts the copy, made on the copier's thread) are medians over 20 fresh arrays of the same rows, and *x flat, "
              "first query* sets the first against the same peer. The peer's own copy of the rows (its "
              "IndexFlatIP) is built before it is timed.", "",
              f"![ms per query]({stem}.png)", ""]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    chart(result, stem)


def chart(result: dict[str, Any], stem: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = result["sizes"]
    fig, axes = plt.subplots(2, len(sizes), figsize=(6 * len(sizes), 7), squeeze=False)
    for col, s in enumerate(sizes):
        rows = s["selectivity"]
        names = list(dict.fromkeys(r["index"] for r in rows))
        for name in names:
            mine = [r for r in rows if r["index"] == name]
            x = [r["allowed_rows"] / s["workers"] for r in mine]
            axes[0][col].plot(x, [r["ms/query"] for r in mine], marker="o", label=name)
            axes[1][col].plot(x, [r["recall@10 (ids)"] for r in mine], marker="o", label=name)
        peer = [r for r in rows if r["index"] == names[0]]
        if "first query on a mask ms" in peer[0]:
            axes[0][col].plot([r["allowed_rows"] / s["workers"] for r in peer], [r["first query on a mask ms"] for r in peer],
                              "k:", marker="x", label=f"{names[0]}: first query on a mask (in place)")
        axes[0][col].plot([r["allowed_rows"] / s["workers"] for r in peer], [r["flat over allowed rows ms"] for r in peer],
                          "k--", label="peer: FAISS flat over the allowed rows alone")
        axes[0][col].set(xscale="log", yscale="log", title=f"{s['workers']:,} rows: ms per query",
                         xlabel="share of rows allowed")
        axes[1][col].set(xscale="log", title=f"{s['workers']:,} rows: recall@10 (ids)", xlabel="share of rows allowed",
                         ylim=(0, 1.02))
        axes[1][col].axhline(0.95, color="tab:red", linestyle=":")
        axes[0][col].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{stem}.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main(sys.argv[1:])
