"""Crash trials shared by tests/test_faults.py and experiments/reliability.py.

Each trial starts a real process with one fault point armed (``SEPADAN_FAULT``): the CLI
(``python -m sepadan.cli``) for imports, ``tests/fault_child.py`` (the engine with the fake encoder,
no model) for index writes and erasures. The process dies by SIGKILL at the point; the trial then
checks what a crash must never break and returns the facts as a dict (``ok`` says all held):
SQLite's integrity check, all or none of the rows, a re-import giving exactly N rows, an index that
loads (old or new) with ids matching the store, results equal to a clean rebuild's, and after an
erasure no byte of the data folder naming the worker.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import TODAY, FakeEncoder, load_engine, make_settings, write_jsonl

from sepadan.engine import Engine
from sepadan.errors import IndexError_
from sepadan.matching.persist import load_index

CHILD = Path(__file__).with_name("fault_child.py")
FAKE = FakeEncoder().name
IMPORT_POINTS = ("store.upsert.mid_commit", "store.upsert.before_commit", "import.after_commit")
INDEX_POINTS = ("index.vectors.tmp_written", "index.vectors.renamed", "index.ids.tmp_written",
                "index.ids.renamed", "index.faiss.tmp_written", "index.faiss.renamed",
                "index.manifest.tmp_written", "index.manifest.renamed", "index.current.tmp_written",
                "index.current.renamed")
ERASE_POINTS = ("erase.mid_commit", "erase.after_commit")
ANN_MAX = 5  # exact index up to 5 rows: the worker side (12 then 18 rows) is HNSW, with a FAISS file
ERASED, ERASED_NIK = "W-FAULT-ERASE-8M", "3578014101900777"
READY = {"passport": True, "medical": True, "police_clearance": True, "bpjs": True, "family_consent": True}


# -- data ------------------------------------------------------------------------------------------

def worker(i: int, *, prefix: str = "W", **extra: Any) -> dict[str, Any]:
    skills = (["merawat lansia", "memasak"], ["menjahit"], ["elderly care", "memasak", "menjahit"])[i % 3]
    return {"id": f"{prefix}-{i:06d}", "nik": f"35080141019{i % 100000:05d}", "name": f"Pekerja {i}",
            "gender": "FM"[i % 2], "birth_date": "1995-01-01", "region": ("35.08", "35.09", "53.01")[i % 3],
            "education": "SMA", "skills": skills, "documents": READY, "available": True} | extra


VACANCIES = [
    {"id": "V-CARE", "title": "Caregiver", "country": "ID", "region": "35.08", "scheme": "domestic",
     "skills_required": ["elderly care"], "skills_preferred": ["memasak"], "open": True, "deadline": "2027-03-31"},
    {"id": "V-SEW", "title": "Penjahit garmen", "country": "ID", "region": "35.08", "scheme": "domestic",
     "skills_required": ["menjahit"], "open": True, "deadline": "2027-03-31"},
]


def market(n: int = 12) -> dict[str, list[dict[str, Any]]]:
    return {"vacancies": VACANCIES, "workers": [worker(i) for i in range(n)]}


def erasure_market() -> dict[str, list[dict[str, Any]]]:
    her = worker(99, prefix="X") | {"id": ERASED, "nik": ERASED_NIK, "skills": ["menjahit", "sulam benang qzk"]}
    outcomes = [{"worker_id": w, "vacancy_id": v, "stage": s} for w, v, s in (
        (ERASED, "V-SEW", "hired"), (ERASED, "V-CARE", "rejected"), ("W-000001", "V-SEW", "interviewed"))]
    return {**market(), "workers": [*market()["workers"], her], "outcomes": outcomes}


# -- processes -------------------------------------------------------------------------------------

def env(fault: str | None) -> dict[str, str]:
    """The environment of a crash-test process: no SEPADAN_* setting from outside, the point armed."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("SEPADAN_", "MLFLOW_"))}
    out["HF_HUB_OFFLINE"] = "1"
    if fault:
        out["SEPADAN_FAULT"] = fault
    return out


def cli(home: Path, *args: str, fault: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sepadan.cli", *args, "--home", str(home)], env=env(fault),
                          capture_output=True, text=True, timeout=timeout)


