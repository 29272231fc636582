"""HTTP overhead of a shortlist (issue 15 item 3): the same queries through a real ``sepadan serve``
(uvicorn, one keep-alive client) and in this process, taking turns query by query in one run.

    python experiments/bench_http.py [--home HOME] [--queries 100] [--rounds 3] [--no-plain]

In-process is what the API computes a response from: ``Matcher.shortlist`` (k=30) and
``match_list_json`` with the worker's region (``Engine.describe_worker``). Over HTTP the route also
checks the key, reads the vacancy, reads the 30 names, writes the audit lines and sends the JSON;
the client reads the body and decodes it. Also in this process, the route's work without HTTP
(``routes_matching.shortlist_answer``, the call the route makes, and ``orjson.dumps``), so that what
HTTP adds and what the route does beyond ``Matcher.shortlist`` are told apart. Two servers run side
by side: ``sepadan serve`` as shipped (``--loop auto --http auto``: uvloop and httptools where
installed) and, unless ``--no-plain``, ``sepadan serve --loop asyncio --http h11`` (the path where
they are not), so what they bring is measured in the same run; every writer of audit lines but the
shipped server works on its own copy of the home (another connection's commit makes a server read
its vacancy and names again: ``sepadan.store.changes``). Without ``--home`` a demo home is made (``sepadan demo``,
5,000 workers). The rate limiter is off (``SEPADAN_API_RATE_LIMIT=0``): this measures a request's
cost, not the limit; so is the web planner's warming after start (``SEPADAN_WEB_PLANNER_WARM=0``),
which would share the CPU. The real model and indexes are those of the home. Also written: for each
HTTP request the time until its body had arrived (before the client decodes the JSON), each
server's own mean time per shortlist over the timed passes (its Prometheus histogram, read before
and after), so what the client, the socket and the server each take can be told apart, and the p50
of the route's own store work measured in this process on the same home (the vacancy and the 30
names answered from memory, as while nothing is written, and read from the store, as after a write
elsewhere: names held decrypted, and none held; 30 audit lines written). Writes experiments/results/speed-http.md, .json and .png.
"""

from __future__ import annotations

import argparse
import http.client as http_client
import contextlib
import importlib.util
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
TARGET = 1.2
PLAIN = "HTTP, asyncio + h11"
STDLIB = "HTTP, http.client"  # the shipped server again, through the standard library's client
ROUTE = "in-process, the route's work"  # shortlist_answer, the call the route makes, and its JSON bytes
SHORTLIST_ROUTE = 'route="/v1/vacancies/{id}/shortlist"'
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
    p.add_argument("--no-plain", action="store_true", help="without the asyncio + h11 server beside")
    p.add_argument("--make-home", type=int, metavar="WORKERS",
                   help="make --home first with this many synthetic workers (as bench_speed makes its data), "
                        "kept and reused while it is complete")
    args = p.parse_args(argv)
    if args.make_home:
        if args.home is None:
            p.error("--make-home needs --home")
        make_home(args.home, args.make_home)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "alembic", "faiss", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    api = _load_api_bench()
    servers = {"HTTP": ["--loop", "auto", "--http", "auto"]}
    if not args.no_plain:
        servers[PLAIN] = ["--loop", "asyncio", "--http", "h11"]
    with tempfile.TemporaryDirectory(prefix="sepadan-bench-http-") as tmp:
        home = args.home or Path(tmp) / "home"
        if args.home is None:
            log.info("making the demo home in %s", home)
            subprocess.run([sys.executable, "-m", "sepadan.cli", "demo", "--home", str(home)], check=True,
                           cwd=ROOT, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        key = api.create_key(home)
        engine = api.load_engine(home)
        queries = api.sample_queries(engine.matcher, args.queries)["shortlist"]
        homes = _own_homes(engine, home, Path(tmp), servers)
        route_engine = _route_engine(engine, homes["route"])
        os.environ["SEPADAN_WEB_PLANNER_WARM"] = "0"  # the planner's warming would share the CPU
        with contextlib.ExitStack() as stack:
            bases, info = {}, {}
            for name, options in servers.items():  # one after the other: each loads the model alone
                bases[name], info[name] = stack.enter_context(_server(api, homes[name], options))
            result = measure(engine, bases, key, queries, args.rounds, route_engine=route_engine)
        result["route_parts_p50_ms"] = route_parts(engine, queries)
    result |= {"machine": f"{_cpu()}, {os.cpu_count()} cores", "python": platform.python_version(),
               "commit": subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                                        text=True).stdout.strip(),
               "workers": len(engine.matcher.workers.records), "servers": info,
               "niceness": os.nice(0)}
    write(result)


