"""The planner pages on the demo data: time and size of each page and download.

    python experiments/bench_web_planner.py [--repeat 5] [--shots]
        # writes experiments/results/web-planner.md, .json and .png

Imports the bundled demo data into a temporary home (the real model), builds the engine, and asks
the web app in process (Starlette's TestClient, signed in with a planner key) for each page, with the
warming off: "first answer" is the time to the first response after the build (the "being worked
out" page while the engine works the answer out in the background: the planning view of the market,
the assessment, the plan), "result" the time until the page shows the answer (asked again every
``--poll`` seconds; a browser asks at the page's own refresh, 2 s at first), "again" the median of
``--repeat`` more (the answer kept per matcher, region, period, budget and language; what is left is
rendering). Then a second app over the same engine with the warming on (as ``sepadan serve``): the
time until the national and province overviews are worked out, and the first answers after that.
``--shots`` also saves the planner screenshots of experiments/ui_screenshots.py from the same engine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = [  # (name, path)
    ("overview, all regions", "/planner"),
    ("overview, region 35", "/planner?region=35"),
    ("overview, regency 35.08", "/planner?region=35.08"),
    ("overview, 35, all rows", "/planner?region=35&rows=500"),
    ("plan, 35, Rp 50 juta", "/planner/plan?region=35&budget=50000000"),
    ("plan, 35, no budget limit", "/planner/plan?region=35"),
    ("plan, all regions, Rp 500 juta", "/planner/plan?budget=500000000"),
    ("Excel workbook, 35, Rp 50 juta", "/planner/plan.xlsx?region=35&budget=50000000"),
    ("HTML report, 35, Rp 50 juta", "/planner/report.html?region=35&budget=50000000"),
]
WARMED = [("overview, all regions (warmed)", "/planner"), ("overview, region 35 (warmed)", "/planner?region=35"),
          ("overview, region 52 (warmed)", "/planner?region=52")]
REFRESH = '<meta http-equiv="refresh"'
log = logging.getLogger("bench_web_planner")


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if args.from_json:  # the tables and the chart again, from a run's JSON
        _write(args.out, json.loads(args.from_json.read_text(encoding="utf-8")))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line a request, and the pages are polled
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from fastapi.testclient import TestClient

    with tempfile.TemporaryDirectory(prefix="sepadan-planner-bench-") as tmp:
        engine, app, token, settings = _demo(Path(tmp))
        with TestClient(app, follow_redirects=False) as client:
            _sign_in(client, token)
            rows = [_measure(client, name, path, args.repeat, args.poll) for name, path in PAGES]
        warm = _warmed(engine, settings, token, args)
        result = {"commit": _commit(), "today": engine.matcher.ctx.today.isoformat(),
                  "workers": len(engine.matcher.workers.records), "job_orders": len(engine.matcher.vacancies.records),
                  "repeat": args.repeat, "poll_s": args.poll, "pages": rows, "warm": warm,
                  "machine": "shared development machine, 2 CPU cores shared with other work (in process, one "
                             "client, niced)"}
        _write(args.out, result)
        if args.shots:
            _shots(app, engine)
    return 0


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--poll", type=float, default=0.25, help="seconds between asks while a page is worked out")
    p.add_argument("--out", type=Path, default=REPO / "experiments" / "results")
    p.add_argument("--from-json", type=Path, help="write the md and png again from a run's JSON (nothing measured)")
    p.add_argument("--shots", action="store_true", help="also save the planner screenshots (chromium)")
    return p.parse_args(argv)


def _demo(tmp: Path):  # noqa: ANN202 - (Engine, FastAPI, str)
    from sepadan.api.app import create_app
    from sepadan.config import Settings
    from sepadan.engine import Engine
    from sepadan.features.taxonomy import default_data_dir
    from sepadan.store.keys import create_key

    settings = Settings(home=tmp / "home", api_rate_limit=0, api_auth_failures=0, web_planner_warm=False)
    engine = Engine(settings)
    started = time.perf_counter()
    for kind in ("agencies", "trainings", "workers", "vacancies", "outcomes"):
        log.info("importing the demo %s", kind)
        engine.import_file(kind, default_data_dir() / "demo" / f"{kind}.jsonl")
    log.info("building the engine")
    engine.build()
    log.info("demo imported and built in %.0f s", time.perf_counter() - started)
    app = create_app(settings, engine=engine, background=False)
    _, token = create_key(engine.store, "planner", label="Perencana pelatihan")
    return engine, app, token, settings


def _warmed(engine, settings, token: str, args: argparse.Namespace) -> dict:  # noqa: ANN001 - Engine, Settings
    """A second app with the warming on: how long the common answers take, then the first answers."""
    from fastapi.testclient import TestClient

    from sepadan.api.app import create_app

    engine.settings = settings.model_copy(update={"web_planner_warm": True})  # the pages read the engine's
    app = create_app(engine.settings, engine=engine, background=False)
    started = time.perf_counter()
    with TestClient(app, follow_redirects=False) as client:  # loads (a new matcher), then warms
        assert app.state.planner_warmer.warmed.wait(120)
        queued = time.perf_counter() - started
        assert app.state.planner_jobs.settle(1800)
        warmed = time.perf_counter() - started
        log.info("warmed in %.0f s", warmed)
        _sign_in(client, token)
        rows = [_measure(client, name, path, args.repeat, args.poll) for name, path in WARMED]
    return {"queued_s": round(queued, 1), "warmed_s": round(warmed, 1), "pages": rows}


def _sign_in(client, token: str) -> None:  # noqa: ANN001 - a TestClient
    form = client.get("/signin").text
    csrf = re.search(r'name="signin_csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    r = client.post("/signin", data={"key": token, "signin_csrf": csrf, "next": "/planner"})
    assert r.status_code == 303, r.text


def _measure(client, name: str, path: str, repeat: int, poll: float) -> dict:  # noqa: ANN001 - a TestClient
    log.info("%s: %s", name, path)
    started = time.perf_counter()
    r = client.get(path)
    first = time.perf_counter() - started
    progress, asks = REFRESH in r.text, 1
    while r.status_code == 200 and REFRESH in r.text:
        time.sleep(poll)
        r, asks = client.get(path), asks + 1
    result = time.perf_counter() - started
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    times, size = [], len(r.content)
    for _ in range(repeat):
        started = time.perf_counter()
        r = client.get(path)
        times.append(time.perf_counter() - started)
        assert r.status_code == 200 and REFRESH not in r.text, (path, r.status_code, r.text[:300])
    return {"page": name, "path": path, "first_answer_ms": round(1000 * first, 1), "progress_page": progress,
            "result_ms": round(1000 * result, 1), "asks": asks,
            "again_p50_ms": round(1000 * statistics.median(times), 1), "bytes": size}


def _write(out: Path, result: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "web-planner.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    warm = result["warm"]
    lines = [f"# Planner pages on the demo data (commit {result['commit']})", "",
             f"{result['workers']:,} workers, {result['job_orders']:,} job orders, as of {result['today']}; "
             f"{result['machine']}. First answer: the first response after the build, warming off (the "
             f"\"being worked out\" page while the engine works the answer out in the background, or the "
             f"answer where it was already kept); result: until the page shows the answer (asked every "
             f"{result['poll_s']} s); again: median of {result['repeat']} more (the answer kept per matcher and "
             f"choice). Pages asked one after the other, in this order.", "",
             "| page | first answer (ms) | progress page | result (ms) | again p50 (ms) | size (KB) |",
             "|---|---:|:---:|---:|---:|---:|"]
    lines += [_row(p) for p in result["pages"]]
    lines += ["", f"With the warming on (a second app over the same engine, as `sepadan serve`): the national "
              f"and province overviews queued {warm['queued_s']} s after the app started and were all worked out "
              f"{warm['warmed_s']} s after it started (load of a new matcher included); then:", "",
              "| page | first answer (ms) | progress page | result (ms) | again p50 (ms) | size (KB) |",
              "|---|---:|:---:|---:|---:|---:|"]
    lines += [_row(p) for p in warm["pages"]]
    lines += ["", "![times](web-planner.png)", ""]
    (out / "web-planner.md").write_text("\n".join(lines), encoding="utf-8")
    _chart(out / "web-planner.png", result)
    log.info("wrote %s", out / "web-planner.md")


def _row(p: dict) -> str:
    return (f"| {p['page']} | {p['first_answer_ms']:,.0f} | {'yes' if p['progress_page'] else 'no'} | "
            f"{p['result_ms']:,.0f} | {p['again_p50_ms']:,.0f} | {p['bytes'] / 1024:,.1f} |")


def _chart(path: Path, result: dict) -> None:
    from matplotlib.figure import Figure

    pages = (result["pages"] + result["warm"]["pages"])[::-1]
    fig = Figure(figsize=(10, 0.55 * len(pages) + 1.4), dpi=110)
    ax = fig.subplots()
    y = range(len(pages))
    ax.barh([i + 0.27 for i in y], [p["result_ms"] / 1000 for p in pages], height=0.27, color="#1565c0",
            label="first request: until the result is shown")
    ax.barh(list(y), [p["first_answer_ms"] / 1000 for p in pages], height=0.27, color="#ef6c00",
            label="first request: first answer (the progress page where it is being worked out)")
    ax.barh([i - 0.27 for i in y], [p["again_p50_ms"] / 1000 for p in pages], height=0.27, color="#90caf9",
            label=f"again (p50 of {result['repeat']})")
    ax.set_xscale("log")  # milliseconds for the first answer, up to a minute and more for the result
    ax.axvline(2.0, color="#999", linewidth=0.8, linestyle=":")
    ax.text(2.0, len(pages) - 0.4, " 2 s: the progress page's first refresh", fontsize=7.5, color="#666")
    ax.set_yticks(list(y), [f"{p['page']} ({p['bytes'] / 1024:.0f} KB)" for p in pages], fontsize=8.5)
    ax.set_xlabel("seconds (log scale)")
    ax.set_title(f"Planner pages on the demo data (commit {result['commit']}, shared 2-CPU machine)", fontsize=10,
                 loc="left")
    ax.legend(loc="lower right", frameon=True, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)


def _shots(app, engine) -> None:  # noqa: ANN001 - FastAPI, Engine
    import socket
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO / "experiments"))
    import ui_screenshots

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    ui_screenshots.OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ui_screenshots.ARGS)
        ui_screenshots._planner_pages(browser, f"http://127.0.0.1:{port}", engine)
        browser.close()
    server.should_exit = True


def _commit() -> str:
    """HEAD (and whether the package has uncommitted changes); BENCH_COMMIT names it for a copy outside git."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sepadan"], cwd=REPO, capture_output=True,
                               text=True).stdout.strip()
        return head.stdout.strip() + ("+dirty tree" if dirty else "")
    except OSError:
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
