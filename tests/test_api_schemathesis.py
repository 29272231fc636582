"""Property-based tests of the HTTP API against its own OpenAPI schema (schemathesis 4).

Draft.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from conftest import TODAY, make_settings, write_jsonl
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi as schemathesis_asgi

from sepadan.api.app import create_app
from sepadan.engine import Engine
from sepadan.store.keys import create_key

# -- tiny data -----------------------------------------------------------------------------------

READY = {"passport": True, "medical": True, "police_clearance": True}


def _worker(id_: str, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "name": f"Worker {id_}", "nik": "9271014101900003", "birth_date": "1995-03-03",
            "gender": "F", "region": "35.08", "education": "SMA", "skills": ["merawat lansia", "memasak"],
            "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}], "documents": READY,
            "preferences": {"countries": ["JP", "TW"], "domestic": True}, "available": True, **extra}


def _vacancy(id_: str, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "title": "Caregiver (kaigo)", "employer": "Sakura Care", "agency_licence": "P3MI-001",
            "country": "JP", "sector": "caregiving", "skills_required": ["elderly care"],
            "languages": [{"language": "ja", "test": "JLPT", "min_level": "N4"}], "age_min": 18, "age_max": 40,
            "positions": 5, "deadline": "2027-06-30", "open": True, **extra}


# Records the fuzzer reads and updates (ids as in the schema's examples), and others it may delete.
IDS: dict[str, tuple[str, ...]] = {
    "agencies": ("P3MI-001", "P3MI-002"),
    "trainings": ("T-01", "T-02"),
    "workers": ("W-000123", "W-000124"),
    "vacancies": ("V-0042", "V-0043"),
    "outcomes": ("W-000123|V-0042|hired", "W-000124|V-0043|shortlisted"),
}
DISPOSABLE: dict[str, tuple[str, ...]] = {
    "agencies": ("P3MI-DEL-1", "P3MI-DEL-2", "P3MI-DEL-3"),
    "trainings": ("T-DEL-1", "T-DEL-2", "T-DEL-3"),
    "workers": ("W-DEL-1", "W-DEL-2", "W-DEL-3"),
    "vacancies": ("V-DEL-1", "V-DEL-2", "V-DEL-3"),
    "outcomes": ("W-000123|V-0043|interviewed", "W-000124|V-0042|rejected", "W-DEL-1|V-DEL-1|hired"),
}


def _outcome(id_: str) -> dict[str, Any]:
    worker, vacancy, stage = id_.split("|")
    return {"worker_id": worker, "vacancy_id": vacancy, "stage": stage, "date": "2026-02-14"}


ROWS: dict[str, list[dict[str, Any]]] = {
    "agencies": [{"licence": i, "name": "PT Contoh Jaya", "status": "active", "valid_until": "2028-01-31"}
                 for i in IDS["agencies"] + DISPOSABLE["agencies"]],
    "trainings": [{"id": i, "title": "Bahasa Jepang N4", "provider": "LPK Sakura", "region": "35.08",
                   "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}], "hours": 400, "seats": 20}
                  for i in IDS["trainings"] + DISPOSABLE["trainings"]],
    "workers": [_worker(i) for i in IDS["workers"] + DISPOSABLE["workers"]],
    "vacancies": [_vacancy(i) for i in IDS["vacancies"] + DISPOSABLE["vacancies"]],
    "outcomes": [_outcome(i) for i in IDS["outcomes"] + DISPOSABLE["outcomes"]],
}
IMPORT_ORDER = ("agencies", "trainings", "workers", "vacancies", "outcomes")


# -- the schema (from the code, at import: schemathesis parametrizes at collection) and the app --------

def _openapi() -> dict[str, Any]:
    settings = make_settings(Path("unused-home"))
    return create_app(settings, engine=Engine(settings)).openapi()


CONFIG = schemathesis.Config.from_dict({
    "seed": 20261101,
    "generation": {"mode": "all", "max-examples": 20, "database": "none", "with-security-parameters": False},
    "phases": {"stateful": {"enabled": False}},
})


class LateApp:
    """The ASGI app the schema targets; the module fixture plugs the real app in (and unplugs it)."""

    app: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert self.app is not None, "the app is built by the `api` fixture"
        await self.app(scope, receive, send)


APP = LateApp()
schema = schemathesis.openapi.from_dict(_openapi(), config=CONFIG)
schema.app = APP  # what from_asgi does; probes by checks (e.g. ignored_auth) go to it too


class Api:
    def __init__(self, engine: Engine, token: str) -> None:
        self.engine, self.headers = engine, {"X-API-Key": token}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, fake_encoder: Any) -> Any:
    folder = tmp_path_factory.mktemp("schemathesis")
    settings = make_settings(folder / "home", api_rate_limit=0)
    engine = Engine(settings, encoder=fake_encoder, today=TODAY)
    for kind in IMPORT_ORDER:
        engine.import_file(kind, write_jsonl(folder / "in" / f"{kind}.jsonl", ROWS[kind]))
    _, token = create_key(engine.store, "admin")
    APP.app = create_app(settings, engine=engine, background=False)
    try:
        # entering schemathesis's ASGI client runs the lifespan (it keeps running until shut down)
        with schemathesis_asgi.get_client(APP) as client:
            assert client.get("/v1/health").status_code == 200
        yield Api(engine, token)
    finally:
        schemathesis_asgi.shutdown_lifespans()
        APP.app = None


@schema.parametrize()
def test_api_conforms_to_its_schema(case: schemathesis.Case, api: Api) -> None:
    case.call_and_validate(headers=api.headers)
