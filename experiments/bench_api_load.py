"""Load benchmark of the HTTP API against the same queries computed in-process.

    python experiments/bench_api_load.py                  # 50,000 workers, 8 clients, 30 s a pass
    python experiments/bench_api_load.py --workers 5000 --duration 5     # a quick smoke run

Shortlist (k=30) and recommendation (k=10) latency p50, p95, p99 and throughput, one at a time and
with ``--clients`` concurrent clients, in this process (``Engine.matcher`` and
``match_list_json``, as the API computes a response) and, right after each such pass, the same
queries over real HTTP on localhost against ``sepadan serve`` on the same data folder, so the
API's overhead is a ratio. Writes
``RESULTS/api-load.md``, ``.json`` and ``.png``, stamped with the machine, the date and the commit.

The data: the deterministic demo generator at ``--workers`` workers (500 vacancies), imported with
``sepadan import`` into ``--home`` (default ``$TMPDIR/.sepadan-bench-api``), reused while it holds
the same data. The real model is used (``HF_HUB_OFFLINE=1``: nothing is downloaded).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("bench_api_load")
REPO = Path(__file__).resolve().parents[1]
SEED = 20261123
VACANCIES = 500
MARKER = "bench-api-load.json"
SEPADAN = [sys.executable, "-m", "sepadan"]
ENDPOINTS = {  # name: (k, URL path template, the JSON key of each result's id)
    "shortlist": (30, "/v1/vacancies/{id}/shortlist", "worker_id"),
    "recommendations": (10, "/v1/workers/{id}/recommendations", "vacancy_id"),
}
Call = Callable[[str], Any]  # one query: returns the HTTP status (200 in-process) or raises


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr
    )
    for noisy in ("sentence_transformers", "alembic", "httpx", "httpcore", "faiss", "mlflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ["HF_HUB_OFFLINE"] = "1"
    load_start = [round(x, 2) for x in os.getloadavg()]
    home = args.home.resolve()
    if not args.home_as_is:
        prepare(home, args.workers)
    engine = load_engine(home)
    if args.home_as_is:
        args.workers = len(engine.matcher.workers.records)
    queries = sample_queries(engine.matcher, args.queries)
    key = create_key(home)
    with server(
        home,
        workers=args.server_workers,
        rate_limit=args.server_rate_limit,
        timeout=args.ready_timeout,
    ) as (base, info):
        inproc, http = measure(engine, base, key, queries, args, info)
    paths = report(args, queries, inproc, http, info, load_start)
    log.info("results written: %s", ", ".join(str(p) for p in paths))
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=50_000, help="synthetic workers (default 50,000)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients and threads")
    p.add_argument(
        "--duration", type=float, default=30.0, help="seconds measured per concurrent pass"
    )
    p.add_argument("--warmup", type=float, default=5.0, help="seconds discarded before each")
    p.add_argument("--queries", type=int, default=200, help="vacancies and workers sampled")
    p.add_argument(
        "--home",
        type=Path,
        default=Path(tempfile.gettempdir()) / ".sepadan-bench-api",
        help="data folder of the benchmark (made here, reused while it fits)",
    )
    p.add_argument(
        "--home-as-is",
        action="store_true",
        help="serve --home as it is (made elsewhere, e.g. by bench_http.py --make-home; indexed): "
        "no data made, the workers counted from it",
    )
    p.add_argument("--results", type=Path, default=REPO / "experiments" / "results")
    p.add_argument("--server-workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument(
        "--server-rate-limit",
        type=int,
        default=0,
        help="the API's requests a minute per key (SEPADAN_API_RATE_LIMIT); 0, the default, "
        "switches the limiter off: the run measures capacity, not the limit",
    )
    p.add_argument("--ready-timeout", type=float, default=900.0, help="seconds to wait for the API")
    return p


# -- data ------------------------------------------------------------------------------------------


def prepare(home: Path, n: int) -> None:
    """Generate ``n`` demo workers and import them into ``home``, unless it already holds them."""
    marker = home / MARKER
    wanted = {"workers": n, "vacancies": VACANCIES, "seed": SEED}
    if _holds(home, wanted):
        log.info("reusing %s: it holds the %s demo workers already", home, f"{n:,}")
        return
    if home.exists() and any(home.iterdir()) and not marker.exists():
        raise SystemExit(f"{home} holds data this benchmark did not make; pass another --home")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    marker.write_text(json.dumps({**wanted, "complete": False}))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sepadan-bench-data-") as tmp:
        log.info("generating %s demo workers and %d vacancies in %s", f"{n:,}", VACANCIES, tmp)
        _sepadan(
            "demo-data",
            tmp,
            "--workers",
            str(n),
            "--vacancies",
            str(VACANCIES),
            "--seed",
            str(SEED),
        )
        for kind in ("agencies", "trainings", "vacancies", "workers"):
            log.info("importing %s into %s", kind, home)
            _sepadan(
                "import", kind, str(Path(tmp) / f"{kind}.jsonl"), "--no-index", "--home", str(home)
            )
    log.info("building the indexes")
    _sepadan("index", "--home", str(home))
    marker.write_text(json.dumps({**wanted, "complete": True}))
    log.info("data ready in %.0f s", time.perf_counter() - started)


def _holds(home: Path, wanted: dict[str, int]) -> bool:
    try:
        found = json.loads((home / MARKER).read_text())
    except (OSError, ValueError):
        return False
    if not found.pop("complete", False) or found != wanted:
        return False
    from sepadan.config import Settings
    from sepadan.store.db import Store

    return Store.open(Settings(home=home).url).count("workers") == wanted["workers"]


def _sepadan(*args: str, capture: bool = False) -> str:
    """Run the command line (its progress goes to our stderr); raise if it fails."""
    done = subprocess.run(
        [*SEPADAN, *args],
        cwd=REPO,
        text=True,
        check=False,
        stdout=subprocess.PIPE if capture else None,
    )
    if done.returncode != 0:
        raise SystemExit(f"sepadan {args[0]} failed (exit {done.returncode})")
    return done.stdout or ""


# -- in process ------------------------------------------------------------------------------------


def load_engine(home: Path) -> Any:
    """The engine on the bench home, its matcher built (as the API's lifespan builds it)."""
    from sepadan.config import Settings
    from sepadan.engine import Engine

    started = time.perf_counter()
    engine = Engine(Settings(home=home))
    workers = len(engine.matcher.workers.records)
    log.info(
        "in-process engine ready in %.1f s (%s workers)",
        time.perf_counter() - started,
        f"{workers:,}",
    )
    return engine


def sample_queries(matcher: Any, n: int) -> dict[str, list[str]]:
    """A seeded sample of open vacancies through a legal channel, and of workers."""
    from sepadan.matching.eligibility import vacancy_checks

    rng = random.Random(SEED)
    vacancies = [
        v.id for v in matcher.vacancies.records if all(c.ok for c in vacancy_checks(v, matcher.ctx))
    ]
    workers = [w.id for w in matcher.workers.records]
    log.info(
        "%d of %d vacancies are open through a licensed agency",
        len(vacancies),
        len(matcher.vacancies.records),
    )
    return {
        "shortlist": rng.sample(vacancies, min(n, len(vacancies))),
        "recommendations": rng.sample(workers, min(n, len(workers))),
    }


def _in_process_call(engine: Any, name: str) -> Callable[[str], dict[str, Any]]:
    from sepadan.matching.output import match_list_json

    m = engine.matcher
    if name == "shortlist":
        return lambda q: match_list_json(
            m.shortlist(q, k=30), lang="id", describe=engine.describe_worker
        )
    return lambda q: match_list_json(
        m.recommend(q, k=10), lang="id", describe=engine.describe_vacancy
    )


def _ids(body: dict[str, Any], name: str) -> list[str]:
    key = ENDPOINTS[name][2]
    return [r[key] for r in body["results"]]


# -- drivers ---------------------------------------------------------------------------------------


def sequential(call: Call, queries: Sequence[str]) -> dict[str, Any]:
    """Every query once, one at a time."""
    rows = []
    started = time.perf_counter()
    for q in queries:
        rows.append(_timed(call, q))
    return stats(rows, seconds=time.perf_counter() - started)


def concurrent(
    make_call: Callable[[], Call],
    queries: Sequence[str],
    *,
    clients: int,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    """``clients`` threads, each with its own call, cycling through the queries from its own
    offset for ``warmup + duration`` seconds; requests that end within the last ``duration``
    seconds are kept."""
    start = time.perf_counter()
    window = (start + warmup, start + warmup + duration)

    def client(i: int) -> list[tuple[float, float, Any]]:
        call, out, j = make_call(), [], i * len(queries) // clients
        while time.perf_counter() < window[1]:
            out.append(_timed(call, queries[j % len(queries)]))
            j += 1
        return out

    with ThreadPoolExecutor(clients) as pool:
        rows = [r for f in [pool.submit(client, i) for i in range(clients)] for r in f.result()]
    kept = [r for r in rows if window[0] <= r[0] <= window[1]]
    return stats(kept, seconds=duration)


def _timed(call: Call, q: str) -> tuple[float, float, Any]:
    """``(end time, milliseconds, status)``; an exception's class name stands for the status."""
    started = time.perf_counter()
    try:
        status = call(q)
    except Exception as exc:  # noqa: BLE001 - counted as an error, the run goes on
        status = type(exc).__name__
    ended = time.perf_counter()
    return ended, (ended - started) * 1000, status


def stats(rows: list[tuple[float, float, Any]], *, seconds: float) -> dict[str, Any]:
    """Percentiles over the successful requests, throughput of successes, errors by status."""
    ok = [ms for _, ms, status in rows if status == 200]
    errors = Counter(str(status) for _, _, status in rows if status != 200)
    pct = {f"p{p}_ms": round(float(np.percentile(ok, p)), 2) if ok else None for p in (50, 95, 99)}
    return {
        "requests": len(rows),
        "errors": sum(errors.values()),
        "errors_by_status": dict(errors),
        **pct,
        "req_per_s": round(len(ok) / seconds, 2),
        "seconds": round(seconds, 1),
        "load_1m": round(os.getloadavg()[0], 2),
    }


# -- HTTP ------------------------------------------------------------------------------------------


def measure(
    engine: Any,
    base: str,
    key: str,
    queries: dict[str, list[str]],
    args: argparse.Namespace,
    info: dict[str, Any],
) -> tuple[dict, dict]:
    """Each pass in-process, then the same pass over HTTP right after it (the same load on the
    machine); first a warm pass over every query on both sides, which also checks the answers."""
    inproc: dict[str, dict] = {name: {} for name in queries}
    http: dict[str, dict] = {name: {} for name in queries}
    for name, ids in queries.items():
        body = _in_process_call(engine, name)
        answers = {q: _ids(body(q), name) for q in ids}
        make = HttpCalls(base, key, name)
        info[f"{name}_answers"] = _check_answers(make, ids, answers, name)
        sides = (("in-process", _ok(body), inproc), ("HTTP", make, http))
        for label, calls, timings in sides:
            log.info("%s %s: one at a time", label, name)
            with HealthProbe(base if label == "HTTP" else None) as probe:
                timings[name]["1"] = sequential(calls(), ids) | probe.stats()
        for label, calls, timings in sides:
            log.info("%s %s: %d at a time, %.0f s", label, name, args.clients, args.duration)
            with HealthProbe(base if label == "HTTP" else None, after=args.warmup) as probe:
                timings[name]["n"] = concurrent(
                    calls, ids, clients=args.clients, warmup=args.warmup, duration=args.duration
                ) | probe.stats()
        make.close_all()
    return inproc, http


class HealthProbe:
    """While a pass runs over HTTP, ``GET /v1/health`` every ``every`` seconds on a client of its
    own, after the first ``after`` seconds: how long any other request of the server process waits
    while it computes answers (a shortlist computed on the event loop holds every other request
    back). ``base`` None: no probe (an in-process pass)."""

    def __init__(self, base: str | None, *, every: float = 0.05, after: float = 0.0) -> None:
        self.base, self.every, self.after = base, every, after
        self.ms: list[float] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> HealthProbe:
        if self.base is not None:
            self._thread = threading.Thread(target=self._run, name="health-probe", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.base, timeout=120) as client:
            kept_from = time.perf_counter() + self.after
            while not self._stop.wait(self.every):
                started = time.perf_counter()
                try:
                    ok = client.get("/v1/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                if started >= kept_from:
                    self.ms.append((time.perf_counter() - started) * 1000)
                    self.failed += not ok

    def stats(self) -> dict[str, Any]:
        if self.base is None:
            return {}
        pct = {f"health_p{p}_ms": round(float(np.percentile(self.ms, p)), 2) if self.ms else None
               for p in (50, 99)}
        return {**pct, "health_max_ms": round(max(self.ms), 2) if self.ms else None,
                "health_requests": len(self.ms), "health_failed": self.failed}


def _ok(body: Callable[[str], Any]) -> Callable[[], Call]:
    """In-process calls as the drivers take them: a maker of calls that answer 200 or raise."""

    def call(q: str) -> int:
        body(q)
        return 200

    return lambda: call


def create_key(home: Path) -> str:
    """A new officer key on the bench home (the last non-empty line ``keys create`` prints)."""
    out = _sepadan("keys", "create", "--role", "officer", "--home", str(home), capture=True)
    return next(line.strip() for line in reversed(out.splitlines()) if line.strip())


class HttpCalls:
    """Makes one ``httpx.Client`` per caller (keep-alive), each a ``Call`` returning the status."""

    def __init__(self, base: str, key: str, name: str) -> None:
        self.base, self.key, self.name = base, key, name
        self.clients: list[Any] = []

    def __call__(self) -> Call:
        import httpx

        client = httpx.Client(base_url=self.base, headers={"X-API-Key": self.key}, timeout=120)
        self.clients.append(client)
        k, path, _ = ENDPOINTS[self.name]
        return lambda q: client.get(path.format(id=q), params={"k": k}).status_code

    def body(self, q: str) -> tuple[int, Any]:
        k, path, _ = ENDPOINTS[self.name]
        if not self.clients:
            self()
        r = self.clients[0].get(path.format(id=q), params={"k": k})
        return r.status_code, r.json() if r.status_code == 200 else r.text[:300]

    def close_all(self) -> None:
        for client in self.clients:
            client.close()


def _check_answers(
    make: HttpCalls, ids: list[str], expected: dict[str, list[str]], name: str
) -> dict[str, Any]:
    """Every query once over HTTP (the warm pass): the same workers or vacancies in the same
    order as in-process?"""
    same, differ, failed = 0, [], Counter()
    for q in ids:
        status, body = make.body(q)
        if status != 200:
            failed[str(status)] += 1
            if sum(failed.values()) == 1:
                log.warning("HTTP %s %s: %s %s", name, q, status, body)
        elif _ids(body, name) == expected[q]:
            same += 1
        else:
            differ.append(q)
    if differ:
        log.warning(
            "HTTP %s: %d answers differ from in-process, e.g. %s", name, len(differ), differ[:3]
        )
    return {
        "same": same,
        "different": len(differ),
        "failed": dict(failed),
        "different_examples": differ[:5],
    }


@contextmanager
def server(
    home: Path, *, workers: int, rate_limit: int, timeout: float
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``sepadan serve`` on a free localhost port, ready; stopped (its whole process group) at
    the end, also on error."""
    port = _free_port()
    log_path = Path(tempfile.gettempdir()) / f"sepadan-bench-api-server-{port}.log"
    cmd = [
        *SEPADAN,
        "serve",
        "--home",
        str(home),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {**os.environ, "SEPADAN_API_RATE_LIMIT": str(rate_limit)}
    log.info("starting the API: %s (log: %s)", " ".join(cmd[2:]), log_path)
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://127.0.0.1:{port}"
        info = {"ready_s": _wait_ready(base, proc, log_path, timeout), "server_log": str(log_path)}
        yield base, info
    finally:
        _stop(proc)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(base: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> float:
    import httpx

    started = time.perf_counter()
    last = None
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(
                f"the API exited with {proc.returncode} before it was ready; "
                f"its log ends:\n{_tail(log_path)}"
            )
        try:
            r = httpx.get(f"{base}/v1/health", timeout=5)
            if r.status_code == 200 and r.json().get("status") == "ready":
                seconds = time.perf_counter() - started
                log.info("the API is ready after %.1f s", seconds)
                return round(seconds, 1)
            now = f"{r.status_code}"
        except (httpx.HTTPError, ValueError) as exc:
            now = type(exc).__name__
        if now != last:
            log.info("waiting for the API: /v1/health says %s", now)
            last = now
        time.sleep(0.5)
    raise SystemExit(
        f"the API was not ready after {timeout:.0f} s; its log ends:\n{_tail(log_path)}"
    )


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)  # the server and its uvicorn workers, which we started
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            log.info("the API stopped")
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- report ----------------------------------------------------------------------------------------


def report(
    args: argparse.Namespace,
    queries: dict,
    inproc: dict,
    http: dict,
    info: dict,
    load_start: list[float],
) -> list[Path]:
    from sepadan.evaluation.results import Result, machine, write

    n = args.clients
    rows = _rows(inproc, http, n)
    result = Result(
        name="api-load",
        task="API load",
        dataset=f"{args.workers:,} synthetic demo workers, {n} concurrent clients, localhost",
        metrics=list(_summary(inproc, http, n, "shortlist")),
        table={
            f"{name} (k={ENDPOINTS[name][0]})": _summary(inproc, http, n, name)
            for name in ENDPOINTS
        },
        queries=sum(len(q) for q in queries.values()),
        notes=_notes(args, queries, info, load_start),
        params={
            "workers": args.workers,
            "vacancies": VACANCIES,
            "seed": SEED,
            "clients": n,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "server_workers": args.server_workers,
            "server_rate_limit": args.server_rate_limit,
            "uncommitted_in_sepadan": _uncommitted(),
            "queries": args.queries,
            "load_average_start": load_start,
            "server_ready_s": info["ready_s"],
            "answers_checked": {k: v for k, v in info.items() if k.endswith("_answers")},
            "passes": {"in_process": inproc, "http": http},
        },
        extra_tables={"Every pass": rows},
        layout="measures",
    )
    result.stamp = machine()
    paths = write(result, args.results, charts=[])
    chart = latency_chart(rows, args.results / "api-load.png", title=result.dataset)
    return [*paths.values(), chart]


def _uncommitted() -> list[str]:
    """``git status --porcelain`` under sepadan/: what the commit in the stamp does not hold."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=normal", "--", "sepadan"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.splitlines()


def _summary(inproc: dict, http: dict, n: int, name: str) -> dict[str, Any]:
    """The headline measures for one endpoint: in-process, HTTP and their ratio."""
    out: dict[str, Any] = {}
    for c, who in (("1", "1 at a time"), ("n", f"{n} at a time")):
        i, h = inproc[name][c], http[name][c]
        for p in ("p50", "p99"):
            out[f"{p} in-process (ms), {who}"] = i[f"{p}_ms"]
            out[f"{p} HTTP (ms), {who}"] = h[f"{p}_ms"]
            out[f"{p} HTTP / in-process, {who}"] = _ratio(h[f"{p}_ms"], i[f"{p}_ms"])
        out[f"throughput in-process (req/s), {who}"] = i["req_per_s"]
        out[f"throughput HTTP (req/s), {who}"] = h["req_per_s"]
        out[f"throughput HTTP / in-process, {who}"] = _ratio(h["req_per_s"], i["req_per_s"])
        for p in ("p50", "p99", "max"):
            out[f"/v1/health beside it over HTTP, {p} (ms), {who}"] = h.get(f"health_{p}_ms")
    out["HTTP errors (non-200), timed passes"] = (
        http[name]["1"]["errors"] + http[name]["n"]["errors"]
    )
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _rows(inproc: dict, http: dict, n: int) -> list[dict[str, Any]]:
    rows = []
    for name in ENDPOINTS:
        for path, timings, unit in (("in-process", inproc, "threads"), ("HTTP", http, "clients")):
            for c, conc in (("1", 1), ("n", n)):
                t = timings[name][c]
                rows.append(
                    {
                        "endpoint": name,
                        "path": path,
                        "concurrency": f"{conc} {unit[:-1] if conc == 1 else unit}",
                        "requests": t["requests"],
                        "errors": t["errors"],
                        "p50_ms": t["p50_ms"],
                        "p95_ms": t["p95_ms"],
                        "p99_ms": t["p99_ms"],
                        "req_per_s": t["req_per_s"],
                        "health_p50_ms": t.get("health_p50_ms"),
                        "health_p99_ms": t.get("health_p99_ms"),
                        "health_max_ms": t.get("health_max_ms"),
                        "load_1m_after": t["load_1m"],
                    }
                )
    return rows


def _notes(args: argparse.Namespace, queries: dict, info: dict, load_start: list) -> list[str]:
    checked = ", ".join(
        f"{name} {c['same']} of {len(queries[name])}"
        + (f" ({c['different']} different)" if c["different"] else "")
        + (f" (failed: {c['failed']})" if c["failed"] else "")
        for name in ENDPOINTS
        if (c := info.get(f"{name}_answers"))
    )
    made = (
        f"data: the home {args.home} as it was ({args.workers:,} workers)"
        if args.home_as_is
        else f"data: sepadan.demo_data (seed {SEED}), {args.workers:,} workers and {VACANCIES} "
        "vacancies imported with `sepadan import` into one SQLite home and indexed with "
        "`sepadan index`"
    )
    return [
        made + "; the real model; both sides read the same home and evaluate deadlines "
        "and licences as of the day of the run",
        f"queries: {len(queries['shortlist'])} open vacancies through a licensed agency and "
        f"{len(queries['recommendations'])} workers, drawn with a fixed seed; a pass cycles "
        "through them, each client from its own offset",
        "in-process: `Engine(Settings(home=HOME)).matcher` with `match_list_json(m.shortlist(v, "
        "k=30), lang='id', describe=engine.describe_worker)` (and `recommend(w, k=10)` with "
        "`describe_vacancy`), a Python dict; over HTTP: `GET /v1/vacancies/{id}/shortlist?k=30` "
        "and `GET /v1/workers/{id}/recommendations?k=10` with an officer key in `X-API-Key`, "
        "timed until the whole body is read (the client does not parse it). The ratio is what the "
        "API adds: routing and the key check (cached), a store read of the vacancy or worker "
        "asked for, for a shortlist the workers' names read and decrypted from the store, an "
        "audit row per worker returned (a SQLite write), JSON encoding (orjson), the localhost "
        "round trip and uvicorn's threadpool",
        "each in-process pass is followed at once by the same pass over HTTP (the server idles "
        "during the in-process passes, the in-process engine during the HTTP ones); "
        "one at a time: every query once after an untimed warm pass over all of them (the warm "
        "pass over HTTP checks that the API answers the same workers or vacancies in the same "
        f"order as in-process: {checked}); throughput = queries / wall time",
        f"{args.clients} at a time: {args.clients} threads in this process (in-process: calling "
        f"the matcher; HTTP: one keep-alive httpx.Client each) for {args.warmup:.0f} s discarded "
        f"and {args.duration:.0f} s measured; latency and throughput of the requests that "
        "completed in the measured window; errors are every non-200 status or exception",
        f"server: `sepadan serve --workers {args.server_workers}` (uvicorn) on 127.0.0.1, ready "
        f"{info['ready_s']:.0f} s after it was started (model and indexes load in the lifespan); "
        "the load generator runs on the same cores as the server, as the in-process threads do; "
        + (
            f"the per-key rate limit set to {args.server_rate_limit:,} a minute"
            if args.server_rate_limit
            else "the per-key rate limit switched off (SEPADAN_API_RATE_LIMIT=0; by default it "
            "holds one key to 1,200 requests a minute, 20 a second)"
        ),
        "/v1/health beside each HTTP pass: a client of its own asks it every 50 ms (after the "
        "warm-up of a concurrent pass) while the pass runs; its latency is how long any other "
        "request of the server process waits while answers are computed",
        f"load average at the start {load_start} (the machine may be shared: read the absolute "
        "numbers as noisy, the ratios as the result)",
    ]


def latency_chart(rows: list[dict[str, Any]], path: Path, *, title: str) -> Path:
    """p50, p95 and p99 by pass, one panel per endpoint, throughput in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pcts = ("p50_ms", "p95_ms", "p99_ms")
    fig, axes = plt.subplots(1, len(ENDPOINTS), figsize=(12, 4.6))
    for ax, name in zip(axes, ENDPOINTS, strict=True):
        mine = [r for r in rows if r["endpoint"] == name]
        width = 0.8 / len(mine)
        for i, r in enumerate(mine):
            xs = [j + (i - (len(mine) - 1) / 2) * width for j in range(len(pcts))]
            bars = ax.bar(
                xs,
                [r[p] or 0 for p in pcts],
                width,
                label=f"{r['path']}, {r['concurrency']} ({r['req_per_s']:.1f} req/s)",
                hatch="//" if r["path"] == "HTTP" else None,
            )
            ax.bar_label(bars, fmt="%.0f", fontsize=6.5, padding=1)
        ax.set_xticks(range(len(pcts)), [p[:3] for p in pcts])
        ax.set_ylabel("latency (ms)")
        ax.set_title(f"{name} (k={ENDPOINTS[name][0]})", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
