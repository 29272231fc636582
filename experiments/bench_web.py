"""Web app page times on the demo data (the quick start's home), in process through TestClient.

    python experiments/bench_web.py [--repeat 30]

Imports the bundled demo data (what ``sepadan demo`` loads) into a temporary home, opens the app
over it with the real model, signs in with a fresh admin key, warms each page once, then times
``--repeat`` requests of each: the job orders list, the shortlist page of V-0042 (k=20, with the
one-course-away candidates), the same with ``include_ineligible``, a comparison, a worker page and
the Excel export. Writes ``experiments/results/web-speed.md`` (p50, p95, max, bytes), stamped with
the machine, the date and the commit.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PAGES = {
    "job orders": "/job-orders",
    "shortlist V-0042": "/job-orders/V-0042",
    "shortlist V-0042, include ineligible": "/job-orders/V-0042?include_ineligible=true",
    "compare 3": "/job-orders/V-0042/compare?w={w0}&w={w1}&w={w2}",
    "worker W-000123": "/workers/W-000123",
    "export xlsx": "/job-orders/V-0042/shortlist.xlsx",
}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from fastapi.testclient import TestClient

    from sepadan.api.app import create_app
    from sepadan.config import Settings
    from sepadan.engine import Engine
    from sepadan.features.taxonomy import default_data_dir
    from sepadan.store.keys import create_key

    with tempfile.TemporaryDirectory(prefix="sepadan-bench-web-") as tmp:
        settings = Settings(home=Path(tmp) / "home", api_rate_limit=0, api_auth_failures=0)
        loaded = Engine(settings)
        for kind in ("agencies", "trainings", "workers", "vacancies", "outcomes"):
            loaded.import_file(kind, default_data_dir() / "demo" / f"{kind}.jsonl")
        app = create_app(settings, engine=loaded, background=False)
        with TestClient(app, follow_redirects=False) as client:
            engine = app.state.sepadan.engine
            _, token = create_key(engine.store, "admin", label="bench-web")
            form = client.get("/signin").text
            signin = re.search(r'name="signin_csrf" value="([^"]+)"', form).group(1)
            assert client.post("/signin", data={"key": token, "signin_csrf": signin}).status_code == 303
            top = [m.worker_id for m in engine.matcher.shortlist("V-0042", k=3).results]
            rows = []
            for name, path in PAGES.items():
                url = path.format(**{f"w{i}": w for i, w in enumerate(top)})
                first = time.perf_counter()
                r = client.get(url)
                cold = time.perf_counter() - first
                assert r.status_code == 200, (url, r.status_code)
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    client.get(url)
                    times.append(time.perf_counter() - t0)
                ms = np.array(times) * 1000
                rows.append((name, cold * 1000, np.percentile(ms, 50), np.percentile(ms, 95), ms.max(), len(r.content)))
                print(f"{name}: p50 {rows[-1][2]:.0f} ms, p95 {rows[-1][3]:.0f} ms, {len(r.content):,} bytes", file=sys.stderr)
    _write(rows, args)
    return 0


def _write(rows, args) -> None:  # noqa: ANN001
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    lines = ["# Web app page times on the demo data", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, {platform.machine()} "
             f"{os.cpu_count()} CPUs (shared), Python {platform.python_version()}; in process (TestClient), "
             f"{args.repeat} requests a page after one warm-up; the demo home (5,000 workers, 500 job orders).", "",
             "| page | first (ms) | p50 (ms) | p95 (ms) | max (ms) | bytes |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {n} | {c:.0f} | {p50:.0f} | {p95:.0f} | {mx:.0f} | {size:,} |" for n, c, p50, p95, mx, size in rows]
    out = REPO / "experiments" / "results" / "web-speed.md"
    out.write_text("\n".join(lines) + "\n")
    print(out, file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