def make_home(home: Path, workers: int) -> None:
    """A home of ``workers`` synthetic workers and 500 vacancies: the rows bench_speed generates
    (``speed.generate_pool``, the demo generator without its hiring outcomes, which do not scale to
    a million), imported with ``sepadan import`` and indexed with ``sepadan index``. A home whose
    marker says it is complete with these rows is reused."""
    from sepadan.evaluation.speed import SpeedConfig, generate_pool

    marker, config = home / "bench-http-home.json", SpeedConfig()
    wanted = {"workers": workers, "vacancies": config.vacancies, "seed": config.seed}
    if marker.exists() and json.loads(marker.read_text()) == {**wanted, "complete": True}:
        log.info("reusing %s (%s workers)", home, f"{workers:,}")
        return
    if home.exists() and any(home.iterdir()) and not marker.exists():
        raise SystemExit(f"{home} holds data this benchmark did not make; pass another --home")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    marker.write_text(json.dumps({**wanted, "complete": False}))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sepadan-bench-http-data-") as tmp:
        generate_pool(Path(tmp), workers, config)
        log.info("generated in %.0f s", time.perf_counter() - started)
        for kind in ("agencies", "trainings", "vacancies", "workers"):
            _sepadan("import", kind, str(Path(tmp) / f"{kind}.jsonl"), "--no-index", "--home", str(home))
            log.info("%s imported at %.0f s", kind, time.perf_counter() - started)
    _sepadan("index", "--home", str(home))
    log.info("indexed at %.0f s", time.perf_counter() - started)
    marker.write_text(json.dumps({**wanted, "complete": True}))


def _sepadan(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "sepadan.cli", *args], check=True, cwd=ROOT,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"})


def _own_homes(engine, home: Path, tmp: Path, servers: dict) -> dict[str, Path]:
    """The shipped server serves ``home``; every other writer gets its own copy of it (made now,
    the WAL checkpointed first): each writes audit lines, and a commit on another connection to
    the same file would make the shipped server read its vacancy and names again on every request
    (``sepadan.store.changes``), which is not how one server process on its home serves. The
    in-process route's work gets a copy of the database file alone."""
    engine.store.checkpoint()
    out = {"HTTP": home, "route": tmp / "route.db"}
    for name in servers:
        if name != "HTTP":
            out[name] = tmp / ("home-" + re.sub(r"\W+", "-", name))
            shutil.copytree(home, out[name], ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    shutil.copyfile(home / "sepadan.db", out["route"])
    return out


def _route_engine(engine, db: Path):
    """What ``shortlist_answer`` needs of an engine, on the copy ``db``: its store and the
    personal data read through it (the same vault)."""
    from sepadan.store.db import Store
    from sepadan.store.personal import PersonalData

    store = Store.open(f"sqlite:///{db}")
    return types.SimpleNamespace(store=store, personal=PersonalData(store, engine.vault))


@contextlib.contextmanager
def _server(api, home: Path, options: list[str]):
    """``sepadan serve`` with ``options`` on a free localhost port, one process, the rate limiter
    off; ready when yielded (its address and what it printed on start), stopped at the end."""
    port = api._free_port()
    log_path = Path(tempfile.gettempdir()) / f"sepadan-bench-http-server-{port}.log"
    cmd = [sys.executable, "-m", "sepadan.cli", "serve", "--home", str(home), "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1", *options]
    log.info("starting %s (log: %s)", " ".join(cmd[3:]), log_path)
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "SEPADAN_API_RATE_LIMIT": "0"}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        ready = api._wait_ready(base, proc, log_path, 900)
        said = re.search(r"docs:\s+/docs;\s+(\w+),\s+(\w+)\)", " ".join(log_path.read_text(errors="replace").split()))
        yield base, {"options": " ".join(options), "ready_s": ready, "runs": ", ".join(said.groups()) if said else None}
    finally:
        api._stop(proc)


