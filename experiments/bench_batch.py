"""Nightly batch benchmark: the local runner against Ray (2 workers) in the same run, at 1M workers x
10k job orders, a scaling model from 1 and 2 shards, and index-based candidates against all pairs.

    flock /tmp/sepadan-heavy.lock .venv/bin/python experiments/bench_batch.py            # 1M x 10k
    .venv/bin/python experiments/bench_batch.py --workers 20000 --orders 1000 --scale-at 10000 \\
        --phrases 600 --out /tmp/bench-batch                                                 # a quick run

1. **Phrases** (the real model): ``--phrases`` distinct ESCO skill and occupation labels, encoded by
   the batch's ``encode`` stage, once by the local runner and once by Ray's encoder actors (each
   loads the packaged all-MiniLM-L6-v2 and checks its weights), each in a child process of its own.
2. **Vectors** as the profiler makes them: 300 occupations, each with 25 skills of its own; a worker
   is one occupation (Zipf-like frequencies) with 4 of its skills and 1 skill from anywhere, a job
   order one occupation with 3-5 of its skills; a vector is the L2-normalised weighted sum of the
   phrase vectors (occupation 1.0, skills 0.8).
3. **Dense candidate pass** (``sepadan.batch.dense``: every order's exact top 30 per worker shard,
   merged; every worker's exact top 10 orders) at ``--workers`` x ``--orders`` over 2 shards, by the
   local runner and by Ray with 2 actors, each in a child process (wall time per stage, throughput,
   peak resident memory of the driver and of the busiest worker process), then the answers compared.
4. **Scaling**: Ray with 2 actors at ``--scale-at`` workers over 1 and 2 shards; the measured
   per-pair cost gives the model for 10M x 100k on N machines.
5. **Candidates through indexes**: per shard an IVF index (FAISS IndexIVFFlat, nlist sqrt(rows)) searched by the
   orders, and one over the orders searched by the workers, at several nprobe: time (search, and
   build) against the exact all-pairs pass of step 3, and recall@k against its exact lists.

Writes ``OUT/batch.md``, ``batch.json`` and ``batch.png`` (stamped with machine, date and commit).
Measurements on a shared machine are noisy: ratios compare runs made in the same invocation.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
log = logging.getLogger("bench_batch")
SEED = 20261203
SHORT_K, REC_K = 30, 10


# --- step 1 and 2: phrases and vectors -----------------------------------------------------------

def phrases(n: int, seed: int = SEED) -> tuple[list[str], list[str]]:
    """Distinct ESCO occupation labels (300) and skill labels (the rest), sampled with a seed."""
    from sepadan.features.taxonomy import default_data_dir, load_taxonomy

    t = load_taxonomy(default_data_dir())
    rng = np.random.default_rng(seed)
    occ = sorted({o.label for o in t.occupations.values()})
    skills = sorted({s.label for s in t.skills.values()} - set(occ))
    occ = [occ[i] for i in rng.choice(len(occ), 300, replace=False)]
    skills = [skills[i] for i in rng.choice(len(skills), n - 300, replace=False)]
    return occ, skills


def generate(table: np.ndarray, n_occ: int, n_workers: int, n_orders: int, seed: int = SEED
             ) -> tuple[np.ndarray, np.ndarray]:
    """Worker and order vectors from phrase vectors (rows: the occupations, then the skills)."""
    rng = np.random.default_rng(seed)
    n_skills = len(table) - n_occ
    own = rng.integers(0, n_skills, size=(n_occ, 25)) + n_occ  # each occupation's skills
    freq = 1.0 / np.arange(1, n_occ + 1) ** 0.8
    freq /= freq.sum()

    def side(n: int, picks: int, occ_weight: float, extra: bool) -> np.ndarray:
        out = np.empty((n, table.shape[1]), dtype=np.float32)
        for lo in range(0, n, 100_000):
            m = min(100_000, n - lo)
            occ = rng.choice(n_occ, size=m, p=freq)
            chosen = own[occ[:, None], rng.integers(0, 25, size=(m, picks))]
            v = occ_weight * table[occ] + 0.8 * table[chosen].sum(axis=1)
            if extra:
                v += 0.8 * table[rng.integers(n_occ, len(table), size=m)]
            out[lo:lo + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out

    return side(n_workers, 4, 1.0, True), side(n_orders, 4, 1.2, False)


# --- children: one measurement each, its own process (its own peak memory) ------------------------

def _runner(kind: str) -> Any:
    from sepadan.batch import LocalRunner, RayRunner

    if kind == "local":
        return LocalRunner()
    return RayRunner(workers=2, num_cpus=2, object_store_memory=6 * 2**30)


def _stage_rows(job: Any) -> list[dict[str, Any]]:
    from dataclasses import asdict

    return [asdict(r) for r in job.reports]


def child_encode(args: argparse.Namespace) -> dict[str, Any]:
    from sepadan.batch.job import BatchOptions, Stages
    from sepadan.batch.plan import partitions
    from sepadan.batch.publish import RunDir
    from sepadan.batch.stages import EncodeStage, ModelSpec
    from sepadan.features.encoder import DEFAULT_MODEL_SHA256, default_model_path, open_model

    occ, skills = phrases(args.phrases)
    texts = tuple(occ + skills)
    runner = _runner(args.runner)
    started = time.perf_counter()
    model = open_model() if args.runner == "local" else ModelSpec(str(default_model_path()), DEFAULT_MODEL_SHA256)
    load = time.perf_counter() - started
    job = Stages(None, runner, RunDir(Path(args.work), f"encode-{args.runner}"), BatchOptions(), None)
    job.stage(EncodeStage(runner.share(texts), model), partitions("encode", len(texts), 500, prefix="p"))
    runner.close()
    return {"stages": _stage_rows(job), "driver_model_load_s": round(load, 2), "phrases": len(texts),
            "driver_peak_mb": _peak_mb(), "seconds": round(time.perf_counter() - started, 2)}


def child_dense(args: argparse.Namespace) -> dict[str, Any]:
    from sepadan.batch.dense import DenseOptions, dense_candidates
    from sepadan.batch.job import BatchOptions, Stages
    from sepadan.batch.publish import RunDir
    from sepadan.batch.vectors import VectorShard

    work = Path(args.work)
    if args.threads:
        import faiss

        faiss.omp_set_num_threads(args.threads)
    workers = np.load(work / "workers.npy", mmap_mode="r")[:args.n]
    orders = np.ascontiguousarray(np.load(work / "orders.npy"))
    started = time.perf_counter()
    bounds = [round(i * args.n / args.shards) for i in range(args.shards + 1)]
    shards = [VectorShard(np.arange(a, b, dtype=np.int64), np.ascontiguousarray(workers[a:b]))
              for a, b in zip(bounds, bounds[1:])]
    prepare = time.perf_counter() - started
    runner = _runner(args.runner)
    up = time.perf_counter() - started - prepare
    job = Stages(None, runner, RunDir(work, args.run_id), BatchOptions(), None)
    t0 = time.perf_counter()
    dense_candidates(job, VectorShard(np.arange(len(orders), dtype=np.int64), orders), shards,
                     DenseOptions(shortlist_k=SHORT_K, recommend_k=REC_K, orders_per_partition=args.orders_chunk,
                                  workers_per_partition=args.workers_chunk, precision=args.precision))
    wall = time.perf_counter() - t0
    runner.close()
    return {"stages": _stage_rows(job), "prepare_s": round(prepare, 2), "runner_start_s": round(up, 2),
            "wall_s": round(wall, 2), "driver_peak_mb": _peak_mb(), "n": args.n, "orders": len(orders),
            "shards": args.shards, "runner": args.runner, "threads": args.threads or None,
            "precision": args.precision}


def child_ann(args: argparse.Namespace) -> dict[str, Any]:
    """IVF candidates in both directions against the exact lists of a finished dense run."""
    import faiss

    from sepadan.batch.topk import merge_topk
    from sepadan.batch.vectors import read_topk

    work = Path(args.work)
    workers = np.ascontiguousarray(np.load(work / "workers.npy", mmap_mode="r")[:args.n])
    orders = np.ascontiguousarray(np.load(work / "orders.npy"))
    run = work / args.run_id
    oids = np.arange(len(orders), dtype=np.int64)
    exact_short = merge_topk([read_topk(f, oids, SHORT_K) for f in sorted((run / "shortlist-topk").glob("*.parquet"))],
                             SHORT_K)[1]
    exact_rec = _rec_ids(run / "recommend-topk", args.n)
    out: dict[str, Any] = {"shortlists": [], "recommendations": []}
    bounds = [round(i * args.n / 2) for i in range(3)]
    built, indexes = time.perf_counter(), []
    for a, b in zip(bounds, bounds[1:]):  # one IVF index per shard, as each shard's worker would hold
        nlist = int(np.sqrt(b - a))
        quant = faiss.IndexFlatIP(workers.shape[1])
        index = faiss.IndexIVFFlat(quant, workers.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        rng = np.random.default_rng(SEED)
        index.train(workers[a + np.sort(rng.choice(b - a, min(b - a, 64 * nlist), replace=False))])
        index.add(workers[a:b])
        indexes.append((a, index))
    out["shortlist_build_s"] = round(time.perf_counter() - built, 2)
    for nprobe in args.nprobe_short:
        t = time.perf_counter()
        parts = []
        for a, index in indexes:
            index.nprobe = nprobe
            d, i = index.search(orders, SHORT_K)
            parts.append((d, np.where(i >= 0, i + a, -1)))
        _, got = merge_topk(parts, SHORT_K)
        out["shortlists"].append({"nprobe": nprobe, "search_s": round(time.perf_counter() - t, 3),
                                  "recall": _recall(got, exact_short)})
    t = time.perf_counter()
    nlist = int(np.sqrt(len(orders)))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(orders.shape[1]), orders.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(orders)
    index.add(orders)
    out["recommend_build_s"] = round(time.perf_counter() - t, 2)
    sample = np.random.default_rng(SEED).choice(args.n, min(args.n, args.rec_sample), replace=False)
    for nprobe in args.nprobe_rec:
        index.nprobe = nprobe
        t = time.perf_counter()
        _, got = index.search(workers[sample], REC_K)
        seconds = (time.perf_counter() - t) * args.n / len(sample)
        out["recommendations"].append({"nprobe": nprobe, "search_s": round(seconds, 3),
                                       "recall": _recall(got, exact_rec[sample]), "sampled": len(sample)})
    out["nlist_shortlists"], out["nlist_recommendations"] = int(np.sqrt(bounds[1])), nlist
    return out


def child_cells(args: argparse.Namespace) -> dict[str, Any]:
    """Candidates through the cells of each shard (the batch's ``ivf`` stages, local runner, this
    process's threads as the exact pass): per nlist one build, then each nprobe (shortlists) and each
    recommendation setting, recall against the exact lists of a finished dense run of this invocation."""
    from sepadan.batch import LocalRunner
    from sepadan.batch.job import BatchOptions, Stages
    from sepadan.batch.plan import Partition, partitions
    from sepadan.batch.publish import RunDir
    from sepadan.batch.topk import merge_topk
    from sepadan.batch.vectors import (CellBuild, CellOptions, CellRecommend, CellShardTopK, TopKMerge,
                                       VectorShard, read_topk)

    work = Path(args.work)
    workers = np.load(work / "workers.npy", mmap_mode="r")[:args.n]
    o = np.ascontiguousarray(np.load(work / "orders.npy"))
    orders = VectorShard(np.arange(len(o), dtype=np.int64), o)
    bounds = [round(i * args.n / 2) for i in range(3)]
    shards = [VectorShard(np.arange(a, b, dtype=np.int64), np.ascontiguousarray(workers[a:b]))
              for a, b in zip(bounds, bounds[1:])]
    exact = work / args.run_id
    oids = orders.ids
    exact_short = merge_topk([read_topk(f, oids, SHORT_K) for f in sorted((exact / "shortlist-topk").glob("*.parquet"))],
                             SHORT_K)[1]
    exact_rec = _rec_ids(exact / "recommend-topk", args.n)
    out: dict[str, Any] = {"builds": [], "shortlists": [], "recommendations": []}
    chunks = partitions("x", len(oids), args.cells_orders_chunk, prefix="o")  # fuller blocks per cell
    grid = [tuple(int(x) for x in spec.split(":")) for spec in args.rec_grid]
    ranked = max([2] + [wc for m, _, wc in grid if m == 0])  # cells ranked per worker by the build
    precisions = [CellOptions(precision=p).resolved().precision for p in args.precisions]  # as the batch resolves
    out["precisions"] = precisions
    for nlist in args.nlist:
        run = RunDir(work, f"cells-{nlist}")
        job = Stages(None, LocalRunner(), run, BatchOptions(), None)
        job.stage(CellBuild(tuple(shards), CellOptions(nlist=nlist, train_on=args.train_on, m=0, worker_cells=ranked,
                                                       precision=precisions[0]), orders),
                  [Partition("cells", f"s{s:02d}", 0, len(sh.ids), s) for s, sh in enumerate(shards)])
        build = job.reports[-1].seconds
        out["builds"].append({"nlist": nlist, "build_s": build, "precision": precisions[0]})
        log.info("cells nlist %d built in %.1f s", nlist, build)
        for prec in precisions:
            for nprobe in args.nprobe_short:
                name = f"topk-shards-p{nprobe}-{prec}"
                job.stage(CellShardTopK(orders, tuple(shards), str(run.path), SHORT_K, nprobe, name=name,
                                        precision=prec, margin=args.margin_short),
                          [Partition(name, f"s{s:02d}-{c.key}", c.lo, c.hi, s) for s in range(2) for c in chunks])
                merge = f"shortlist-topk-p{nprobe}-{prec}"
                job.stage(TopKMerge(str(run.path), name, 2, oids, SHORT_K, name=merge),
                          [Partition(merge, c.key, c.lo, c.hi) for c in chunks])
                seconds = job.reports[-1].seconds + job.reports[-2].seconds
                got = merge_topk([read_topk(f, oids, SHORT_K) for f in sorted((run.path / merge).glob("*.parquet"))],
                                 SHORT_K)[1]
                out["shortlists"].append({"nlist": nlist, "nprobe": nprobe, "precision": prec,
                                          "margin": args.margin_short if prec == "bf16" else None,
                                          "search_s": round(seconds, 2), "build_s": build,
                                          "recall": _recall(got, exact_short)})
                log.info("shortlists %s", out["shortlists"][-1])
            for m, probe, wc in grid:
                name = f"recommend-m{m}-p{probe}-c{wc}-{prec}"
                job.stage(CellRecommend(tuple(shards), orders, str(run.path), REC_K,
                                        CellOptions(nlist=nlist, m=m, probe_orders=probe, worker_cells=wc,
                                                    train_on=args.train_on, precision=prec,
                                                    rec_margin=args.margin_rec),
                                        name=name),
                          [p for s, sh in enumerate(shards) for p in partitions(name, len(sh.ids), args.workers_chunk,
                                                                                 prefix="w", shard=s)])
                got = _rec_ids(run.path / name, args.n)
                out["recommendations"].append({"nlist": nlist, "m": m, "probe_orders": probe, "worker_cells": wc,
                                               "precision": prec, "margin": args.margin_rec if prec == "bf16" else None,
                                               "search_s": job.reports[-1].seconds, "build_s": build,
                                               "recall": _recall(got, exact_rec)})
                log.info("recommendations %s", out["recommendations"][-1])
        shutil.rmtree(run.path, ignore_errors=True)
    out["driver_peak_mb"] = _peak_mb()
    return out


def lists_recall(work: Path, run: str, truth_run: str, n: int, n_orders: int) -> dict[str, float]:
    """Recall@k of a dense run's lists against another run's (both directions)."""
    from sepadan.batch.topk import merge_topk
    from sepadan.batch.vectors import read_topk

    oids = np.arange(n_orders, dtype=np.int64)

    def short(r: str) -> np.ndarray:
        return merge_topk([read_topk(f, oids, SHORT_K) for f in sorted((work / r / "shortlist-topk").glob("*.parquet"))],
                          SHORT_K)[1]

    return {"shortlists": _recall(short(run), short(truth_run)),
            "recommendations": _recall(_rec_ids(work / run / "recommend-topk", n),
                                       _rec_ids(work / truth_run / "recommend-topk", n))}


def _rec_ids(folder: Path, n: int) -> np.ndarray:
    import pyarrow.parquet as pq

    ids = np.full((n, REC_K), -1, dtype=np.int64)
    for f in folder.glob("*.parquet"):
        t = pq.read_table(f)
        ids[t.column("query").to_numpy(), t.column("rank").to_numpy() - 1] = t.column("id").to_numpy()
    return ids


def _recall(got: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(g[g >= 0]) & set(t[t >= 0])) for g, t in zip(got, truth))
    return round(hits / max(1, int((truth >= 0).sum())), 4)


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child_demo(args: argparse.Namespace) -> dict[str, Any]:
    """``sepadan batch`` on the bundled demo data (the real model): Ray first (its encoder actors fill
    the phrase cache), then the local runner, on the same store; the answers compared."""
    from dataclasses import asdict
    from datetime import date

    from ray import cloudpickle as pickle  # what Ray's object store is sent

    import pyarrow.parquet as pq

    from sepadan.batch import BatchOptions, LocalRunner, run_batch
    from sepadan.batch.shards import shard_states
    from sepadan.config import Settings
    from sepadan.engine import Engine
    from sepadan.features.taxonomy import default_data_dir

    home = Path(args.work) / "demo-home"
    engine = Engine(Settings(home=home, database_url=None, model_path=None, model_sha256=None, data_dir=None,
                             pii_key=None, mlflow_tracking_uri=None), today=date(2026, 11, 1))
    t = time.perf_counter()
    for kind in ("agencies", "trainings", "workers", "vacancies", "outcomes"):
        engine.import_file(kind, Path(args.demo_data or default_data_dir() / "demo") / f"{kind}.jsonl")
    out: dict[str, Any] = {"import_s": round(time.perf_counter() - t, 1)}
    options = BatchOptions(shards=2)
    for kind in ("ray", "local"):
        runner = _runner(kind) if kind == "ray" else LocalRunner()
        t = time.perf_counter()
        result = run_batch(engine, runner=runner, options=options, run_id=f"demo-{kind}")
        out[kind] = {"wall_s": round(time.perf_counter() - t, 1), "stages": [asdict(x) for x in result.stages],
                     "encode": result.manifest["encode"]}
        runner.close()
    def lists(kind: str, stage: str) -> list[tuple]:
        folder = home / "batch" / f"demo-{kind}" / stage
        rows = [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
        return sorted(tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows)
    out["same"] = {stage: lists("ray", stage) == lists("local", stage) for stage in
                   ("shortlists", "recommendations", "allocation")}
    out["rows"] = {stage: len(lists("local", stage)) for stage in ("shortlists", "recommendations")}
    vacancies, shards = shard_states(engine, 2)
    out["pickled_mb"] = {"vacancies": round(len(pickle.dumps(vacancies)) / 2**20, 1),
                         "shards": [round(len(pickle.dumps(s)) / 2**20, 1) for s in shards],
                         "workers": [len(s.records) for s in shards]}
    out["kb_per_worker"] = round(sum(len(pickle.dumps(s)) for s in shards) / 1024 / len(engine.matcher.workers.records), 2)
    out["driver_peak_mb"] = _peak_mb()
    return out


CHILDREN = {"encode": child_encode, "dense": child_dense, "ann": child_ann, "demo": child_demo, "cells": child_cells}


def _spawn(args: argparse.Namespace, mode: str, **extra: Any) -> dict[str, Any]:
    out = Path(args.work) / f"child-{mode}-{extra.get('runner', '')}-{extra.get('run_id', '')}.json"
    cmd = [sys.executable, __file__, "--child", mode, "--out-json", str(out), "--work", args.work,
           "--phrases", str(args.phrases), "--orders-chunk", str(args.orders_chunk),
           "--workers-chunk", str(args.workers_chunk), "--rec-sample", str(args.rec_sample),
           "--nprobe-short", *map(str, args.nprobe_short), "--nprobe-rec", *map(str, args.nprobe_rec),
           "--nlist", *map(str, args.nlist), "--rec-grid", *args.rec_grid,
           "--cells-orders-chunk", str(args.cells_orders_chunk), "--train-on", args.train_on,
           "--precisions", *args.precisions, "--margin-short", str(args.margin_short),
           "--margin-rec", str(args.margin_rec)]
    if args.demo_data:
        cmd += ["--demo-data", args.demo_data]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    log.info("child: %s %s", mode, extra)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    result = json.loads(out.read_text())
    result["child_wall_s"] = round(time.perf_counter() - started, 2)
    return result


def _read(folder: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa.concat_tables([pq.read_table(f) for f in sorted(folder.glob("*.parquet"))])


def _same_answers(work: Path, a: str, b: str) -> dict[str, bool]:
    out = {}
    for stage in ("shortlist-topk", "recommend-topk"):
        def load(run: str) -> Any:
            t = _read(work / run / stage).sort_by([("query", "ascending"), ("rank", "ascending")])
            return t.select(["query", "rank", "id", "score"])
        out[stage] = load(a).equals(load(b))
    return out


# --- the parent ----------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--scale-at", type=int, default=200_000, help="workers for the 1- and 2-shard runs")
    ap.add_argument("--phrases", type=int, default=3000)
    ap.add_argument("--orders-chunk", type=int, default=2500)
    ap.add_argument("--workers-chunk", type=int, default=100_000)
    ap.add_argument("--rec-sample", type=int, default=100_000, help="workers whose IVF recommendations are timed")
    ap.add_argument("--nprobe-short", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    ap.add_argument("--nprobe-rec", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    ap.add_argument("--nlist", type=int, nargs="+", default=[256, 512], help="cells per shard (--cells)")
    ap.add_argument("--rec-grid", nargs="+", default=["200:0:1", "400:0:1", "200:0:2", "200:8:1", "400:8:2"],
                    help="recommendation settings m:probe_orders:worker_cells (--cells)")
    ap.add_argument("--cells-orders-chunk", type=int, default=10_000,
                    help="orders per partition of the cells' shortlists (--cells)")
    ap.add_argument("--train-on", choices=("orders", "rows"), default="orders",
                    help="--cells: the centroids trained on the job orders or on each shard's workers")
    ap.add_argument("--precisions", nargs="+", default=["auto"], choices=("auto", "bf16", "float32"),
                    help="--cells: block precisions searched (auto as the batch resolves it); the build takes the first")
    ap.add_argument("--margin-short", type=int, default=16, help="--cells, bf16: rows kept beyond k per block (shortlists)")
    ap.add_argument("--margin-rec", type=int, default=6, help="--cells, bf16: orders kept beyond k per block")
    ap.add_argument("--aims-note", default=None,
                    help="a sentence under the aims table, kept in batch.json ('' removes it); with --render only")
    ap.add_argument("--render", action="store_true", help="only write batch.md and batch.png again from batch.json")
    ap.add_argument("--repeat", action="store_true",
                    help="--cells: keep the earlier --cells runs in batch.json (the aims take the worst of them)")
    ap.add_argument("--no-bf16-peer", action="store_true", help="--cells: skip all pairs in bf16 (the precision's peer)")
    ap.add_argument("--precision", default="float32", help="dense child: all pairs in float32 or bf16")
    ap.add_argument("--note", default="", help="--cells: a sentence for the report (why the run was sized so)")
    ap.add_argument("--table", default="", help="--cells: phrase vectors from an .npy instead of encoding them")
    ap.add_argument("--cells", action="store_true",
                    help="only the exact pass (local) and candidates through cells, added to an existing batch.json")
    ap.add_argument("--work", default="/tmp/sepadan-bench-batch")
    ap.add_argument("--out", default=str(REPO / "experiments" / "results"))
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--demo", action="store_true", help="only the demo-data run, added to an existing batch.json")
    ap.add_argument("--demo-data", default="", help="another folder of the five demo files (default: the bundled)")
    ap.add_argument("--child", choices=sorted(CHILDREN))
    ap.add_argument("--out-json")
    ap.add_argument("--runner", default="local")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--run-id", default="")
    ap.add_argument("--threads", type=int, default=0, help="FAISS threads of a dense child (0: its default)")
    ap.add_argument("--one-thread", action="store_true",
                    help="only the local runner on one thread at --workers, added to an existing batch.json")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    for name in ("sepadan", "ray", "faiss"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.child:
        Path(args.out_json).write_text(json.dumps(CHILDREN[args.child](args), default=str))
        return
    if args.demo:
        demo(args)
        return
    if args.one_thread:
        one_thread(args)
        return
    if args.cells:
        cells(args)
        return
    if args.render:
        out = Path(args.out)
        res = json.loads((out / "batch.json").read_text())
        if args.aims_note is not None:
            res["aims_note"] = args.aims_note
            (out / "batch.json").write_text(json.dumps(res, indent=2, default=str))
        (out / "batch.md").write_text(markdown(res))
        chart(res, out / "batch.png")
        return
    run(args)


def one_thread(args: argparse.Namespace) -> None:
    """The local runner with FAISS on one thread (the kernel each Ray actor runs), on the same
    vectors as a full run (same phrases, same seed), added to ``OUT/batch.json``."""
    out = Path(args.out)
    res = json.loads((out / "batch.json").read_text())
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _spawn(args, "encode", runner="local")
    w, o = generate(_phrase_table(work, "encode-local"), 300, args.workers, args.orders)
    np.save(work / "workers.npy", w)
    np.save(work / "orders.npy", o)
    del w, o
    from sepadan.evaluation.results import machine

    res["dense"]["local_1_thread"] = {"machine": machine(), **_spawn(args, "dense", runner="local", n=args.workers,
                                                                      shards=2, run_id="dense-local1", threads=1)}
    (out / "batch.json").write_text(json.dumps(res, indent=2, default=str))
    (out / "batch.md").write_text(markdown(res))
    chart(res, out / "batch.png")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def cells(args: argparse.Namespace) -> None:
    """The exact dense pass (local runner) and candidates through cells on the same vectors, in one
    invocation, added to ``OUT/batch.json`` (key ``cells``) and its report."""
    from sepadan.evaluation.results import machine

    out = Path(args.out)
    res = json.loads((out / "batch.json").read_text())
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    cfg = {k: v for k, v in vars(args).items() if k in ("workers", "orders", "nlist", "nprobe_short", "rec_grid", "train_on",
                                                         "orders_chunk", "workers_chunk", "cells_orders_chunk",
                                                         "precisions", "margin_short", "margin_rec")}
    run: dict[str, Any] = {"machine": machine(), "config": cfg, "note": args.note}
    if args.table:  # phrase vectors saved earlier (occupations then skills, as _phrase_table returns them)
        table = np.load(args.table)
        run["phrase_table"] = args.table
    else:
        _spawn(args, "encode", runner="local")
        table = _phrase_table(work, "encode-local")
    w, o = generate(table, 300, args.workers, args.orders)
    np.save(work / "workers.npy", w)
    np.save(work / "orders.npy", o)
    del w, o
    run["exact"] = _spawn(args, "dense", runner="local", n=args.workers, shards=2, run_id="dense-local")
    if not args.no_bf16_peer:  # all pairs in bf16, re-scored in float32: what the precision alone buys
        run["bf16_all_pairs"] = _spawn(args, "dense", runner="local", n=args.workers, shards=2, run_id="dense-bf16",
                                       precision="bf16")
        run["bf16_all_pairs"]["recall"] = lists_recall(work, "dense-bf16", "dense-local", args.workers, args.orders)
        shutil.rmtree(work / "dense-bf16", ignore_errors=True)
    run["cells"] = _spawn(args, "cells", n=args.workers, run_id="dense-local")
    run["load_after"] = list(os.getloadavg())
    run["total_s"] = round(time.perf_counter() - started, 1)
    res["cells"] = run
    sm = cells_summary(run)  # each run's chosen settings and ratios; --repeat adds to the runs kept
    repeats = res.get("cells_repeats", []) if args.repeat else []
    repeats.append({"date": run["machine"]["date"], "commit": run["machine"].get("git_commit"),
                    "load": run["machine"]["load_average"],
                    **{side: {k: v for k, v in sm[side].items() if k in ("nlist", "nprobe", "m", "probe_orders",
                                                                          "worker_cells", "precision", "margin",
                                                                          "recall", "ratio_search", "ratio_with_build")}
                       for side in ("shortlists", "recommendations")},
                    "rows": sm["rows"], "exact": sm["exact"], **({"peer": sm["peer"]} if "peer" in sm else {})})
    res["cells_repeats"] = repeats
    (out / "batch.json").write_text(json.dumps(res, indent=2, default=str))
    (out / "batch.md").write_text(markdown(res))
    chart(res, out / "batch.png")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    log.info("wrote %s (%.0f s)", out / "batch.md", run["total_s"])


def demo(args: argparse.Namespace) -> None:
    """The demo-data run, added to the results of a full run (``OUT/batch.json``) and its report."""
    out = Path(args.out)
    res = json.loads((out / "batch.json").read_text())
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    from sepadan.evaluation.results import machine

    res["demo"] = {"machine": machine(), **_spawn(args, "demo")}
    (out / "batch.json").write_text(json.dumps(res, indent=2, default=str))
    (out / "batch.md").write_text(markdown(res))
    chart(res, out / "batch.png")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    from sepadan.evaluation.results import machine

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    res: dict[str, Any] = {"machine": machine(), "config": {k: v for k, v in vars(args).items()
                                                            if k not in ("child", "out_json", "runner", "n",
                                                                         "shards", "run_id")}}
    res["encode"] = {r: _spawn(args, "encode", runner=r) for r in ("local", "ray")}
    table = _phrase_table(work, "encode-local")
    other = _phrase_table(work, "encode-ray")
    res["encode"]["max_abs_difference"] = float(np.abs(table - other).max())
    t = time.perf_counter()
    w, o = generate(table, 300, args.workers, args.orders)
    np.save(work / "workers.npy", w)
    np.save(work / "orders.npy", o)
    del w, o
    res["generate_s"] = round(time.perf_counter() - t, 2)
    res["dense"] = {r: _spawn(args, "dense", runner=r, n=args.workers, shards=2, run_id=f"dense-{r}")
                    for r in ("local", "ray")}
    res["dense"]["same_answers"] = _same_answers(work, "dense-local", "dense-ray")
    res["scaling"] = {str(s): _spawn(args, "dense", runner="ray", n=args.scale_at, shards=s, run_id=f"scale-{s}")
                      for s in (1, 2)}
    res["ann"] = _spawn(args, "ann", n=args.workers, run_id="dense-local")
    res["total_s"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch.json").write_text(json.dumps(res, indent=2, default=str))
    (out / "batch.md").write_text(markdown(res))
    chart(res, out / "batch.png")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    log.info("wrote %s (%.0f s)", out / "batch.md", res["total_s"])


def _phrase_table(work: Path, run: str) -> np.ndarray:
    t = _read(work / run / "encode")
    keys = t.column("text").to_pylist()
    flat = t.column("vector").combine_chunks()
    vectors = flat.values.to_numpy().reshape(-1, flat.type.list_size)
    occ, skills = phrases(len(keys))
    order = {k: i for i, k in enumerate(keys)}
    return np.ascontiguousarray(vectors[[order[p] for p in occ + skills]], dtype=np.float32)


# --- the report ----------------------------------------------------------------------------------

def _stage(res: dict[str, Any], runner: str, name: str) -> dict[str, Any]:
    return next(s for s in res["dense"][runner]["stages"] if s["name"] == name)


def summary(res: dict[str, Any]) -> dict[str, Any]:
    """The figures the targets are about."""
    d = res["dense"]
    n, m = d["local"]["n"], d["local"]["orders"]
    exact = {"shortlists": _stage(res, "local", "topk-shards")["seconds"] + _stage(res, "local", "shortlist-topk")["seconds"],
             "recommendations": _stage(res, "local", "recommend-topk")["seconds"]}
    best = {}
    for side in ("shortlists", "recommendations"):
        ok = [r for r in res["ann"][side] if r["recall"] >= 0.95]
        pick = min(ok, key=lambda r: r["search_s"]) if ok else max(res["ann"][side], key=lambda r: r["recall"])
        build = res["ann"]["shortlist_build_s" if side == "shortlists" else "recommend_build_s"]
        best[side] = {**pick, "build_s": build, "exact_s": exact[side],
                      "ratio_search": round(pick["search_s"] / exact[side], 3),
                      "ratio_with_build": round((pick["search_s"] + build) / exact[side], 3)}
    sc = res["scaling"]
    per_pair = {s: (sum(x["seconds"] for x in sc[s]["stages"] if x["name"] in ("topk-shards", "recommend-topk"))
                    / (2 * sc[s]["n"] * sc[s]["orders"])) for s in sc}
    ray_core_s = sum(_stage(res, "ray", x)["work_seconds"] for x in ("topk-shards", "recommend-topk"))
    one = d.get("local_1_thread")
    one_s = sum(x["seconds"] for x in one["stages"] if x["name"] in ("topk-shards", "recommend-topk")) if one else None
    # core-seconds per pair: one thread's time where measured, else the Ray actors' own (1 CPU each)
    pair_core_s = (one_s or ray_core_s) / (2 * n * m)
    cells = cells_summary(res["cells"]) if "cells" in res else None
    return {"n": n, "m": m, "ray_over_local": round(d["ray"]["wall_s"] / d["local"]["wall_s"], 3), "cells": cells,
            "ray_over_one": round(d["ray"]["wall_s"] / one["wall_s"], 3) if one else None,
            "ray_work_over_one": round(ray_core_s / one_s, 3) if one else None,
            "exact": exact, "ann": best, "per_pair_s": per_pair, "pair_core_s": pair_core_s,
            "pair_core_source": "local runner, 1 thread" if one else "Ray actors' partition times",
            "shard_ratio": round(per_pair["2"] / per_pair["1"], 3) if "1" in per_pair else None}


def cells_summary(c: dict[str, Any]) -> dict[str, Any]:
    """Per direction the cheapest setting at recall >= 0.95 (build included), else the best recall;
    ratios against the exact pass of the same invocation."""
    st = {x["name"]: x["seconds"] for x in c["exact"]["stages"]}
    exact = {"shortlists": st["topk-shards"] + st["shortlist-topk"], "recommendations": st["recommend-topk"]}
    out: dict[str, Any] = {"exact": exact, "rows": {}}
    for side in ("shortlists", "recommendations"):
        rows = [{**r, "ratio_search": round(r["search_s"] / exact[side], 4),
                 "ratio_with_build": round((r["search_s"] + r["build_s"]) / exact[side], 4)} for r in c["cells"][side]]
        out["rows"][side] = rows
        ok = [r for r in rows if r["recall"] >= 0.95]
        out[side] = min(ok, key=lambda r: r["ratio_with_build"]) if ok else max(rows, key=lambda r: r["recall"])
        out[side]["met"] = out[side]["recall"] >= 0.95 and out[side]["ratio_with_build"] <= 0.1
    peer = c.get("bf16_all_pairs")
    if peer:  # all pairs in bf16, re-scored in float32, against the float32 all-pairs pass of the same run
        ps = {x["name"]: x["seconds"] for x in peer["stages"]}
        took = {"shortlists": ps["topk-shards"] + ps["shortlist-topk"], "recommendations": ps["recommend-topk"]}
        out["peer"] = {side: {"seconds": took[side], "ratio": round(took[side] / exact[side], 4),
                              "recall": peer["recall"][side]} for side in exact}
    return out


def scaling_rows(sm: dict[str, Any], machines: tuple[int, ...] = (1, 4, 16, 64), cores: int = 16) -> list[dict[str, Any]]:
    """10M workers x 100k orders on N machines of ``cores`` cores: the dense pass both ways at the
    measured cost per pair and core, exact and through the indexes (the measured ratios)."""
    pairs = 2 * 10_000_000 * 100_000
    exact_core_s = sm["pair_core_s"] * pairs
    # each direction the cheaper of its exact pass and its index (build included), half the pairs each
    # per direction the cheapest measured way at recall >= 0.95 (FAISS IVF of the first run, the cells)
    ratio = sum(min([1.0] + [b[side]["ratio_with_build"] for b in (sm["ann"], sm["cells"] or {})
                             if side in b and b[side]["recall"] >= 0.95])
                for side in ("shortlists", "recommendations")) / 2
    rows = []
    for n in machines:
        rows.append({"machines": n, "cores": n * cores, "shards": 2 * n,
                     "exact_minutes": round(exact_core_s / (n * cores) / 60, 1),
                     "indexes_minutes": round(exact_core_s * ratio / (n * cores) / 60, 1)})
    return rows


def markdown(res: dict[str, Any]) -> str:
    sm = summary(res)
    mach = res["machine"]
    d = res["dense"]
    lines = [
        "# Nightly batch: local runner against Ray, scaling, candidates through indexes", "",
        f"Run {mach['date']} on {mach['cpu']}, {mach['cores']} cores, {mach['memory_gb']} GB "
        f"(a machine shared with other work: load average {mach['load_average']} at the start), commit "
        f"`{(mach.get('git_commit') or '')[:10]}`{' (dirty)' if mach.get('git_dirty') else ''}; "
        f"`experiments/bench_batch.py`, {res['total_s']:.0f} s in all. Each measurement ran in a child "
        "process of its own; ratios compare runs of the same invocation.", "",
        *_aims(res, sm),
        f"## Dense candidate pass, {sm['n']:,} workers x {sm['m']:,} job orders, 2 shards", "",
        "Every order's exact top 30 workers per shard, merged over shards; every worker's exact top 10 "
        "orders (the vector batch functions, `sepadan.batch.dense`). Ray: a local Ray with 2 actors "
        "(1 CPU each); local: this process (BLAS on 2 threads).", "",
        "| stage | local s (FAISS 2 threads) | local s (1 thread) | Ray s (2 actors) | Ray / local | pairs or rows | "
        "local throughput | Ray throughput |",
        "|---|---:|---:|---:|---:|---:|---:|---:|"]
    one = d.get("local_1_thread")
    for name in ("topk-shards", "shortlist-topk", "recommend-topk"):
        a, b = _stage(res, "local", name), _stage(res, "ray", name)
        c = next((x["seconds"] for x in one["stages"] if x["name"] == name), None) if one else None
        units = sm["n"] * sm["m"] if name != "shortlist-topk" else a["rows"]
        unit = "pairs/s" if name != "shortlist-topk" else "rows/s"
        lines.append(f"| {name} | {a['seconds']:.1f} | {'-' if c is None else f'{c:.1f}'} | {b['seconds']:.1f} | "
                     f"{b['seconds'] / a['seconds']:.2f} | {units:,} | {units / a['seconds']:,.0f} {unit} | "
                     f"{units / b['seconds']:,.0f} {unit} |")
    lines += [
        f"| **all three** | **{d['local']['wall_s']:.1f}** | **{one['wall_s'] if one else '-'}** | "
        f"**{d['ray']['wall_s']:.1f}** | **{sm['ray_over_local']:.2f}** | | | |", "",
        f"- Ray start {d['ray']['runner_start_s']:.1f} s (not in the table); the shards go to the object store "
        "once (`ray.put`).",
        f"- Peak memory: local process {d['local']['driver_peak_mb']:,.0f} MB; Ray driver "
        f"{d['ray']['driver_peak_mb']:,.0f} MB, busiest actor "
        f"{max(s['peak_mb'] for s in d['ray']['stages']):,.0f} MB (resident, including the object store pages "
        "it mapped).",
        f"- Same answers: {', '.join(f'{k} {v}' for k, v in d['same_answers'].items())} (every query, rank, id "
        "and score equal).",
        f"- Target Ray within 1.3x of local on one machine: **{sm['ray_over_local']:.2f}x** "
        f"({'met' if sm['ray_over_local'] <= 1.3 else 'not met'})."
        + (f" Against the local runner on one thread (run {one['machine']['date']}, separately): Ray "
           f"{sm['ray_over_one']:.2f}x its wall time, and the actors' own partition times summed are "
           f"{sm['ray_work_over_one']:.2f}x its time: the cost of running a partition on Ray rather than in "
           "process, the same kernel on one core." if one else ""),
        "- Read these on a loaded machine (load average 7 to 11 on 2 cores while they ran): the local runner's "
        "FAISS threads wait on each other when the cores are oversubscribed, the single-threaded actors do not, "
        "which is why Ray comes out faster than local here rather than at a small overhead; the same-answers "
        "check and the per-stage shapes hold whatever the load.", "",
        "## Encoding the new phrases (the real model)", "",
        "| runner | phrases | stage s | whole child s | driver peak MB |", "|---|---:|---:|---:|---:|"]
    for r in ("local", "ray"):
        e = res["encode"][r]
        lines.append(f"| {r} | {e['phrases']:,} | {e['stages'][0]['seconds']:.1f} | {e['child_wall_s']:.1f} | "
                     f"{e['driver_peak_mb']:,.0f} |")
    lines += ["", f"Ray's stage time includes each actor loading and checking the model. Largest difference "
              f"between the two runners' vectors: {res['encode']['max_abs_difference']:.2e}.", "",
              f"## Shards: 1 against 2 (Ray, 2 actors, {res['scaling']['1']['n']:,} workers)", "",
              "| shards | wall s | topk-shards s | recommend-topk s | stage seconds per billion pairs |",
              "|---:|---:|---:|---:|---:|"]
    for s in ("1", "2"):
        x = res["scaling"][s]
        st = {y["name"]: y["seconds"] for y in x["stages"]}
        lines.append(f"| {s} | {x['wall_s']:.1f} | {st['topk-shards']:.1f} | {st['recommend-topk']:.1f} | "
                     f"{sm['per_pair_s'][s] * 1e9:.2f} |")
    lines += ["", f"Time per pair at 2 shards / at 1 shard: {sm['shard_ratio']} (1.0: the work splits over shards "
              "with no loss; each shard is searched by its own exact index and the merge is small). With 1 shard "
              "the 2 actors still share the work (each takes chunks of the orders against the one shard).", "",
              *(_cells_lines(res, sm) if sm["cells"] else []),
              "## Earlier: FAISS IndexIVFFlat against all pairs (the first run)", "",
              "IVF (FAISS IndexIVFFlat, nlist sqrt(n), k-means of 10 iterations on 64 x nlist rows) over each worker shard, searched by the 10k orders "
              "(top 30, merged); over the orders, searched by the workers (top 10; time from a sample of "
              f"{res['ann']['recommendations'][0]['sampled']:,} workers, scaled). Recall@k against the exact "
              "lists of the pass above; the exact time is that pass's (local).", "",
              "| direction | nprobe | search s | recall@k | search / exact |", "|---|---:|---:|---:|---:|"]
    for side in ("shortlists", "recommendations"):
        for r in res["ann"][side]:
            lines.append(f"| {side} | {r['nprobe']} | {r['search_s']:.2f} | {r['recall']:.3f} | "
                         f"{r['search_s'] / sm['exact'][side]:.3f} |")
    lines += [""]
    for side in ("shortlists", "recommendations"):
        b = sm["ann"][side]
        lines.append(f"- {side}: nprobe {b['nprobe']} at recall {b['recall']:.3f}: search {b['ratio_search']:.3f}x "
                     f"the exact pass ({b['exact_s']:.1f} s), {b['ratio_with_build']:.3f}x with the index build "
                     f"({b['build_s']:.1f} s); target <= 0.1x at recall >= 0.95: "
                     f"**{'met' if b['recall'] >= 0.95 and b['ratio_with_build'] <= 0.1 else 'not met'}**"
                     f"{' (search alone: met)' if b['recall'] >= 0.95 and b['ratio_search'] <= 0.1 < b['ratio_with_build'] else ''}.")
    if "demo" in res:
        lines += _demo_lines(res["demo"])
    lines += ["", "## Scaling model: 10M workers x 100k job orders", "",
              f"From the measured cost of the exact pass here ({sm['pair_core_s'] * 1e9:.2f} core-seconds per "
              f"billion pairs, both directions, from the {sm['pair_core_source']}) and the index ratios above "
              "(with build; each direction by the cheaper of its exact pass and its index at recall >= 0.95), "
              "on N machines of 16 cores with 2 shards each, assuming the cost stays linear in "
              "pairs (the 1- against 2-shard runs) and per core. A model, not a measurement: it leaves out "
              "the driver's build (profiles, indexes), the allocation and gap stages, and the network.", "",
              "| machines | cores | shards | exact pass, minutes | with the indexes where cheaper, minutes |",
              "|---:|---:|---:|---:|---:|"]
    for r in scaling_rows(sm):
        lines.append(f"| {r['machines']} | {r['cores']} | {r['shards']} | {r['exact_minutes']} | {r['indexes_minutes']} |")
    return "\n".join(lines) + "\n"


def _aims(res: dict[str, Any], sm: dict[str, Any]) -> list[str]:
    """The issue's targets against what was measured, each with the run it comes from."""
    first = res["machine"]["date"][:16]
    rows = [("Ray runner / local runner on one machine (wall, dense pass 1M x 10k)", f"{sm['ray_over_local']:.2f}x",
             "<= 1.3x", sm["ray_over_local"] <= 1.3, first),
            ("time per pair, 2 shards / 1 shard (Ray, 200k x 10k)", f"{sm['shard_ratio']:.3f}",
             "near 1 (<= 1.1)", sm["shard_ratio"] is not None and sm["shard_ratio"] <= 1.1, first)]
    c = sm["cells"]
    if c:
        when = res["cells"]["machine"]["date"][:16]
        for side in ("shortlists", "recommendations"):
            b = c[side]
            ex = res["cells"]["exact"]
            same = [_same_setting(side, r, b) for r in res.get("cells_repeats", [])]
            same = [x for x in same if x is not None]
            if len(same) > 1:  # the repeat runs of this setting: the worst counts
                worst = max(same, key=lambda r: r["ratio_with_build"])
                low = min(r["recall"] for r in same)
                each = ", ".join(f"{r['ratio_with_build']:.3f}" for r in same)
                rows.append((f"{side}: candidates through cells / exact all pairs, {ex['n']:,} x {ex['orders']:,} "
                             f"(wall, build included), {_setting(side, b)}, worst of {len(same)} runs",
                             f"{worst['ratio_with_build']:.3f}x (runs: {each}) at recall >= {low:.3f}",
                             "<= 0.1x at recall >= 0.95", worst["ratio_with_build"] <= 0.1 and low >= 0.95,
                             ", ".join(r["date"][:16] for r in res["cells_repeats"])))
                continue
            rows.append((f"{side}: candidates through cells / exact all pairs, {ex['n']:,} x {ex['orders']:,} "
                         "(wall, build included)",
                         f"{b['ratio_with_build']:.3f}x at recall {b['recall']:.3f}", "<= 0.1x at recall >= 0.95",
                         b["met"], when))
    lines = ["## Where we aim", "", "| what | measured | target | met | run |", "|---|---:|---|---|---|"]
    lines += [f"| {w} | {m} | {t} | {'yes' if ok else '**no**'} | {r} |" for w, m, t, ok, r in rows]
    if res.get("aims_note"):  # what a reader of the table must know (written into batch.json with --aims-note)
        lines += ["", res["aims_note"]]
    return lines + [""]


def _cells_lines(res: dict[str, Any], sm: dict[str, Any]) -> list[str]:
    c, run = sm["cells"], res["cells"]
    mach, ex = run["machine"], run["exact"]
    lines = [f"## Candidates through cells of each worker shard ({ex['n']:,} workers x {ex['orders']:,} orders, "
             "2 shards)", "",
             f"Run {mach['date']} (commit `{(mach.get('git_commit') or '')[:10]}`"
             f"{' (dirty)' if mach.get('git_dirty') else ''}; load average {mach['load_average']} at the start, "
             f"{[round(x, 2) for x in run['load_after']]} at the end; {run['total_s']:.0f} s). `experiments/bench_batch.py "
             "--cells`: the exact dense pass (local runner, FAISS and BLAS on this process's threads) and then the "
             "batch's `ivf` stages (`sepadan.batch.cells`, local runner, the same threads) on the same vectors; "
             "recall@k against that exact pass's lists, times against its stage times: shortlists "
             f"{c['exact']['shortlists']:.1f} s (topk-shards + shortlist-topk), recommendations "
             f"{c['exact']['recommendations']:.1f} s (recommend-topk). The build (stage `cells`: "
             + ("spherical k-means on the 10k job orders, 10 iterations, then every worker's nearest cells ranked"
                if run["config"].get("train_on") == "orders" else
                "k-means on 64 x nlist rows per shard, 10 iterations, every row's two nearest cells")
             + ") serves both directions; each direction's last column counts it in full."
             + (f" {run['note']}" if run.get("note") else ""), "",
             "| direction | nlist per shard | setting | search s | build s | recall@k | search / exact | "
             "(search + build) / exact |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for side in ("shortlists", "recommendations"):
        for r in c["rows"][side]:
            lines.append(f"| {side} | {r['nlist']} | {_setting(side, r)} | {r['search_s']:.2f} | {r['build_s']:.2f} | "
                         f"{r['recall']:.3f} | {r['ratio_search']:.3f} | {r['ratio_with_build']:.3f} |")
    lines += ["", "Settings: shortlists `nprobe` = cells an order probes; recommendations `m` = each cell's top m "
              "orders by its centroid (m 0: the orders whose nearest cell it is), `orders probing` = also the orders "
              "that have the cell among their nearest that many (0: not), `cells` = a worker's nearest cells whose "
              "candidates it is scored against; `bf16 +n`: blocks multiplied in bfloat16, each query's k + n best "
              "re-scored in float32 (the lists hold float32 scores), `float32`: blocks multiplied in float32. The "
              f"build ranks the cells by {run['cells'].get('builds', [{}])[0].get('precision', 'float32')} products.", ""]
    kept = [r for r in res.get("cells_repeats", []) if r.get("peer")]
    pe, ex, when = (c["peer"], c["exact"], "the same run") if c.get("peer") else \
        ((kept[-1]["peer"], kept[-1]["exact"], f"the run of {kept[-1]['date'][:16]}") if kept else (None, None, ""))
    if pe:
        lines += [f"Peers in {when}, no index: all pairs in float32 (FAISS, the denominator) and all pairs "
                  "in bfloat16 with each query's best re-scored in float32 (`sepadan.batch.lowp.all_pairs_topk`, the "
                  "same re-scoring as the cells'): what the lower precision alone buys.", "",
                  "| direction | all pairs float32 s | all pairs bf16 + float32 re-scoring s | ratio | recall@k of the "
                  "bf16 lists |", "|---|---:|---:|---:|---:|"]
        for side in ("shortlists", "recommendations"):
            lines.append(f"| {side} | {ex[side]:.1f} | {pe[side]['seconds']:.1f} | {pe[side]['ratio']:.3f} | "
                         f"{pe[side]['recall']:.4f} |")
        lines += [""]
    for side in ("shortlists", "recommendations"):
        b = c[side]
        setting = _setting(side, b)
        lines.append(f"- {side}: {'cheapest at recall >= 0.95' if b['recall'] >= 0.95 else 'best recall measured'}: "
                     f"nlist {b['nlist']}, {setting}: recall {b['recall']:.3f}, {b['ratio_search']:.3f}x the exact "
                     f"pass searching, {b['ratio_with_build']:.3f}x with the build; target <= 0.1x at recall >= 0.95: "
                     f"**{'met' if b['met'] else 'not met'}**.")
    s, r = c["shortlists"], c["recommendations"]
    if s["nlist"] == r["nlist"]:  # one build serves both: the two directions together, the build once
        both = (s["search_s"] + r["search_s"] + s["build_s"]) / (c["exact"]["shortlists"] + c["exact"]["recommendations"])
        lines.append(f"- both directions together with the settings above (one build): {both:.3f}x the exact pass of "
                     "both.")
    return lines + [""]


def _same_setting(side: str, run: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """The row of a kept run with the setting ``b`` (None where that run did not measure it)."""
    keys = ("nlist", "nprobe") if side == "shortlists" else ("nlist", "m", "probe_orders", "worker_cells")
    for r in run.get("rows", {}).get(side, []):
        if all(r.get(k) == b.get(k) for k in keys) and r.get("precision", "float32") == b.get("precision", "float32"):
            return r
    return None


def _setting(side: str, r: dict[str, Any]) -> str:
    where = f"nprobe {r['nprobe']}" if side == "shortlists" else \
        f"m {r['m']}, orders probing {r['probe_orders']}, cells {r['worker_cells']}"
    prec = r.get("precision", "float32")
    return f"{where}, {prec}" + (f" +{r['margin']}" if prec == "bf16" and r.get("margin") is not None else "")


def _demo_lines(d: dict[str, Any]) -> list[str]:
    stages = [x["name"] for x in d["local"]["stages"]]
    by = {k: {x["name"]: x for x in d[k]["stages"]} for k in ("local", "ray")}
    lines = ["", "## `sepadan batch` on the demo data (5,000 workers, 500 job orders, the real model)", "",
             f"Run {d['machine']['date']} (commit `{(d['machine'].get('git_commit') or '')[:10]}`; load average "
             f"{d['machine']['load_average']}): the matcher's stages, 2 shards, Ray (2 actors) first, then the "
             "local runner on the same store (the Ray run's encoder actors had filled the phrase cache: "
             f"{d['ray']['encode'].get('phrases', 0):,} phrases; the local run found "
             f"{d['local']['encode'].get('phrases', 0):,} new).", "",
             "| stage | where (Ray run) | local s | Ray s |", "|---|---|---:|---:|"]
    for name in stages:
        lines.append(f"| {name} | {by['ray'][name]['where']} | {by['local'][name]['seconds']:.1f} | "
                     f"{by['ray'][name]['seconds']:.1f} |")
    lines += [f"| **whole run** | | **{d['local']['wall_s']:.1f}** | **{d['ray']['wall_s']:.1f}** |", "",
              f"- Identical answers, Ray against local: {', '.join(f'{k} {v}' for k, v in d['same'].items())} "
              f"({d['rows']['shortlists']:,} shortlist rows, {d['rows']['recommendations']:,} recommendation rows).",
              f"- What travels to the workers (pickled): job orders {d['pickled_mb']['vacancies']} MB, shards "
              f"{d['pickled_mb']['shards']} MB for {d['pickled_mb']['workers']} workers: {d['kb_per_worker']} KB a "
              "worker (records, profiles, a 384-float vector); the basis of the README's object store sizing."]
    return lines


def chart(res: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sm = summary(res)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = ["topk-shards", "shortlist-topk", "recommend-topk"]
    x = np.arange(len(names))
    bars = {"local (2 threads)": [_stage(res, "local", n)["seconds"] for n in names]}
    if "local_1_thread" in res["dense"]:
        by = {st["name"]: st["seconds"] for st in res["dense"]["local_1_thread"]["stages"]}
        bars["local (1 thread)"] = [by[n] for n in names]
    bars["Ray (2 actors)"] = [_stage(res, "ray", n)["seconds"] for n in names]
    width = 0.8 / len(bars)
    for i, (label, values) in enumerate(bars.items()):
        a1.bar(x + (i - (len(bars) - 1) / 2) * width, values, width, label=label)
    a1.set_xticks(x, names)
    a1.set_ylabel("seconds")
    a1.set_title(f"dense pass, {sm['n']:,} x {sm['m']:,}: Ray/local {sm['ray_over_local']:.2f}x")
    a1.legend()
    for side, marker in (("shortlists", "o"), ("recommendations", "s")):
        rows = res["ann"][side]
        a2.plot([r["search_s"] / sm["exact"][side] for r in rows], [r["recall"] for r in rows], marker=marker,
                alpha=0.35 if sm["cells"] else 1.0, ls=":" if sm["cells"] else "-",
                label=f"{side}: FAISS IVF, search only (first run)")
    if sm["cells"]:
        for side, marker in (("shortlists", "o"), ("recommendations", "s")):
            rows = sm["cells"]["rows"][side]
            for nlist, prec in sorted({(r["nlist"], r.get("precision", "float32")) for r in rows}):
                pts = sorted((r for r in rows if r["nlist"] == nlist and r.get("precision", "float32") == prec),
                             key=lambda r: r["ratio_with_build"])
                a2.plot([r["ratio_with_build"] for r in pts], [r["recall"] for r in pts], marker=marker,
                        ls="-" if side == "shortlists" else "none",
                        label=f"{side}: cells, nlist {nlist}, {prec}, build included"
                              + (" (nprobe)" if side == "shortlists" else " (each setting)"))
        for side, marker in (("shortlists", "o"), ("recommendations", "s")):
            pe = sm["cells"].get("peer", {}).get(side)
            if pe:
                a2.plot([pe["ratio"]], [pe["recall"]], marker=marker, ls="none", color="black", mfc="none",
                        label=f"{side}: all pairs in bf16, re-scored (no index)")
    a2.axhline(0.95, color="grey", lw=0.8, ls="--")
    a2.axvline(0.1, color="grey", lw=0.8, ls="--")
    a2.set_xscale("log")
    a2.set_xlabel("time / exact all-pairs time (same run)")
    a2.set_ylabel("recall@k")
    a2.set_title("candidates through indexes")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
