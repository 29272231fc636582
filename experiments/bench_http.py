"""HTTP overhead of a shortlist (issue 15 item 3): the same queries through a real ``sepadan serve``
(uvicorn, one keep-alive client) and in this process, taking turns query by query in one run.

    python experiments/bench_http.py [--home HOME] [--queries 100] [--rounds 3]

In-process is what the API computes a response from: ``Matcher.shortlist`` (k=30) and
``match_list_json`` with the worker's region (``Engine.describe_worker``). Over HTTP the route also
checks the key, reads the vacancy, decrypts the 30 names, writes the audit lines and sends the
JSON. Without ``--home`` a demo home is made (``sepadan demo``, 5,000 workers). The rate limiter is
off (``SEPADAN_API_RATE_LIMIT=0``): this measures a request's cost, not the limit; so is the web
planner's warming after start (``SEPADAN_WEB_PLANNER_WARM=0``), which would share the CPU. The real model
and indexes are those of the home. Writes experiments/results/speed-http.md, .json and .png.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
TARGET = 1.2
log = logging.getLogger("bench_http")


def _load_api_bench():
    spec = importlib.util.spec_from_file_location("bench_api_load", ROOT / "experiments" / "bench_api_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--home", type=Path, help="a sepadan home (default: a demo home made now)")
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3, help="passes over the queries (the first is also warm-up)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "alembic", "faiss", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    api = _load_api_bench()
    with tempfile.TemporaryDirectory(prefix="sepadan-bench-http-") as tmp:
        home = args.home or Path(tmp) / "home"
        if args.home is None:
            log.info("making the demo home in %s", home)
            subprocess.run([sys.executable, "-m", "sepadan.cli", "demo", "--home", str(home)], check=True,
                           cwd=ROOT, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        key = api.create_key(home)
        engine = api.load_engine(home)
        queries = api.sample_queries(engine.matcher, args.queries)["shortlist"]
        os.environ["SEPADAN_WEB_PLANNER_WARM"] = "0"  # the planner's warming would share the CPU
        with api.server(home, workers=1, rate_limit=0, timeout=900) as (base, info):
            result = measure(engine, base, key, queries, args.rounds)
    result |= {"machine": f"{_cpu()}, {os.cpu_count()} cores", "python": platform.python_version(),
               "commit": subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                                        text=True).stdout.strip(),
               "workers": len(engine.matcher.workers.records), "server_ready_s": info["ready_s"]}
    write(result)


def measure(engine, base: str, key: str, queries: list[str], rounds: int) -> dict:
    """Each query in-process and over HTTP one after the other (which goes first alternates)."""
    import httpx

    from sepadan.matching.output import match_list_json

    m = engine.matcher

    def inproc(q: str) -> list[str]:
        body = match_list_json(m.shortlist(q, k=30), lang="id", describe=engine.describe_worker)
        return [r["worker_id"] for r in body["results"]]

    client = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120)

    def http(q: str) -> list[str]:
        r = client.get(f"/v1/vacancies/{q}/shortlist", params={"k": 30})
        r.raise_for_status()
        return [x["worker_id"] for x in r.json()["results"]]

    times: dict[str, list[float]] = {"in-process": [], "HTTP": []}
    same = differ = 0
    load_start = os.getloadavg()
    for rnd in range(rounds):
        for i, q in enumerate(queries):
            order = (("in-process", inproc), ("HTTP", http)) if (i + rnd) % 2 == 0 else \
                (("HTTP", http), ("in-process", inproc))
            got = {}
            for name, call in order:
                started = time.perf_counter()
                got[name] = call(q)
                if rnd > 0:
                    times[name].append((time.perf_counter() - started) * 1000)
            same += got["in-process"] == got["HTTP"]
            differ += got["in-process"] != got["HTTP"]
        log.info("round %d/%d done", rnd + 1, rounds)
    client.close()
    summary = {name: {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
                      "n": len(ms)} for name, ms in times.items()}
    ratio = summary["HTTP"]["p50_ms"] / summary["in-process"]["p50_ms"]
    return {"times_ms": times, "summary": summary, "ratio_p50": round(ratio, 3), "target": TARGET,
            "same_answers": same, "different_answers": differ, "load_average_start": load_start,
            "load_average_end": os.getloadavg(), "queries": len(queries), "rounds": rounds}


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def write(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed-http.json").write_text(json.dumps(result, indent=2))
    s = result["summary"]
    lines = ["# speed: a shortlist over HTTP against in-process", "",
             f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, commit `{result['commit']}`, {result['machine']}, "
             f"Python {result['python']}, {result['workers']:,} workers, load average "
             f"{[round(x, 2) for x in result['load_average_start']]} at the start and "
             f"{[round(x, 2) for x in result['load_average_end']]} at the end (2 cores, shared; the server and "
             "this process share them too).", "",
             f"{result['queries']} open vacancies, {result['rounds']} passes (the first not timed), each query "
             "in-process and over HTTP one after the other, which goes first alternating. In-process: "
             "`Matcher.shortlist` (k=30) and `match_list_json` with each worker's region; HTTP: "
             "`GET /v1/vacancies/{id}/shortlist?k=30` on `sepadan serve` (uvicorn, 1 worker process, "
             "rate limiter and the planner's background warming off) through one keep-alive httpx client: key check, the vacancy read, names "
             "decrypted, audit lines written, JSON sent.", "",
             "| path | requests | p50 (ms) | p99 (ms) |", "|---|---|---|---|"]
    for name, m in s.items():
        lines.append(f"| {name} | {m['n']} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} |")
    met = "yes" if result["ratio_p50"] <= result["target"] else "**no**"
    lines += ["", f"HTTP / in-process, p50: **{result['ratio_p50']:.2f}x** (target <= {result['target']}x: {met}). "
              f"Same workers in the same order: {result['same_answers']} of "
              f"{result['same_answers'] + result['different_answers']} answers.", "",
              "![latency](speed-http.png)", ""]
    (RESULTS / "speed-http.md").write_text("\n".join(lines))
    chart(result)


def chart(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    names = list(result["times_ms"])
    ax.boxplot([result["times_ms"][n] for n in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set_ylabel("shortlist latency (ms)")
    ax.set_title(f"HTTP / in-process p50 = {result['ratio_p50']:.2f}x ({result['workers']:,} workers)")
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(RESULTS / "speed-http.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1:])
