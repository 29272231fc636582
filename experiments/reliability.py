"""Reliability figures: the crash trials of tests/test_faults.py, many times, and the erasure check.

    python experiments/reliability.py                     # each point 5 times, 5 real kill -9 trials
    python experiments/reliability.py --repeat 1 --kills 1        # a quick run
    python experiments/reliability.py --pg-url URL --pg-data DIR  # also PostgreSQL's files (a local server)

Each trial is a real process killed by SIGKILL at a named fault point (``SEPADAN_FAULT``), or a
real ``kill -9`` of a 20,000-row import while its transaction writes, then the checks of
tests/faultkit.py: SQLite's integrity check, none or all rows, a re-import giving exactly N rows,
an index that loads (old or new version) with ids matching the store and answers equal to a clean
rebuild's, and after an erasure no byte under home naming the worker. Damaged index files
(truncated, garbage, deleted, reordered) are tried once per repeat. The erasure check is
tests/test_erasure.py's scenario: a worker with a NIK, outcomes, audit entries, a cached phrase of
her own and an MLflow store trained on the outcomes, erased, then every file under home read as
bytes, and 1,000 searches. Writes ``RESULTS/reliability.md`` and ``.json``, stamped with the
machine, the date and the commit. The fake encoder is used throughout (no model is loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faultkit as fk  # noqa: E402

from sepadan.evaluation.results import machine  # noqa: E402

COMMAND = "HF_HUB_OFFLINE=1 .venv/bin/python experiments/reliability.py"


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    trials = [*_repeat("import", fk.import_trial, fk.IMPORT_POINTS, args.repeat),
              *_repeat("index write", fk.index_trial, fk.INDEX_POINTS, args.repeat),
              *_repeat("erasure", fk.erase_trial, fk.ERASE_POINTS, args.repeat),
              *_repeat("damaged index at start", fk.damage_trial, sorted(fk.DAMAGE), args.repeat),
              *[_trial("real kill -9 mid-write", "import of 20,000 workers", lambda root, _: fk.kill_trial(root), i)
                for i in range(args.kills)]]
    erasure = erasure_check()
    pg = pg_probe(args.pg_url, Path(args.pg_data)) if args.pg_url and args.pg_data else None
    result = {"stamp": machine(), "command": COMMAND + _flags(args), "seconds": round(time.perf_counter() - started, 1),
              "trials": trials, "erasure": erasure, "postgres": pg}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "reliability.json").write_text(json.dumps(result, indent=2, default=str))
    (args.results / "reliability.md").write_text(markdown(result))
    sys.stdout.write(markdown(result))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="trials per fault point (and per damage)")
    p.add_argument("--kills", type=int, default=5, help="real kill -9 trials of a 20,000-row import")
    p.add_argument("--results", type=Path, default=ROOT / "experiments" / "results")
    p.add_argument("--pg-url", help="a PostgreSQL server (SQLAlchemy URL to its postgres database)")
    p.add_argument("--pg-data", help="that server's data directory, readable here (to read the table files)")
    return p


def _flags(args: argparse.Namespace) -> str:
    flags = "" if args.repeat == 5 else f" --repeat {args.repeat}"
    flags += "" if args.kills == 5 else f" --kills {args.kills}"
    return flags + (" --pg-url URL --pg-data DIR" if args.pg_url else "")


def _repeat(group: str, fn: Callable[[Path, str], dict[str, Any]], points: Any, n: int) -> list[dict[str, Any]]:
    return [_trial(group, point, fn, i) for point in points for i in range(n)]


def _trial(group: str, point: str, fn: Callable[[Path, str], dict[str, Any]], i: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sepadan-reliability-") as tmp:
        started = time.perf_counter()
        out = fn(Path(tmp), point)
    return {"group": group, "point": point, "trial": i, "seconds": round(time.perf_counter() - started, 2), **out}


def erasure_check(searches: int = 1000) -> dict[str, Any]:
    """tests/test_erasure.py's scenario: occurrences of her under home before and after, and how
    many of ``searches`` searches returned her."""
    import test_erasure as te

    from sepadan.errors import NotFound

    with tempfile.TemporaryDirectory(prefix="sepadan-erasure-") as tmp:
        root = Path(tmp)
        data = {**te.MARKET, "workers": [*te.MARKET["workers"], te.HER],
                "outcomes": [*te.MARKET["outcomes"], *te.HER_OUTCOMES]}
        engine = fk.load_engine(root, data, encoder=fk.FakeEncoder(), ranker_refresh_seconds=0)
        engine.build()
        te.use_her(engine)
        needles = te.needles(engine, te.ID, te.NIK, te.NAME, te.PHRASE)
        before = fk.occurrences(engine.settings.home, needles)
        engine.live.delete("workers", te.ID, by="reliability", route="experiment")
        after = fk.occurrences(engine.settings.home, needles)
        files = sorted(str(p.relative_to(engine.settings.home)) for p in engine.settings.home.rglob("*") if p.is_file())
        m, returned = engine.matcher, 0
        vacancies = [v.id for v in m.vacancies.records]
        for i in range(searches):
            if i % 2:
                try:
                    m.recommend(te.ID)
                    returned += 1
                except NotFound:
                    pass
            else:
                ids = {r.worker_id for r in m.shortlist(vacancies[i % len(vacancies)], k=100, include_ineligible=True).results}
                returned += te.ID in ids
    return {"needles": sorted(needles), "before": {k: sum(_n(x) for x in v) for k, v in before.items()},
            "after": {k: sum(_n(x) for x in v) for k, v in after.items()}, "files_read": files,
            "searches": searches, "searches_returning_her": returned}


def _n(entry: str) -> int:
    return int(entry.rsplit(" x", 1)[1])


def pg_probe(url: str, data_dir: Path) -> dict[str, Any]:
    """Occurrences of an erased worker's id in PostgreSQL's table files: after the DELETE, after a
    plain VACUUM, after VACUUM (FULL) (``Store.vacuum``). Needs the server's data folder."""
    import uuid

    import test_erasure as te
    from sqlalchemy import create_engine, text

    name = f"sepadan_reliability_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store, vault = te._stored_her(f"{url.rsplit('/', 1)[0]}/{name}", Path(tmp))
            counts = {"stored": _pg_counts(store, data_dir, te.ID)}
            store.erase_worker(te.ID, pseudonym=vault.pseudonym(te.ID), phrases=[te.PHRASE])
            counts["after DELETE (one transaction)"] = _pg_counts(store, data_dir, te.ID)
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM workers, outcomes, phrase_vectors, audit_log")
            counts["after plain VACUUM"] = _pg_counts(store, data_dir, te.ID)
            store.vacuum()
            counts["after VACUUM (FULL) (sepadan erase --vacuum)"] = _pg_counts(store, data_dir, te.ID)
            with store.engine.connect() as conn:
                version = conn.exec_driver_sql("SHOW server_version").scalar_one()
            store.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {"server_version": version, "counts": counts}