def measure(engine, bases: dict[str, str], key: str, queries: list[str], rounds: int, *, route_engine) -> dict:
    """Each query in-process, as the route's work in-process, and over each server one after the
    other (which goes first rotates)."""
    import httpx
    import orjson

    from sepadan.api.routes_matching import shortlist_answer
    from sepadan.matching.output import match_list_json
    from sepadan.store.keys import find_key

    m = engine.matcher
    api_key = find_key(route_engine.store, key)

    def route_work(q: str) -> list[str]:
        body = orjson.dumps(shortlist_answer(route_engine, m, api_key, q, k=30))
        return [r["worker_id"] for r in orjson.loads(body)["results"]] if body else []

    sizes: list[int] = []  # workers in each timed answer (the in-process one)
    received: dict[str, list[float]] = {name: [] for name in bases}  # ms until the body had arrived

    def inproc(q: str) -> list[str]:
        body = match_list_json(m.shortlist(q, k=30), lang="id", describe=engine.describe_worker)
        return [r["worker_id"] for r in body["results"]]

    clients = {name: httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120)
               for name, base in bases.items()}

    def http(name: str):
        client = clients[name]

        def call(q: str, timed: bool) -> list[str]:
            started = time.perf_counter()
            r = client.get(f"/v1/vacancies/{q}/shortlist", params={"k": 30})
            if timed:
                received[name].append((time.perf_counter() - started) * 1000)
            r.raise_for_status()
            return [x["worker_id"] for x in r.json()["results"]]
        return call

    address = bases["HTTP"].removeprefix("http://").rsplit(":", 1)
    plain = http_client.HTTPConnection(address[0], int(address[1]), timeout=120)  # keep-alive too
    received[STDLIB] = []

    def stdlib(q: str, timed: bool) -> list[str]:
        started = time.perf_counter()
        plain.request("GET", f"/v1/vacancies/{q}/shortlist?k=30", headers={"X-API-Key": key})
        r = plain.getresponse()
        body = r.read()
        if timed:
            received[STDLIB].append((time.perf_counter() - started) * 1000)
        if r.status != 200:
            raise RuntimeError(f"{q}: HTTP {r.status}")
        return [x["worker_id"] for x in json.loads(body)["results"]]

    paths = {"in-process": lambda q, timed: inproc(q), ROUTE: lambda q, timed: route_work(q),
             "HTTP": http("HTTP"), STDLIB: stdlib,
             **{name: http(name) for name in bases if name != "HTTP"}}
    times: dict[str, list[float]] = {name: [] for name in paths}
    same = differ = 0
    load_start = os.getloadavg()
    server_before: dict[str, tuple[float, float]] = {}
    names = list(paths)
    for rnd in range(rounds):
        if rnd == 1:
            server_before = {name: _server_seconds(client) for name, client in clients.items()}
        for i, q in enumerate(queries):
            turn = (i + rnd) % len(names)
            got = {}
            for name in names[turn:] + names[:turn]:
                started = time.perf_counter()
                got[name] = paths[name](q, rnd > 0)
                if rnd > 0:
                    times[name].append((time.perf_counter() - started) * 1000)
            if rnd > 0:
                sizes.append(len(got["in-process"]))
            for name in paths:
                same += got["in-process"] == got[name]
                differ += got["in-process"] != got[name]
        log.info("round %d/%d done", rnd + 1, rounds)
    server_after = {name: _server_seconds(client) for name, client in clients.items()}
    for client in clients.values():
        client.close()
    plain.close()
    summary = {name: _stats(ms) for name, ms in times.items()}
    full = np.array(sizes) > 0
    for name, ms in times.items():
        summary[name]["p50_nonempty_ms"] = round(float(np.percentile(np.array(ms)[full], 50)), 2) if full.any() else None
    for name in received:
        summary[name]["received"] = _stats(received[name])
    for name in bases:  # the shipped server's histogram counts both of its clients' requests
        served = server_after[name][1] - server_before[name][1] if server_before else 0
        summary[name]["server_mean_ms"] = (round(1000 * (server_after[name][0] - server_before[name][0]) / served, 2)
                                           if served else None)
    base, work = summary["in-process"]["p50_ms"], summary[ROUTE]["p50_ms"]
    over = [name for name in paths if name != "in-process"]
    http_paths = [name for name in over if name != ROUTE]
    return {"times_ms": times, "received_ms": received, "summary": summary,
            "ratio_p50": round(summary["HTTP"]["p50_ms"] / base, 3),
            "ratios_p50": {name: round(summary[name]["p50_ms"] / base, 3) for name in over},
            "ratios_p50_received": {name: round(summary[name]["received"]["p50_ms"] / base, 3) for name in http_paths},
            "ratios_p50_over_route": {name: round(summary[name]["p50_ms"] / work, 3) for name in http_paths},
            "target": TARGET, "same_answers": same, "different_answers": differ, "load_average_start": load_start,
            "load_average_end": os.getloadavg(), "queries": len(queries), "rounds": rounds,
            "empty_answers": int((~full).sum())}


