"""What the resident memory of a process serving shortlists is made of, part by part, on the demo
workers at one size (issue 15, item 4: the speed benchmark's 10.45 GB at a million).

    python experiments/memory_serving.py --workers 1000000 [--index ivf_sq8]

The process builds what the speed benchmark's query stage held, in the same order (records from
the JSON Lines through the data contract, profiles, profile vectors, the worker index, the matcher
with its table and cached masks, shortlists), and reads its resident memory (VmRSS, RssAnon,
RssFile after a garbage collection) after each part; then the benchmark's own peers (a FAISS flat
index over every row, BM25 over the workers' text), which a server does not hold. The index part
is built as ``build_index`` builds it for the kind asked for, then (for a FAISS kind) saved and
loaded from disk as a server starts: the float32 rows read into memory advised huge by default
(``--rows mapped``: the file mapped; bench_index.py --serving measures the index alone). Each
part's transparent huge pages are read from /proc/self/smaps_rollup. Results:
experiments/results/memory-serving.{json,md,png}.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
ROWS_HELD = {"memory": "read from disk into memory advised huge (sepadan/matching/pages.py)",
             "mapped": "memory-mapped from disk"}


def memory() -> dict[str, float]:
    gc.collect()
    text = Path("/proc/self/status").read_text()
    out = {key: round(int(re.search(rf"{key}:\s+(\d+)", text).group(1)) / 2**20, 3)
           for key in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}
    rollup = re.search(r"AnonHugePages:\s+(\d+)", Path("/proc/self/smaps_rollup").read_text())
    out["AnonHugePages"] = round(int(rollup.group(1)) / 2**20, 3) if rollup else 0.0
    return out


def measure(n: int, kind: str, work: Path, gather_max_bytes: int | None = None,
            also_bound: int | None = None, rows: str = "memory") -> dict[str, Any]:
    import numpy as np

    from sepadan.config import Settings
    from sepadan.engine import Engine
    from sepadan.evaluation.speed import EncoderSpec, SpeedConfig, _matcher, _records, generate_pool
    from sepadan.evaluation.speed_index import machine
    from sepadan.matching.index import build_index
    from sepadan.matching.persist import load_index, save_index

    config = SpeedConfig(sizes=(n,))
    folder = work / f"data-{n}"
    if not (folder / "workers.jsonl").exists():  # in a process of its own: its memory is not ours
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            pool.submit(generate_pool, folder, n, config).result()
    parts: list[dict[str, Any]] = []
    last = memory()

    def part(name: str, seconds: float) -> None:
        nonlocal last
        now = memory()
        parts.append({"part": name, "added_gb": round(now["VmRSS"] - last["VmRSS"], 3),
                      "added_anon_gb": round(now["RssAnon"] - last["RssAnon"], 3),
                      "huge_gb": now["AnonHugePages"],
                      "rss_gb": now["VmRSS"], "seconds": round(seconds, 1)})
        logging.info("%s: %s (%.1fs)", name, parts[-1], seconds)
        last = now

    out: dict[str, Any] = {"workers": n, "index_kind": kind, "rows": rows, "machine_start": machine()}
    t = time.perf_counter()
    encoder = EncoderSpec(cache_url=f"sqlite:///{(work / 'phrases.db').resolve()}").load()
    engine = Engine(Settings(home=work / f"home-{n}"), encoder=encoder, today=config.today)
    engine.taxonomy  # noqa: B018 (loaded here, not inside a later part)
    part("python, libraries, model, taxonomy and lexicon", time.perf_counter() - t)
    t = time.perf_counter()
    records = {k: _records(k, folder / f"{k}.jsonl") for k in ("workers", "vacancies", "agencies")}
    part("records (workers, vacancies, agencies)", time.perf_counter() - t)
    t = time.perf_counter()
    profiler = engine.profiler
    profiler.prepare(records["workers"], records["vacancies"])
    profiled = {"w_prof": [profiler.worker(w) for w in records["workers"]],
                "v_prof": [profiler.vacancy(v) for v in records["vacancies"]]}
    part("profiles (and the profiler's caches)", time.perf_counter() - t)
    t = time.perf_counter()
    w_phrases = [profiler.worker_phrases(w, p) for w, p in zip(records["workers"], profiled["w_prof"])]
    vectors = profiler.vectors(w_phrases)
    del w_phrases
    profiled["v_vectors"] = profiler.vectors([profiler.vacancy_phrases(v, p) for v, p in
                                              zip(records["vacancies"], profiled["v_prof"])])
    part("profile vectors (float32, 384-d)", time.perf_counter() - t)
    t = time.perf_counter()
    index = build_index(vectors, kind=kind, ef_construction=config.ef_construction)
    if kind != "exact":  # as a server starts: the index read from disk, its float32 rows in
        # huge-page-backed memory (rows "memory", the library's default) or mapped ("mapped")
        where = work / f"serving-index-{n}"
        save_index(where, index, [str(i) for i in range(index.size)], side="workers", model="bench",
                   fingerprint="bench")
        del index, vectors
        index, _, _ = load_index(where, model="bench", rows=rows)
    if gather_max_bytes is not None:  # the contiguous copies' bound, if not the library's default
        from sepadan.matching.gathered import GatheredRows

        index.gathered = GatheredRows(max_bytes=gather_max_bytes)
    held = {"memory": "rows read into huge pages", "mapped": "rows mapped"}[rows]
    part(f"worker index ({kind}{f', loaded from disk, {held}' if kind != 'exact' else ''})", time.perf_counter() - t)
    t = time.perf_counter()
    matcher = _matcher(engine, records, profiled, index, config)
    part("matcher: worker table, vacancy index, concept index, warm", time.perf_counter() - t)
    t = time.perf_counter()
    usable = [v.id for v in matcher.vacancies.records][:: max(1, len(matcher.vacancies.records) // 100)]
    for vid in random.Random(config.seed).sample(usable, min(100, len(usable))):
        matcher.shortlist(vid, k=config.k)
    part("100 shortlists (masks cached per vacancy)", time.perf_counter() - t)
    t = time.perf_counter()
    out["copies"] = fill_copies(matcher)
    part("every vacancy's shortlist twice (contiguous copies of the exact-planned masks' rows)",
         time.perf_counter() - t)
    out["copies"] |= copies_held(matcher)
    out["serving_gb"] = last["VmRSS"]
    out["serving_anon_gb"] = last["RssAnon"]
    out["serving_file_gb"] = last["RssFile"]
    out["serving_huge_gb"] = last["AnonHugePages"]
    out["alternative"] = other_bound(matcher, part, also_bound) if also_bound is not None else None
    t = time.perf_counter()
    import faiss

    flat = faiss.IndexFlatIP(index.vectors.shape[1])
    flat.add(np.ascontiguousarray(index.vectors, dtype=np.float32))
    part("peer held by the speed benchmark: FAISS flat over every row", time.perf_counter() - t)
    t = time.perf_counter()
    from sepadan.evaluation.baselines import BM25Ranker, worker_text

    bm25 = BM25Ranker().fit([worker_text(w) for w in records["workers"]])
    part("peer held by the speed benchmark: BM25 over the workers", time.perf_counter() - t)
    del flat, bm25
    out["parts"] = parts
    out["peak_gb"] = memory()["VmHWM"]
    out["machine_end"] = machine()
    return out


def fill_copies(matcher: Any) -> dict[str, Any]:
    """Every vacancy with eligible workers shortlisted twice, so that each exact-planned mask is
    copied at its second search (sepadan/matching/gathered.py), as a server's would be after a
    day of repeated shortlists; what the planner sends exactly, and what copies of all of it
    would take unbounded."""
    index = matcher.workers.index
    plan_exact = getattr(index, "_plan_exact", lambda rows: True)
    sizes = [len(matcher.masks.get(("vacancy", v.id)).rows) for v in matcher.vacancies.records]
    exact = [m for m in sizes if 0 < m < index.size and plan_exact(m)]
    for v, m in zip(matcher.vacancies.records, sizes):
        if m:
            for _ in range(2):
                matcher.shortlist(v.id, k=30)
    getattr(index.gathered, "settle", lambda: None)()  # copies made on the copier's thread, all landed
    row_bytes = index.vectors.shape[1] * 4 + 8
    return {"vacancies_shortlisted": sum(1 for m in sizes if m), "shortlists": 2 * sum(1 for m in sizes if m),
            "exact_planned_masks": len(exact), "exact_planned_rows": int(sum(exact)),
            "unbounded_copy_bytes": int(sum(exact) * row_bytes),
            "largest_exact_planned_rows": int(max(exact, default=0))}


def other_bound(matcher: Any, part: Any, bound: int) -> dict[str, Any]:
    """What the copies held in resident memory (dropped, then measured), and the serving figure
    with the worker index's copies bounded at ``bound`` bytes instead (every vacancy shortlisted
    twice again, in the same process: what the first pass allocated besides the copies is held
    already)."""
    from sepadan.matching.gathered import GatheredRows

    index = matcher.workers.index
    t = time.perf_counter()
    index.gathered = GatheredRows(max_bytes=0)
    part("copies dropped (to see what they held; a server keeps them)", time.perf_counter() - t)
    dropped = memory()
    index.gathered = GatheredRows(max_bytes=bound)
    t = time.perf_counter()
    fill_copies(matcher)
    part(f"every vacancy's shortlist twice again, copies bounded at {bound / 2**20:g} MiB", time.perf_counter() - t)
    now = memory()
    return {"max_bytes": bound, "dropped_gb": dropped["VmRSS"], "serving_gb": now["VmRSS"],
            "serving_anon_gb": now["RssAnon"], "serving_file_gb": now["RssFile"]} | copies_held(matcher)


def copies_held(matcher: Any) -> dict[str, Any]:
    """The contiguous copies each index holds, and the bytes of the cached masks (bits, rows)."""
    masks = [matcher.masks.get(key) for key in matcher.masks.keys()]
    held: dict[str, Any] = {}
    for side in ("workers", "vacancies"):
        gathered = getattr(getattr(matcher, side).index, "gathered", None)
        if gathered is not None:
            held[side] = {"copies": len(gathered), "held_bytes": gathered.held_bytes,
                          "max_bytes": gathered.max_bytes}
    return {"held": held, "masks": len(masks), "mask_bits_bytes": sum(m.bits.nbytes for m in masks),
            "mask_rows_bytes": sum(m.rows.nbytes for m in masks),
            "mask_rows_dtype": str(masks[0].rows.dtype) if masks else None}


def write(result: dict[str, Any], stem: str) -> None:
    from sepadan.evaluation.speed_index import machine_line

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2))
    m0, m1 = result["machine_start"], result["machine_end"]
    lines = [f"# Resident memory of a process serving shortlists: {result['workers']:,} demo workers", "",
             f"{machine_line(m0, m1)}. Worker index kind `{result['index_kind']}`, its float32 rows "
             f"{ROWS_HELD[result.get('rows', 'mapped')]}. "
             "Each part's memory is the process's resident memory (VmRSS, after a garbage collection) "
             "after the part less before it.", "",
             "| part | added (GB) | of which anonymous (GB) | resident after (GB) | seconds |",
             "|---|---|---|---|---|"]
    lines += [f"| {p['part']} | {p['added_gb']} | {p['added_anon_gb']} | {p['rss_gb']} | {p['seconds']} |"
              for p in result["parts"]]
    lines += ["", f"Serving (everything up to the shortlists): **{result['serving_gb']} GB** resident "
              f"({result['serving_anon_gb']} GB anonymous, of which {result.get('serving_huge_gb', '?')} GB in "
              f"transparent huge pages; {result.get('serving_file_gb', '?')} GB mapped file pages); "
              f"peak of the whole run {result['peak_gb']} GB.", ""]
    copies = result.get("copies")
    if copies:
        held = "; ".join(f"{side} index {h['copies']} copies, {h['held_bytes']:,} bytes held of {h['max_bytes']:,}"
                         for side, h in copies["held"].items())
        lines += [f"Contiguous copies at the end: {held}. {copies['shortlists']} shortlists of "
                  f"{copies['vacancies_shortlisted']} vacancies (each twice); {copies['exact_planned_masks']} "
                  f"masks planned exact, {copies['exact_planned_rows']:,} rows in all (the largest "
                  f"{copies['largest_exact_planned_rows']:,}), which unbounded copies would take "
                  f"{copies['unbounded_copy_bytes']:,} bytes. Cached masks: {copies.get('masks')}, "
                  f"bits {copies.get('mask_bits_bytes', 0):,} bytes, rows ({copies.get('mask_rows_dtype')}) "
                  f"{copies.get('mask_rows_bytes', 0):,} bytes.", ""]
    alt = result.get("alternative")
    if alt:
        w = alt["held"]["workers"]
        lines += [f"With the worker index's copies dropped: {alt['dropped_gb']} GB resident. Bounded at "
                  f"{alt['max_bytes'] / 2**20:g} MiB instead (every vacancy shortlisted twice again in the same "
                  f"process): **{alt['serving_gb']} GB** resident ({alt['serving_anon_gb']} GB anonymous, "
                  f"{alt['serving_file_gb']} GB mapped file pages), {w['copies']} copies, {w['held_bytes']:,} bytes "
                  "held.", ""]
    lines += [f"![parts]({stem}.png)", ""]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    names = [p["part"] for p in result["parts"]]
    ax.barh(range(len(names)), [p["added_gb"] for p in result["parts"]], color="tab:blue")
    ax.set_yticks(range(len(names)), [n[:60] for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="resident memory added (GB)",
           title=f"{result['workers']:,} workers, index {result['index_kind']}: serving {result['serving_gb']} GB")
    fig.tight_layout()
    fig.savefig(RESULTS / f"{stem}.png", dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--index", default="ivf_sq8")
    parser.add_argument("--work", type=Path, default=Path("/tmp/sepadan-bench-index"))
    parser.add_argument("--out", default="memory-serving")
    parser.add_argument("--gather-max-mib", type=int, default=None,
                        help="the worker index's bound on contiguous copies (default: the library's)")
    parser.add_argument("--also-gather-max-mib", type=int, default=None,
                        help="after the serving figure, drop the copies and fill them again under this bound")
    parser.add_argument("--rows", choices=("memory", "mapped"), default="memory",
                        help="how the loaded index holds its float32 rows (load_index's rows)")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("alembic", "bm25s", "faiss", "sepadan.store", "sepadan.features.encoder"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    bound = None if opts.gather_max_mib is None else opts.gather_max_mib * 2**20
    also = None if opts.also_gather_max_mib is None else opts.also_gather_max_mib * 2**20
    write(measure(opts.workers, opts.index, opts.work, bound, also, opts.rows), opts.out)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main(sys.argv[1:])
