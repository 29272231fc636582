"""Allocation benchmark: the exact min-cost flow (OR-Tools) against the greedy peer, in the same run.

    python experiments/bench_allocation.py                      # 100k x 10k, 1M x 100k, and the demo data
    python experiments/bench_allocation.py --sizes 100000x10000x5 --no-demo  # a quick run

1. Synthetic candidate graphs, the shape ``sepadan allocate`` builds: each job order's top k=10
   candidates, each order taking at most 10 proposals (5 positions x 2 candidates per position),
   each worker at most 1; and, at 1M x 100k, orders of 2 positions (4 proposals), where the orders'
   capacities bind too (with 10 slots for 10 candidates only the workers' limits bind, and then the
   greedy rule's total score is already the best: each worker goes to their best order). Candidates come half from a pool skewed towards the strongest workers
   (the same strong caregivers top every shortlist) and half from the order's own region; a score
   is 0.6 x the worker's quality + 0.4 x a fit of the pair. Each method runs in a child process of
   its own on the same graph (same seed), so its wall time and peak memory (``ru_maxrss``) are its
   own: generating the graph, building the solver's network and solving it are timed apart.
   Methods: ``flow/cover`` (positions with a proposal first, then total score: the command's
   default), ``flow/score`` (total score only), ``greedy`` (best score first).
2. The demo data (a copy of ``--demo-home``, the real embedding model): one candidate market of
   every open job order (the matcher's filtered top-k), allocated by each method, against the
   independent shortlists (each order proposing its own top positions x 2): positions with a
   proposal, positions fillable if each worker takes one job, distinct workers proposed.

Writes ``RESULTS/allocation.md``, ``.json`` and ``allocation-summary.png``, stamped with the
machine, the date and the commit (``sepadan.evaluation.results``).
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
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("bench_allocation")
REPO = Path(__file__).resolve().parents[1]
SEED = 20261202
K, PER_POSITION = 10, 2
METHODS = {"flow/cover": ("flow", "cover"), "flow/score": ("flow", "score"), "greedy": ("greedy", "score")}


# --- synthetic graphs ----------------------------------------------------------------------------

def synthetic(n_workers: int, n_orders: int, *, k: int = K, seed: int = SEED) -> dict[str, np.ndarray]:
    """Arcs (order, worker, score) of each order's top k among 3k drawn candidates (no repeats)."""
    rng = np.random.default_rng(seed)
    quality = rng.beta(2.0, 5.0, n_workers)
    by_rank = np.argsort(-quality)
    regions = max(1, n_orders // 50)
    block = max(1, n_workers // regions)
    home = rng.integers(0, regions, n_orders)
    drawn = 3 * k
    popular = by_rank[(n_workers * rng.random((n_orders, drawn // 2)) ** 4).astype(np.int64)]
    local = np.minimum(home[:, None] * block + rng.integers(0, block, (n_orders, drawn - drawn // 2)), n_workers - 1)
    cand = np.sort(np.concatenate([popular, local], axis=1), axis=1)
    score = 0.6 * quality[cand] + 0.4 * rng.random(cand.shape)
    score[:, 1:][cand[:, 1:] == cand[:, :-1]] = -1.0  # a repeat is no candidate
    top = np.argpartition(-score, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(n_orders), k)
    worker, value = cand[rows, top.reshape(-1)], score[rows, top.reshape(-1)]
    keep = value >= 0
    return {"order": rows[keep], "worker": worker[keep], "score": np.round(value[keep], 4)}


def run_child(n_workers: int, n_orders: int, positions: int, method: str) -> dict[str, Any]:
    """One method on one graph, in this process: the numbers and this process's peak memory."""
    from sepadan.matching.allocation import allocate, graph

    started = time.perf_counter()
    arcs = synthetic(n_workers, n_orders)
    generated = time.perf_counter()
    g = graph(arcs["order"], arcs["worker"], arcs["score"], np.full(n_orders, positions * PER_POSITION),
              np.ones(n_workers, dtype=np.int64), positions=np.full(n_orders, positions))
    solver, objective = METHODS[method]
    s = allocate(g, method=solver, objective=objective)
    done = time.perf_counter()
    per_worker = s.per_worker(g)
    return {"workers": n_workers, "orders": n_orders, "slots": positions * PER_POSITION, "arcs": g.n_arcs,
            "method": method,
            "generate_s": round(generated - started, 2), "solve_s": round(done - generated, 2),
            "end_to_end_s": round(done - started, 2),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "proposals": s.proposals, "positions": n_orders * positions, "positions_filled": s.covered,
            "distinct_workers": int((per_worker > 0).sum()), "total_score": round(s.total_score, 3)}


def synthetic_rows(sizes: list[tuple[int, int, int]]) -> list[dict[str, Any]]:
    rows = []
    for n_workers, n_orders, positions in sizes:
        for method in METHODS:
            cmd = [sys.executable, __file__, "--child", f"{n_workers}x{n_orders}x{positions}", method]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            log.info("%s", rows[-1])
    return rows


# --- the demo data ------------------------------------------------------------------------------

def demo_rows(home: Path, region: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from sepadan.allocate import Request, gather, solve
    from sepadan.config import Settings
    from sepadan.engine import Engine

    with tempfile.TemporaryDirectory(prefix="sepadan-bench-alloc-") as tmp:
        copy = Path(tmp) / "home"
        shutil.copytree(home, copy)
        engine = Engine(Settings(home=copy))
        started = time.perf_counter()
        request = Request(region=region, k=K)
        market = gather(engine.matcher, request)
        gathered = time.perf_counter() - started
        rows, first = [], None
        for name, (method, objective) in METHODS.items():
            a = solve(engine, market, Request(region=region, k=K, objective=objective), method=method, hints=False)
            first = first or a
            rows.append(_demo_row(name, a.allocated, a.seconds))
        rows.insert(0, _demo_row("independent shortlists", first.independent, None))
        info = {"orders": first.orders, "positions": first.positions, "slots": first.slots,
                "candidates": first.candidates, "candidate_workers": first.candidate_workers,
                "gather_s": round(gathered, 1), "model_version": first.model_version, "region": region or "all",
                "embedding_model": engine.encoder.name}
    return rows, info


def _demo_row(name: str, o: Any, seconds: float | None) -> dict[str, Any]:
    return {"proposals by": name, "proposals": o.proposals, "distinct_workers": o.distinct_workers,
            "most_orders_per_worker": o.most_orders_per_worker, "positions_covered": o.positions_covered,
            "positions_fillable": o.positions_fillable, "total_score": o.total_score,
            "solve_s": None if seconds is None else round(seconds, 3)}


# --- the report ----------------------------------------------------------------------------------

def report(rows: list[dict[str, Any]], demo: list[dict[str, Any]], info: dict[str, Any], out_dir: Path) -> list[Path]:
    from sepadan.evaluation.results import Result, aim, write

    metrics = ["positions_filled", "total_score", "proposals", "distinct_workers"]  # more is better (bold)
    table = {f"{r['method']} @ {_size(r)}": {m: r[m] for m in metrics} for r in rows}
    result = Result(name="allocation", task="allocation across job orders", dataset="synthetic candidate graphs "
                    "(k=10; 20, 10 or 4 proposals per order; 1 per worker) and the demo data", metrics=metrics,
                    table=table, layout="systems", params={"k": K, "per_position": PER_POSITION,
                                              "seed": SEED, "demo": info}, aims=_aims(rows, demo, aim),
                    extra_tables={"synthetic graphs: time and memory": rows, f"demo data ({info.get('region', '-')}): "
                                  "independent shortlists vs allocation": demo} if demo else {"synthetic graphs": rows},
                    notes=_notes(info), seconds={_size(r) + " " + r["method"]: r["end_to_end_s"] for r in rows})
    paths = write(result, out_dir, charts=[("summary", lambda p: _chart(rows, demo, p))])
    return list(paths.values())


def _size(r: dict[str, Any]) -> str:
    return f"{r['workers']:,} x {r['orders']:,}, {r['slots']} slots"


def _aims(rows: list[dict[str, Any]], demo: list[dict[str, Any]], aim: Any) -> list[dict[str, Any]]:
    out = []
    if demo:
        by = {r["proposals by"]: r for r in demo}
        gain = by["flow/cover"]["positions_covered"] / max(by["greedy"]["positions_covered"], 1) - 1
        out.append(aim("demo data: positions with a proposal, flow/cover over greedy (%)", round(100 * gain, 2),
                       ">= +3%", gain >= 0.03))
    for n in sorted({(r["workers"], r["orders"], r["slots"]) for r in rows}):
        by = {r["method"]: r for r in rows if (r["workers"], r["orders"], r["slots"]) == n}
        g = by["greedy"]
        more = by["flow/cover"]["positions_filled"] / max(g["positions_filled"], 1) - 1
        score = by["flow/score"]["total_score"] / max(g["total_score"], 1e-9) - 1
        size = _size(by["greedy"])
        out.append(aim(f"{size}: over greedy, positions filled (flow/cover) +{100 * more:.2f}%, total score "
                       f"(flow/score) +{100 * score:.2f}%; the larger (%)", round(100 * max(more, score), 2),
                       ">= +3% in either", max(more, score) >= 0.03))
        if max(more, score) < 0.03:
            out.append(aim(f"{size}: the most ANY allocation can gain over greedy on this graph (flow/cover is the "
                           "exact maximum of positions filled, flow/score the exact maximum score) (%)",
                           round(100 * max(more, score), 2), "a ceiling, not a target: +3% is out of reach here",
                           None))
        if n[:2] == (1_000_000, 100_000):
            worst = max(by["flow/cover"]["end_to_end_s"], by["flow/score"]["end_to_end_s"])
            out.append(aim(f"{size} end to end (s), slower flow objective", worst, "<= 60", worst <= 60))
    return out


def _notes(info: dict[str, Any]) -> list[str]:
    notes = ["end_to_end_s: generating the graph + building the network + solving, in a child process; "
             "peak_mb: that child's maximum resident memory (Python, numpy and OR-Tools together).",
             "positions_filled: positions with at least one proposal (an order's proposals counted up to its "
             "positions); flow/cover maximises it first, then the score; flow/score maximises the score only.",
             "The flow is exact at a score resolution of 1e-6 (integer costs); greedy takes the best-scoring pair "
             "first while both sides have room.",
             "With 10 slots per order and k=10 candidates, an order can take every candidate it has: only the "
             "workers' limit binds, so the total score splits by worker and the greedy rule (each worker to their "
             "best order) is already score-optimal; flow/score can only tie it there, and flow/cover's gain is in "
             "positions. With 4 slots (2 positions x 2) for 10 candidates both sides bind."]
    if info:
        notes.append(f"Demo data: {info['orders']} open job orders ({info['positions']} positions, "
                     f"{info['slots']} proposal slots), {info['candidates']} candidate pairs over "
                     f"{info['candidate_workers']} workers, gathered from the matcher in {info['gather_s']} s "
                     f"(model {info['embedding_model']}, scorer {info['model_version']}). positions_fillable: the "
                     "most positions the proposals can fill if each worker takes one job (a maximum matching).")
    return notes


def _chart(rows: list[dict[str, Any]], demo: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({(r["workers"], r["orders"], r["slots"]) for r in rows})
    fig, axes = plt.subplots(1, 3 if demo else 2, figsize=(15 if demo else 11, 4.4))
    width = 0.8 / len(METHODS)
    for i, method in enumerate(METHODS):
        xs = [j + (i - (len(METHODS) - 1) / 2) * width for j in range(len(sizes))]
        mine = [next(r for r in rows if (r["workers"], r["orders"], r["slots"]) == n and r["method"] == method)
                for n in sizes]
        axes[0].bar(xs, [r["end_to_end_s"] for r in mine], width, label=method)
        axes[1].bar(xs, [r["positions_filled"] / r["positions"] for r in mine], width, label=method)
    for ax, title in zip(axes[:2], ("end to end (s; red: 60 s)", "share of positions with a proposal"), strict=True):
        ax.set_xticks(range(len(sizes)), [f"{w:,} x {o:,}\n{c} slots" for w, o, c in sizes], fontsize=8)
        ax.set_title(title, fontsize=10)
    axes[0].axhline(60, color="red", linestyle="--", linewidth=0.8)
    axes[1].legend(fontsize=7)
    if demo:
        names = [r["proposals by"] for r in demo]
        xs = np.arange(len(names))
        axes[2].bar(xs - 0.2, [r["positions_fillable"] for r in demo], 0.4, label="positions fillable")
        axes[2].bar(xs + 0.2, [r["distinct_workers"] for r in demo], 0.4, label="distinct workers proposed")
        axes[2].set_xticks(xs, names, fontsize=7, rotation=15)
        axes[2].set_title("demo data", fontsize=10)
        axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000x10000x5,1000000x100000x5,1000000x100000x2,1000000x100000x10",
                        help="WORKERSxORDERSxPOSITIONS,... (2 proposals per position)")
    parser.add_argument("--demo-home", type=Path, default=REPO / ".sepadan", help="the demo data folder (copied)")
    parser.add_argument("--region", default=None, help="demo: Kemendagri code (default: every region)")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "experiments" / "results")
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        n_workers, n_orders, positions = (int(x) for x in args.child[0].split("x"))
        print(json.dumps(run_child(n_workers, n_orders, positions, args.child[1])))  # noqa: T201 - the parent reads it
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    for noisy in ("sentence_transformers", "alembic", "faiss", "mlflow", "sepadan"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ["HF_HUB_OFFLINE"] = "1"
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",") if s]
    rows = synthetic_rows(sizes)
    demo, info = ([], {}) if args.no_demo else demo_rows(args.demo_home, args.region)
    for path in report(rows, demo, info, args.out):
        log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