def _stats(ms: list[float]) -> dict:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "mean_ms": round(float(np.mean(ms)), 2), "n": len(ms)}


def _server_seconds(client) -> tuple[float, float]:
    """(seconds, requests) the server's histogram holds for the shortlist route so far."""
    found = {"sum": 0.0, "count": 0.0}
    for line in client.get("/metrics").text.splitlines():
        for part in found:
            if line.startswith(f"sepadan_http_request_seconds_{part}{{") and SHORTLIST_ROUTE in line \
                    and 'method="GET"' in line:
                found[part] = float(line.rsplit(" ", 1)[1])
    return found["sum"], found["count"]


def route_parts(engine, queries: list[str], repeat: int = 200) -> dict[str, float]:
    """p50 (ms) of the route's own store work, in this process on the same home: the vacancy read
    (answered from memory as nothing was written since, and read from the store as after a write
    elsewhere), the 30 names of a shortlist (from memory; read from the store with their decrypted
    names held, as after a write elsewhere; and none held: each decrypted), its 30 audit lines
    written (key 'bench-http')."""
    from sepadan.store.db import Store
    from sepadan.store.keys import audit
    from sepadan.store.personal import PersonalData

    shortlists = ((q, [m.worker_id for m in engine.matcher.shortlist(q, k=30).results]) for q in queries)
    q, ids = max(shortlists, key=lambda pair: len(pair[1]))  # a full one, as most answers are
    reading = Store(engine.store.engine)  # the same database, nothing answered from memory
    reading.changes.enabled = False
    held, cold = PersonalData(reading, engine.vault), PersonalData(reading, engine.vault, names_max=0)
    parts = {"vacancy (unchanged)": lambda: engine.store.get_unchanged("vacancies", q),
             "vacancy read": lambda: engine.store.get("vacancies", q),
             f"{len(ids)} names (unchanged)": lambda: engine.personal.names_of(ids),
             f"{len(ids)} names read (held)": lambda: held.names_of(ids),
             f"{len(ids)} names read (decrypted)": lambda: cold.names_of(ids),
             f"{len(ids)} audit lines written": lambda: audit(engine.store, "bench-http", "read", "workers", ids,
                                                              "bench_http")}
    out = {}
    for name, call in parts.items():
        call()
        ms = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            ms.append((time.perf_counter() - started) * 1000)
        out[name] = round(float(np.percentile(ms, 50)), 3)
    return out


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def write(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed-http.json").write_text(json.dumps(result, indent=2))
    s = result["summary"]
    servers = result.get("servers", {})
    runs = {name: f" ({info['runs']})" if info.get("runs") else "" for name, info in servers.items()}
    lines = ["# speed: a shortlist over HTTP against in-process", "",
             f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, commit `{result['commit']}`, {result['machine']}, "
             f"Python {result['python']}, {result['workers']:,} workers, load average "
             f"{[round(x, 2) for x in result['load_average_start']]} at the start and "
             f"{[round(x, 2) for x in result['load_average_end']]} at the end (2 cores, shared; the servers and "
             f"this process share them too), niceness {result.get('niceness', 0)}.", "",
             f"{result['queries']} open vacancies, {result['rounds']} passes (the first not timed), each query "
             "in-process and over each server one after the other, which goes first rotating. In-process: "
             "`Matcher.shortlist` (k=30) and `match_list_json` with each worker's region; HTTP: "
             "`GET /v1/vacancies/{id}/shortlist?k=30` on `sepadan serve` (1 worker process, rate limiter and the "
             "planner's background warming off) through one keep-alive httpx client each (as in the runs before) "
             f"and, on the shipped server, also through the standard library's `http.client` ({STDLIB}): key "
             "check, the vacancy read, the names read, audit lines written, JSON sent, received and decoded. "
             + ", ".join(f"{name}: `sepadan serve {info['options']}`{runs[name]}" for name, info in servers.items())
             + f". {ROUTE}: `routes_matching.shortlist_answer`, the call the route makes (the vacancy checked, "
             "`Matcher.shortlist`, the names, the audit lines committed, the JSON body), then `orjson.dumps`, "
             "as the route sends it. Each writer of audit lines other than the shipped server has its own copy "
             "of the home (the route's work a copy of the database file): a commit on another connection to the "
             "shipped server's file makes it read the vacancy and the names again (as after any write), which "
             "is not one server process on its home.", "",
             "| path | requests | p50 (ms) | p99 (ms) | mean (ms) | p50 until the body had arrived (ms) |",
             "|---|---|---|---|---|---|"]
    for name, m in s.items():
        got = m.get("received")
        lines.append(f"| {name} | {m['n']} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['mean_ms']:.2f} | "
                     + (f"{got['p50_ms']:.2f} |" if got else "- |"))
    met = "yes" if result["ratio_p50"] <= result["target"] else "**no**"
    lines += ["", f"HTTP / in-process, p50: **{result['ratio_p50']:.2f}x** (target <= {result['target']}x: {met}); "
              f"{result['ratios_p50_received']['HTTP']:.2f}x until the body had arrived (before the client decodes "
              f"the JSON). Same workers in the same order: {result['same_answers']} of "
              f"{result['same_answers'] + result['different_answers']} answers.", ""]
    if ROUTE in s:
        over = result["ratios_p50_over_route"]
        lines += [f"{ROUTE}: p50 {s[ROUTE]['p50_ms']:.2f} ms, **{result['ratios_p50'][ROUTE]:.2f}x** in-process "
                  "(what the route does beyond `Matcher.shortlist` and its JSON); HTTP / the route's work at "
                  "p50 (what HTTP adds): " + ", ".join(f"{name} {r:.2f}x" for name, r in over.items()) + ".", ""]
    lines += _aims(result)
    if STDLIB in s:
        stdlib_met = "yes" if result["ratios_p50"][STDLIB] <= result["target"] else "**no**"
        lines += [f"{STDLIB} (the same server, a lighter client): **{result['ratios_p50'][STDLIB]:.2f}x** at p50 "
                  f"(target: {stdlib_met}), {result['ratios_p50_received'][STDLIB]:.2f}x until the body had arrived; "
                  f"httpx itself costs {s['HTTP']['p50_ms'] - s[STDLIB]['p50_ms']:+.2f} ms a request at the p50.", ""]
    if PLAIN in s:
        gain = s[PLAIN]["p50_ms"] - s["HTTP"]["p50_ms"]
        lines += [f"{PLAIN} (the path without uvloop and httptools, httpx): {result['ratios_p50'][PLAIN]:.2f}x at "
                  f"p50, {gain:+.2f} ms against the shipped server with httpx (mean "
                  f"{s[PLAIN]['mean_ms'] - s['HTTP']['mean_ms']:+.2f} ms).", ""]
    if s["HTTP"].get("p50_nonempty_ms"):
        lines += [f"{result['empty_answers']} of the {s['HTTP']['n']} timed answers are empty (no eligible worker: "
                  "no names, no audit lines); over the others the p50s are "
                  f"{s['in-process']['p50_nonempty_ms']:.2f} ms in-process and {s['HTTP']['p50_nonempty_ms']:.2f} ms "
                  f"over HTTP, {s['HTTP']['p50_nonempty_ms'] / s['in-process']['p50_nonempty_ms']:.2f}x.", ""]
    for name in servers:
        server = s[name].get("server_mean_ms")
        if server is not None:
            both = " (over its requests from both clients)" if name == "HTTP" and STDLIB in s else ""
            lines += [f"Means over the timed passes, {name}: in-process {s['in-process']['mean_ms']:.2f} ms; "
                      f"{s[name]['mean_ms']:.2f} ms at the client, of which {server:.2f} ms inside the server{both} "
                      "(its request histogram, from the first middleware to the last byte handed to the socket) "
                      f"and {s[name]['mean_ms'] - s[name]['received']['mean_ms']:.2f} ms decoding the JSON; the rest "
                      "is the client, the socket and the wake-ups between the processes.", ""]
    parts = result.get("route_parts_p50_ms") or {}
    if parts:
        lines += ["The route's own store work, p50 in this process on the same home after the passes: "
                  + ", ".join(f"{name} {ms:.2f} ms" for name, ms in parts.items()) + ".", ""]
    lines += ["![latency](speed-http.png)", ""]
    (RESULTS / "speed-http.md").write_text("\n".join(lines))
    chart(result)


def _aims(result: dict) -> list[str]:
    """Where we aim (issue 15 item 3: over HTTP within 1.2x of in-process at the p50)."""
    rows = ["| aim | measured | met |", "|---|---|---|"]
    for name in ("HTTP", STDLIB):
        if name in result["ratios_p50"]:
            r = result["ratios_p50"][name]
            label = "HTTP (httpx), the headline" if name == "HTTP" else name
            rows.append(f"| {label} / in-process p50 <= {result['target']}x | {r:.2f}x | "
                        f"{'yes' if r <= result['target'] else '**no**'} |")
    return ["Where we aim:", "", *rows, ""]


def chart(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, parts) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.5]})
    names = list(result["times_ms"])
    ax.boxplot([result["times_ms"][n] for n in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), [n.replace(", ", ",\n") for n in names], fontsize=8)
    ax.set_ylabel("shortlist latency (ms)")
    ax.set_title(f"HTTP / in-process p50 = {result['ratio_p50']:.2f}x ({result['workers']:,} workers)", fontsize=10)
    ax.set_ylim(bottom=0)
    s = result["summary"]
    bars = {"in-process": [("computed", s["in-process"]["mean_ms"])]}
    if ROUTE in s:
        bars[ROUTE] = [("computed", s[ROUTE]["mean_ms"])]
    for name in names[1:]:
        if name == ROUTE:
            continue
        server = s["HTTP" if name == STDLIB else name].get("server_mean_ms") or 0.0
        got = s[name]["received"]["mean_ms"]
        bars[name] = [("inside the server", server), ("client, socket, wake-ups", got - server),
                      ("JSON decoded by the client", s[name]["mean_ms"] - got)]
    colours = {"computed": "tab:blue", "inside the server": "tab:orange", "client, socket, wake-ups": "tab:gray",
               "JSON decoded by the client": "tab:purple"}
    shown = set()
    for i, (name, stack) in enumerate(bars.items()):
        bottom = 0.0
        for label, ms in stack:
            parts.bar(i, ms, bottom=bottom, color=colours[label], label=None if label in shown else label)
            shown.add(label)
            bottom += ms
    route = result.get("route_parts_p50_ms") or {}
    for j, (label, ms) in enumerate(route.items()):
        parts.bar(len(bars) + j, ms, color="tab:green")
    ticks = [n.replace(", ", ",\n") + "\nmean" for n in bars] + [n.replace(" (", "\n(").replace(" ", "\n", 1)
                                                                  for n in route]
    parts.set_xticks(range(len(ticks)), ticks, fontsize=7)
    parts.set_ylabel("ms")
    parts.set_title("means of the timed passes; the route's store work (p50)", fontsize=9)
    parts.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "speed-http.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1:])
