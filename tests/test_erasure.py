"""Erasure is real (UU PDP 27/2022): after a worker is erased, no byte of the data folder names them.

A tiny market known by construction (the tailoring market of test_models plus one distinctive
worker with a NIK, a name, a phrase only she wrote and outcomes), a real SQLite file store whose
phrase cache is the store's table, indexes on disk, an audit log and an MLflow store trained on the
outcomes. After the erasure every file under home is read as bytes: the id, the NIK digits, the
NIK's HMAC, the sealed token, the name and her own phrase occur nowhere; 1,000 searches never
return her; the audit log keeps what was done under a keyed pseudonym.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from api_fixtures import make_api, market
from conftest import FakeEncoder, load_engine, make_settings, write_jsonl
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_models import CONFIG, MARKET
from test_postgres import pg_url  # noqa: F401 (a fixture: a fresh database on the configured server)

from sepadan.allocate import Request, allocate
from sepadan.allocation_store import store_allocation
from sepadan.contract import OutcomeIn
from sepadan.engine import Engine
from sepadan.errors import NotFound
from sepadan.ingest.importer import import_file
from sepadan.store.db import Store
from sepadan.store.keys import audit, audit_trail
from sepadan.store.pii import Vault, load_secret
from sepadan.store.schema import audit_log

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")

ID, NIK, NAME = "W-ERASE-7Q3Z", "3578094607990123", "Ratna Kembang Sari"
PHRASE = "merangkai bunga anggrek qzxv"  # a skill only she wrote
HER = {"id": ID, "nik": NIK, "name": NAME, "gender": "F", "birth_date": "1994-02-03", "region": "35.78",
       "education": "SMA", "available": True, "skills": ["menjahit", PHRASE],
       "experience": [{"occupation": "penjahit", "years": 6}]}
HER_OUTCOMES = [{"worker_id": ID, "vacancy_id": f"V-{j:02d}", "stage": s, "date": "2026-03-10"}
                for j, s in ((0, "hired"), (1, "rejected"), (2, "shortlisted"))]


def occurrences(home: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    """needle name -> 'file xN' for every file under home (as bytes) that holds it."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for name, needle in needles.items():
            if (n := data.count(needle)):
                found.setdefault(name, []).append(f"{path.relative_to(home)} x{n}")
    return found


def needles(engine: Engine, worker_id: str, nik: str, name: str, phrase: str) -> dict[str, bytes]:
    raw = engine.store.raw("workers", worker_id)
    assert raw is not None and raw["pii_enc"]
    return {"id": worker_id.encode(), "nik": nik.encode(), "nik_hmac": engine.vault.nik_hmac(nik).encode(),
            "sealed": raw["pii_enc"].encode(), "name": name.encode(), "phrase": phrase.encode()}