def _pg_counts(store: Any, data_dir: Path, needle: str) -> dict[str, int]:
    """The needle's occurrences in each table's heap file and its indexes' files (after a CHECKPOINT)."""
    out: dict[str, int] = {}
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CHECKPOINT")
        for table in ("workers", "outcomes", "phrase_vectors", "audit_log"):
            rels = conn.exec_driver_sql(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid = %(t)s::regclass OR c.oid IN "
                "(SELECT indexrelid FROM pg_index WHERE indrelid = %(t)s::regclass)", {"t": table}).scalars()
            out[table] = sum(_count_in(data_dir / rel, needle) for rel in rels)
    return out


def _count_in(path: Path, needle: str) -> int:
    """In the relation's file and its 1 GB segments (``path``, ``path.1``, ...)."""
    files = [path, *sorted(path.parent.glob(path.name + ".[0-9]*"))]
    return sum(f.read_bytes().count(needle.encode()) for f in files if f.exists())


def markdown(result: dict[str, Any]) -> str:
    s, trials = result["stamp"], result["trials"]
    survived = sum(t["ok"] for t in trials)
    lines = [
        "# Reliability: crashes at every write, damaged indexes, erasure", "",
        f"{s['date']}, commit `{(s.get('git_commit') or 'unknown')[:12]}`"
        f"{' (with uncommitted changes)' if s.get('git_dirty') else ''}, {s['cpu']}, {s['cores']} cores, "
        f"{s['memory_gb']} GB, load {s['load_average']}; {result['seconds']} s in all.", "",
        f"Rerun: `{result['command']}` (see the script's docstring; the same trials run once each in "
        "`tests/test_faults.py`).", "",
        f"**{len(trials)} trials, {survived} survived** (every check held); "
        f"{sum(t['killed'] for t in trials if 'killed' in t)} processes killed by SIGKILL; "
        f"rows lost: {sum(t.get('rows_lost', 0) for t in trials)}; "
        f"integrity_check not ok: {sum(1 for t in trials if t.get('integrity', 'ok') != 'ok')}.", "",
        "| group | fault point or damage | trials | killed | survived | rows after the kill | rows lost "
        "after re-import | integrity_check | index live after the kill |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (group, point), rows in _grouped(trials).items():
        lines.append("| " + " | ".join([
            group, f"`{point}`", str(len(rows)),
            _share(rows, "killed"), f"{sum(r['ok'] for r in rows)}/{len(rows)}",
            _values(rows, "rows_after_kill"), _values(rows, "rows_lost"),
            "ok" if all(r.get("integrity", "ok") == "ok" for r in rows) else "NOT OK",
            _values(rows, "live_version") if "live_version" in rows[0] else
            ("rebuilt at start" if rows[0].get("rebuilt") else "-")]) + " |")
    lines += ["", *_erasure_lines(result["erasure"]), *(_pg_lines(result["postgres"]) if result["postgres"] else []),
              "", "Every check: `tests/faultkit.py`; the raw facts of each trial: `reliability.json`.", ""]
    return "\n".join(lines)


def _grouped(trials: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for t in trials:
        out.setdefault((t["group"], t["point"]), []).append(t)
    return out


def _share(rows: list[dict[str, Any]], key: str) -> str:
    return f"{sum(bool(r.get(key)) for r in rows)}/{len(rows)}" if key in rows[0] else "-"


def _values(rows: list[dict[str, Any]], key: str) -> str:
    seen = sorted({str(r[key]) for r in rows if key in r})
    return ", ".join(seen) if seen else "-"


def _erasure_lines(e: dict[str, Any]) -> list[str]:
    return [
        "## Erasure", "",
        f"Needles: {', '.join(e['needles'])} of one worker (id, NIK digits, NIK HMAC, sealed token, name, "
        f"her own phrase). Files read as bytes: {', '.join(e['files_read'])}.", "",
        "| | occurrences |", "|---|---|",
        f"| before the erasure | {sum(e['before'].values())} ({', '.join(f'{k} {v}' for k, v in sorted(e['before'].items()))}) |",
        f"| after the erasure | **{sum(e['after'].values())}** |",
        f"| searches returning her, of {e['searches']} (shortlists, recommendations) | **{e['searches_returning_her']}** |",
    ]


def _pg_lines(pg: dict[str, Any]) -> list[str]:
    lines = ["", f"## PostgreSQL {pg['server_version']}: the erased id in the table and index files", "",
             "| after | workers | outcomes | phrase_vectors | audit_log |", "|---|---|---|---|---|"]
    for step, counts in pg["counts"].items():
        lines.append(f"| {step} | " + " | ".join(str(counts[t]) for t in
                                                  ("workers", "outcomes", "phrase_vectors", "audit_log")) + " |")
    return [*lines, "", "Dead tuples keep the bytes until the table is rewritten; WAL segments, replicas and backups "
                        "are not counted here (README, Personal data)."]


if __name__ == "__main__":
    main()