def child(home: Path, action: str, *args: str, fault: str | None = None, exact_max: int = ANN_MAX,
          timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHILD), str(home), str(exact_max), action, *args],
                          env=env(fault), capture_output=True, text=True, timeout=timeout)


def killed(proc: subprocess.CompletedProcess | subprocess.Popen) -> bool:
    return proc.returncode == -signal.SIGKILL


# -- what must hold --------------------------------------------------------------------------------

def integrity(home: Path) -> str:
    """SQLite's own check of the file (and its WAL), read by a plain connection."""
    with sqlite3.connect(home / "sepadan.db") as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def rows(home: Path, table: str) -> tuple[int, int]:
    """(rows, distinct ids) of a table."""
    with sqlite3.connect(home / "sepadan.db") as conn:
        return conn.execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchone()  # noqa: S608


def orphans(home: Path) -> int:
    """Outcomes whose worker is not stored (what a crash between two deletes used to leave)."""
    with sqlite3.connect(home / "sepadan.db") as conn:
        return conn.execute("SELECT count(*) FROM outcomes WHERE worker_id NOT IN (SELECT id FROM workers)"
                            ).fetchone()[0]


def occurrences(home: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    """needle name -> 'file xN' for every file under home (read as bytes) that holds it."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for name, needle in needles.items():
            if (n := data.count(needle)):
                found.setdefault(name, []).append(f"{path.relative_to(home)} x{n}")
    return found


def engine_at(home: Path, exact_max: int = ANN_MAX) -> Engine:
    return Engine(make_settings(home, index_exact_max=exact_max), encoder=FakeEncoder(), today=TODAY)


def index_ids(home: Path, side: str = "workers") -> list[str] | str:
    """The ids of the live index version on disk, or the reason it does not load."""
    try:
        return load_index(home / "index" / side, model=FAKE)[1]
    except IndexError_ as exc:
        return f"does not load: {exc}"


def answers(engine: Engine) -> list[Any]:
    """Every shortlist (eligible and all) and a few recommendations: what a wrong index would change."""
    m = engine.matcher
    out: list[Any] = []
    for v in m.vacancies.records:
        for ineligible in (False, True):
            out.append([(r.worker_id, round(r.score, 6)) for r in
                        m.shortlist(v.id, k=50, include_ineligible=ineligible).results])
    for w in m.workers.records[:4]:
        out.append([(r.vacancy_id, round(r.score, 6)) for r in m.recommend(w.id, include_ineligible=True).results])
    return out


def clean_answers(root: Path, data: dict[str, list[dict[str, Any]]], exact_max: int = ANN_MAX) -> list[Any]:
    """The answers of a clean build of ``data`` in a fresh home (the reference)."""
    engine = load_engine(root / "ref", data, encoder=FakeEncoder(), index_exact_max=exact_max)
    engine.build()
    return answers(engine)


def versions(home: Path, side: str = "workers") -> list[str]:
    return sorted(p.name for p in (home / "index" / side).glob("v*") if p.is_dir())


# -- trials ----------------------------------------------------------------------------------------

def import_trial(root: Path, point: str, *, n: int = 1200) -> dict[str, Any]:
    """Import n workers with ``point`` armed, then check and re-import (the CLI, no model)."""
    home, file = root / "home", write_jsonl(root / "in" / "workers.jsonl", [worker(i) for i in range(n)])
    index = [] if point == "import.after_commit" else ["--no-index"]  # the kill comes before the index
    proc = cli(home, "import", "workers", str(file), *index, fault=point)
    after_kill = rows(home, "workers")[0]
    out = {"point": point, "killed": killed(proc), "integrity": integrity(home), "rows_after_kill": after_kill,
           "expected_after_kill": n if point == "import.after_commit" else 0}
    again = cli(home, "import", "workers", str(file), "--no-index")
    out |= {"reimport_rc": again.returncode, "rows_after_reimport": rows(home, "workers"),
            "integrity_after": integrity(home)}
    out["rows_lost"] = n - out["rows_after_reimport"][1]
    if point == "import.after_commit":  # committed, the index never updated: the next start builds it
        engine = engine_at(home, exact_max=50_000)
        out["index_matches_store"] = [w.id for w in engine.matcher.workers.records] == sorted(engine.store.ids("workers"))
    out["ok"] = (out["killed"] and out["integrity"] == out["integrity_after"] == "ok"
                 and after_kill == out["expected_after_kill"] and again.returncode == 0
                 and out["rows_after_reimport"] == (n, n) and out.get("index_matches_store", True))
    return out


def index_trial(root: Path, point: str) -> dict[str, Any]:
    """An index write killed at ``point``: the old or the new version loads, and the next start
    serves what a clean rebuild serves."""
    first, full = market(12), market(18)
    engine = load_engine(root, first, encoder=FakeEncoder(), index_exact_max=ANN_MAX)
    engine.build()
    home = engine.settings.home
    old = index_ids(home)
    engine.import_file("workers", write_jsonl(root / "in" / "more.jsonl", full["workers"][12:]))
    new = sorted(engine.store.ids("workers"))
    proc = child(home, "build", fault=point)
    on_disk = index_ids(home)
    recovered = engine_at(home)
    out = {"point": point, "killed": killed(proc), "loads": on_disk in (old, new),
           "live_version": "new" if on_disk == new else "old" if on_disk == old else str(on_disk)[:80],
           "integrity": integrity(home)}
    out["ids_match_store"] = [w.id for w in recovered.matcher.workers.records] == new == index_ids(home)
    out["answers_equal_clean"] = answers(recovered) == clean_answers(root, full)
    out["versions_left"] = len(versions(home))
    out["ok"] = (out["killed"] and out["loads"] and out["ids_match_store"] and out["answers_equal_clean"]
                 and out["versions_left"] == 1 and out["integrity"] == "ok")
    return out


def erase_trial(root: Path, point: str) -> dict[str, Any]:
    """An erasure killed at ``point``: all or nothing in the store, no orphaned outcome, and once
    the next start has run no byte of the data folder names the worker."""
    engine = load_engine(root, erasure_market(), encoder=FakeEncoder(), index_exact_max=50_000)
    engine.build()
    home = engine.settings.home
    needles = {"id": ERASED.encode(), "nik_hmac": engine.vault.nik_hmac(ERASED_NIK).encode(),
               "phrase": b"sulam benang qzk"}
    assert occurrences(home, needles), "precondition: the worker is on disk"
    proc = child(home, "erase", ERASED, fault=point, exact_max=50_000)
    stored, outcomes = _worker_and_outcomes(home)
    out = {"point": point, "killed": killed(proc), "integrity": integrity(home), "orphans": orphans(home),
           "worker_stored": stored, "her_outcomes": outcomes}
    committed = point != "erase.mid_commit"
    out["all_or_nothing"] = (stored, outcomes) == ((False, 0) if committed else (True, 2))
    out["found_before_restart"] = occurrences(home, needles)  # committed: still in the old index files
    start = engine_at(home, exact_max=50_000)
    start.build()  # the next start: a stale index is rebuilt, the WAL truncated
    if not committed:
        start.live.erase(ERASED)
    out["found_after_restart"] = occurrences(home, needles)
    out["ok"] = (out["killed"] and out["integrity"] == "ok" and out["orphans"] == 0 and out["all_or_nothing"]
                 and out["found_after_restart"] == {})
    return out


def kill_trial(root: Path, *, n: int = 20_000, wal_bytes: int = 1 << 20, timeout: float = 120) -> dict[str, Any]:
    """A real ``kill -9`` of an import of n workers while it writes: after its progress line, once
    its transaction has put ``wal_bytes`` in the WAL."""
    home, file = root / "home", write_jsonl(root / "in" / "big.jsonl", [worker(i) for i in range(n)])
    wal = home / "sepadan.db-wal"
    proc = subprocess.Popen([sys.executable, "-m", "sepadan.cli", "import", "workers", str(file), "--no-index",
                             "--home", str(home)], env=env(None), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    progress = proc.stderr.readline().strip()  # "import workers: n/n": validated, writing next
    deadline, size = time.monotonic() + timeout, 0
    while proc.poll() is None and time.monotonic() < deadline:
        size = wal.stat().st_size if wal.exists() else 0
        if size >= wal_bytes:
            break
        time.sleep(0.002)
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)  # kill -9
    proc.wait(timeout)
    after_kill = rows(home, "workers")[0]
    out = {"progress_line": progress, "alive_at_kill": alive, "wal_bytes_at_kill": size, "killed": killed(proc),
           "integrity": integrity(home), "rows_after_kill": after_kill}
    again = cli(home, "import", "workers", str(file), "--no-index")
    out |= {"reimport_rc": again.returncode, "rows_after_reimport": rows(home, "workers"),
            "integrity_after": integrity(home)}
    out["rows_lost"] = n - out["rows_after_reimport"][1]
    out["ok"] = (alive and out["killed"] and out["integrity"] == out["integrity_after"] == "ok"
                 and after_kill in (0, n) and out["rows_after_reimport"] == (n, n))
    return out


def _worker_and_outcomes(home: Path) -> tuple[bool, int]:
    with sqlite3.connect(home / "sepadan.db") as conn:
        stored = conn.execute("SELECT count(*) FROM workers WHERE id = ?", (ERASED,)).fetchone()[0] == 1
        outcomes = conn.execute("SELECT count(*) FROM outcomes WHERE worker_id = ?", (ERASED,)).fetchone()[0]
    return stored, outcomes


# -- damaged index files ---------------------------------------------------------------------------

def _live(home: Path, side: str = "workers") -> Path:
    directory = home / "index" / side
    return directory / (directory / "CURRENT").read_text().strip()


def _rewrite_manifest_digest(version: Path, name: str) -> None:
    import hashlib

    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((version / name).read_bytes()).hexdigest()
    (version / "manifest.json").write_text(json.dumps(manifest))


def _reverse_ids(home: Path) -> None:
    """A consistent-looking version (digest updated) whose ids are in the wrong order."""
    version = _live(home)
    ids = json.loads((version / "ids.json").read_text())
    (version / "ids.json").write_text(json.dumps(ids[::-1]))
    _rewrite_manifest_digest(version, "ids.json")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


DAMAGE = {
    "vectors.npy truncated": lambda h: _truncate(_live(h) / "vectors.npy"),
    "vectors.npy garbage": lambda h: (_live(h) / "vectors.npy").write_bytes(os.urandom(4096)),
    "vectors.npy empty": lambda h: (_live(h) / "vectors.npy").write_bytes(b""),
    "ids.json garbage": lambda h: (_live(h) / "ids.json").write_bytes(b"\x00{not json"),
    "ids.json reordered, digest updated": _reverse_ids,
    "index.faiss truncated": lambda h: _truncate(_live(h) / "index.faiss"),
    "index.faiss deleted": lambda h: (_live(h) / "index.faiss").unlink(),
    "manifest.json garbage": lambda h: (_live(h) / "manifest.json").write_bytes(b"\xff\xfe garbage"),
    "manifest.json deleted": lambda h: (_live(h) / "manifest.json").unlink(),
    "CURRENT names nothing": lambda h: (h / "index" / "workers" / "CURRENT").write_text("v123"),
    "CURRENT empty": lambda h: (h / "index" / "workers" / "CURRENT").write_text(""),
}


def damage_trial(root: Path, how: str) -> dict[str, Any]:
    """A damaged worker index at start: detected, rebuilt, and the answers equal a clean rebuild's."""
    data = market(12)
    engine = load_engine(root, data, encoder=FakeEncoder(), index_exact_max=ANN_MAX)
    engine.build()
    home = engine.settings.home
    DAMAGE[how](home)
    started = engine_at(home)
    got = answers(started)
    status = started.index_status["workers"]
    out = {"damage": how, "rebuilt": status.rebuilt, "reason": status.reason,
           "answers_equal_clean": got == clean_answers(root, data), "empty": not any(got),
           "ids_match_store": index_ids(home) == sorted(started.store.ids("workers"))}
    out["ok"] = out["rebuilt"] and out["answers_equal_clean"] and not out["empty"] and out["ids_match_store"]
    return out