@pytest.fixture
def engine(tmp_path, monkeypatch) -> Engine:
    for name in ("MLFLOW_TRACKING_URI", "SEPADAN_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    data = {**MARKET, "workers": [*MARKET["workers"], HER], "outcomes": [*MARKET["outcomes"], *HER_OUTCOMES]}
    e = load_engine(tmp_path, data, encoder=FakeEncoder(), ranker_refresh_seconds=0)  # cache in the store
    e.build()
    return e


def train_ranker(engine: Engine) -> None:
    """``sepadan train``'s work: a ranker from every stored outcome, logged to MLflow in home."""
    from sepadan.ingest.importer import load_records
    from sepadan.matching.scorer import TransparentScorer
    from sepadan.models.registry import Registry
    from sepadan.models.training import train_and_register

    transparent = TransparentScorer(engine.taxonomy, similarity=engine._similarity)
    train_and_register(engine.matcher, load_records(engine.store, "outcomes"),
                       Registry.for_home(engine.settings.home), transparent, CONFIG)


def use_her(engine: Engine) -> None:
    """What serving does with a worker: an outcome written live, reads audited, searches, training."""
    engine.live.write("outcomes", [OutcomeIn(worker_id=ID, vacancy_id="V-03", stage="interviewed")])
    audit(engine.store, "k-officer", "read", "workers", [ID, "W-000"], "shortlist")
    audit(engine.store, "k-officer", "update", "outcomes", [f"{ID}|V-03|interviewed"], "create_outcome")
    assert ID in {m.worker_id for m in engine.matcher.shortlist("V-00", k=60).results}
    assert engine.matcher.recommend(ID).results
    allocation = store_allocation(engine, allocate(engine, Request(candidates_per_position=3, k=60)))
    assert ID in {p.worker_id for p in allocation.proposals}  # so the erasure has an allocation to clean
    train_ranker(engine)


def test_after_an_erasure_no_file_under_home_names_the_worker(engine):
    home = engine.settings.home
    use_her(engine)
    wanted = needles(engine, ID, NIK, NAME, PHRASE)
    before = occurrences(home, wanted)
    assert {"id", "nik_hmac", "sealed", "phrase"} <= set(before), before  # the check can fail
    assert "nik" not in before and "name" not in before, "a NIK or name in clear, even before erasure"
    assert any(f.startswith(("mlflow.db", "mlartifacts")) for f in _files(home)), "MLflow store present"

    assert engine.live.delete("workers", ID, by="k-admin", route="delete_worker")

    assert occurrences(home, wanted) == {}
    assert (home / "sepadan.db-wal").stat().st_size == 0  # checkpointed and truncated
    assert engine.store.count("outcomes") == len(MARKET["outcomes"]) and engine.store.get("workers", ID) is None


def test_the_audit_log_keeps_what_was_done_under_a_keyed_pseudonym(engine):
    use_her(engine)
    engine.live.delete("workers", ID, by="k-admin", route="delete_worker")
    alias = engine.vault.pseudonym(ID)
    trail = audit_trail(engine.store, "workers", alias)
    assert [(e.key_id, e.action, e.route) for e in trail] == [
        ("k-officer", "read", "shortlist"), ("k-admin", "delete", "delete_worker")]
    assert audit_trail(engine.store, "workers", ID) == []
    assert [e.key_id for e in audit_trail(engine.store, "workers", "W-000")] == ["k-officer"]  # others kept
    with engine.store.engine.connect() as conn:
        outcome_ids = set(conn.execute(select(audit_log.c.record_id).where(audit_log.c.kind == "outcomes")).scalars())
    assert outcome_ids == {f"{alias}|V-03|interviewed"}
    assert alias != Vault(b"another key").pseudonym(ID)  # keyed: no one without the key can compute it


def test_a_thousand_searches_never_return_an_erased_worker(engine):
    engine.live.delete("workers", ID)
    fresh = Engine(make_settings(engine.settings.home), encoder=FakeEncoder(), today=engine.today)
    vacancies = [v.id for v in engine.matcher.vacancies.records]
    others = [w.id for w in engine.matcher.workers.records][:10]
    searches = 0
    for i in range(1000):
        m = (engine.matcher, fresh.matcher)[i % 2]
        if i % 4 < 2:
            found = m.shortlist(vacancies[i % len(vacancies)], k=100, include_ineligible=i % 8 < 4).results
            assert found and ID not in {r.worker_id for r in found}
        elif i % 4 == 2:
            assert m.recommend(others[i % len(others)], scope="all", include_ineligible=True).results
            with pytest.raises(NotFound):
                m.recommend(ID)
        else:
            with pytest.raises(NotFound):
                m.explain(ID, vacancies[i % len(vacancies)])
        searches += 1
    assert searches == 1000 and ID not in fresh.store.ids("workers")


def test_erasing_twice_or_an_unknown_worker_changes_nothing(engine):
    counts = (engine.store.count("workers"), engine.store.count("outcomes"))
    assert not engine.live.delete("workers", "W-NOBODY")
    assert (engine.store.count("workers"), engine.store.count("outcomes")) == counts
    assert engine.live.delete("workers", ID) and not engine.live.delete("workers", ID)


# -- through the HTTP API, on an ANN-sized pool whose rebuild is held back --------------------------

API_ID, API_NIK = "W-ERASE-API-5K", "3508014101960001"


def test_through_the_api_an_erased_worker_is_never_served_and_leaves_the_disk(tmp_path):
    data = market()
    data["workers"][0]["id"] = API_ID  # W1 of the API market: a NIK, a name, a phrase of her own
    for o in data["outcomes"]:
        o["worker_id"] = API_ID if o["worker_id"] == "W1" else o["worker_id"]
    api = make_api(tmp_path, FakeEncoder(), data=data, index_exact_max=2)  # ANN (ivf_sq8): rebuilt in the background
    engine, admin = api.engine, api.headers("admin")
    home = engine.settings.home
    worker = data["workers"][0]
    release, held = threading.Event(), threading.Event()
    build = engine.build

    def held_build(**kw):
        held.set()
        assert release.wait(60)
        return build(**kw)

    with TestClient(api.app) as client:
        assert engine.matcher.workers.index.kind == "ivf_sq8"  # the ANN kind above index_exact_max
        r = client.get("/v1/vacancies/V1/shortlist", headers=admin)
        assert API_ID in {x["worker_id"] for x in r.json()["results"]}
        wanted = needles(engine, API_ID, API_NIK, worker["name"], "ngurus kebun zaitun xyz")
        engine.build = held_build
        assert client.delete(f"/v1/workers/{API_ID}", headers=admin).status_code == 204
        assert held.wait(30), "the background rebuild started"
        for i in range(300):  # the old matcher still holds her row: answers must not
            v = ("V1", "V2", "VD")[i % 3]
            r = client.get(f"/v1/vacancies/{v}/shortlist", params={"include_ineligible": True, "k": 200},
                           headers=admin)
            assert r.status_code == 200 and API_ID not in r.text and worker["name"] not in r.text
        for url in (f"/v1/workers/{API_ID}", f"/v1/workers/{API_ID}/recommendations",
                    f"/v1/workers/{API_ID}/explain/V1", f"/v1/workers/{API_ID}/export"):
            assert client.get(url, headers=admin).status_code == 404, url
        assert occurrences(home, {"id": wanted["id"]}), "held back: the old index file still names her"
        release.set()
        engine.live.wait(60)
        assert API_ID not in engine.matcher.workers.positions
    assert occurrences(home, wanted) == {}
    trail = audit_trail(engine.store, "workers", engine.vault.pseudonym(API_ID))
    assert [e.action for e in trail][-1] == "delete" and {e.action for e in trail} == {"read", "delete"}


def _files(home: Path) -> list[str]:
    return [str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()]


# -- the store's erasure on SQLite and on PostgreSQL ----------------------------------------------

PG_URL = os.environ.get("SEPADAN_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="set SEPADAN_TEST_DATABASE_URL to a PostgreSQL URL"))])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sepadan.db'}"
        return
    yield request.getfixturevalue("pg_url")


def _stored_her(url: str, tmp_path: Path) -> tuple[Store, Vault]:
    store, vault = Store.open(url), Vault(b"test-key")
    data = {"workers": [HER, worker_row("W-OTHER")], "vacancies": MARKET["vacancies"][:3], "outcomes": HER_OUTCOMES}
    for kind in ("workers", "vacancies", "outcomes"):
        import_file(store, vault, kind, write_jsonl(tmp_path / f"{kind}.jsonl", data[kind]))
    audit(store, "k-officer", "read", "workers", [ID, "W-OTHER"], "get_worker")
    store.cache_vectors("fake-hash-64", {PHRASE: np.ones(4, dtype=np.float32)})
    return store, vault


def worker_row(id_: str) -> dict:
    return {"id": id_, "region": "35.08", "skills": ["menjahit"]}


def test_a_crash_inside_the_erasure_transaction_leaves_everything_as_it_was(store_url, tmp_path, monkeypatch):
    store, vault = _stored_her(store_url, tmp_path)

    def crash(name: str) -> None:
        if name == "erase.mid_commit":
            raise RuntimeError("crash after the worker row, before the outcomes")

    monkeypatch.setattr("sepadan.store.db.point", crash)
    with pytest.raises(RuntimeError):
        store.erase_worker(ID, pseudonym=vault.pseudonym(ID), phrases=[PHRASE])
    assert store.get("workers", ID) is not None and store.count("outcomes") == 3
    assert store.cached_vectors("fake-hash-64", [PHRASE]) and len(audit_trail(store, "workers", ID)) == 1


def test_the_store_erases_in_one_transaction_and_vacuum_rewrites_the_tables(store_url, tmp_path):
    store, vault = _stored_her(store_url, tmp_path)
    alias = vault.pseudonym(ID)
    assert store.erase_worker(ID, pseudonym=alias, phrases=[PHRASE], audit={"key_id": "k-admin", "route": "r"})
    assert store.get("workers", ID) is None and store.ids("workers") == {"W-OTHER"}
    assert store.count("outcomes") == 0 and not store.cached_vectors("fake-hash-64", [PHRASE])
    assert audit_trail(store, "workers", ID) == [] and [e.action for e in audit_trail(store, "workers", alias)] == [
        "read", "delete"]
    assert [e.key_id for e in audit_trail(store, "workers", "W-OTHER")] == ["k-officer"]
    before = _filenode(store)
    store.vacuum()
    if store.engine.dialect.name == "postgresql":  # VACUUM (FULL) wrote the table into a new file
        assert _filenode(store) != before
    assert store.ids("workers") == {"W-OTHER"} and not store.erase_worker(ID, pseudonym=alias)


def _filenode(store: Store) -> int | None:
    if store.engine.dialect.name != "postgresql":
        return None
    with store.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_relation_filenode('workers')").scalar_one()


@pytest.mark.slow
def test_sepadan_erase_on_the_command_line(tmp_path):
    """The admin's command (the real CLI and model): erased, audited, gone from every file."""
    import faultkit as fk

    store = load_engine(tmp_path, fk.erasure_market(), encoder=FakeEncoder()).store  # imported, no index yet
    home = tmp_path / "home"
    hmac_ = Vault(load_secret(home, None)).nik_hmac(fk.ERASED_NIK)
    assert fk.occurrences(home, {"id": fk.ERASED.encode()})
    r = fk.cli(home, "erase", fk.ERASED, "--vacuum")
    assert r.returncode == 0 and f"erased worker {fk.ERASED}" in r.stdout, r.stderr[-2000:]
    assert fk.occurrences(home, {"id": fk.ERASED.encode(), "nik": fk.ERASED_NIK.encode(),
                                 "nik_hmac": hmac_.encode(), "phrase": b"sulam benang qzk"}) == {}
    alias = Vault(load_secret(home, None)).pseudonym(fk.ERASED)
    assert [(e.key_id, e.action, e.route) for e in audit_trail(store, "workers", alias)] == [
        ("cli", "delete", "cli_erase")]
    again = fk.cli(home, "erase", fk.ERASED)
    assert again.returncode == 1 and "not found" in again.stderr
