"""A tiny market behind the HTTP API, with one key per role, for the API tests.

Known by construction: three workers (two in East Java, 35, one in East Nusa Tenggara, 53), each
with a name and a NIK; job orders of two licensed agencies (A1, A2), one of a revoked agency (AR)
and one domestic; outcomes of W1 with both agencies and of W3 with A2.

``make_api(root, encoder, **settings)`` imports it through a fresh Engine (today 2026-11-01) and
returns the app (not started: use ``with TestClient(api.app) as client``) and a token per key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import load_engine, make_settings
from fastapi import FastAPI

from sepadan.api.app import create_app
from sepadan.engine import Engine
from sepadan.store.keys import create_key

READY = {"passport": True, "medical": True, "police_clearance": True, "bpjs": True, "family_consent": True}
NIKS = {"W1": "3508014101960001", "W2": "3509014202960002", "W3": "5301014303960003"}
NAMES = {"W1": "Siti Aminah", "W2": "Dewi Lestari", "W3": "Maria Bria"}
REGIONS = {"W1": "35.08", "W2": "35.09", "W3": "53.01"}
OWN_PHRASE = "ngurus kebun zaitun xyz"  # a skill only W1 wrote


def worker(id_: str, *, region: str, skills: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": id_, "gender": "F", "birth_date": "1996-05-05", "region": region, "education": "SMA",
            "skills": skills, "documents": READY, "available": True,
            "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}]} | extra


def caregiver(id_: str, licence: str | None, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "title": "Caregiver for a nursing home", "employer": f"Home of {id_}", "country": "TW",
            "agency_licence": licence, "sector": "care", "occupation": "5322",
            "skills_required": ["tend to elderly people"], "skills_preferred": ["use cooking techniques"],
            "scheme": "P2P", "open": True, "deadline": "2027-03-31"} | extra


def market() -> dict[str, list[dict[str, Any]]]:
    """A fresh copy each call (tests may change it)."""
    return {
        "agencies": [
            {"licence": "A1", "name": "PT Satu", "status": "active", "valid_until": "2028-03-01"},
            {"licence": "A2", "name": "PT Dua", "status": "active", "valid_until": "2028-03-01"},
            {"licence": "AR", "name": "PT Dicabut", "status": "revoked", "valid_until": "2028-03-01"},
        ],
        "trainings": [{"id": "T1", "title": "Bahasa Jepang N4", "provider": "LPK Sakura", "region": "35.08",
                       "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}], "hours": 400,
                       "seats": 20}],
        "workers": [
            worker("W1", region=REGIONS["W1"], skills=["merawat lansia", "memasak", OWN_PHRASE],
                   name=NAMES["W1"], nik=NIKS["W1"]),
            worker("W2", region=REGIONS["W2"], skills=["merawat lansia"], name=NAMES["W2"], nik=NIKS["W2"]),
            worker("W3", region=REGIONS["W3"], skills=["merawat lansia", "memasak"], name=NAMES["W3"],
                   nik=NIKS["W3"]),
        ],
        "vacancies": [
            caregiver("V1", "A1"), caregiver("V2", "A2"), caregiver("VR", "AR"),
            {"id": "VD", "title": "Pendamping lansia", "country": "ID", "region": "35.08", "scheme": "domestic",
             "sector": "care", "skills_required": ["merawat lansia"], "open": True, "deadline": "2027-03-31"},
        ],
        "outcomes": [
            {"worker_id": "W1", "vacancy_id": "V1", "stage": "shortlisted", "date": "2026-10-01"},
            {"worker_id": "W1", "vacancy_id": "V2", "stage": "interviewed", "date": "2026-10-02"},
            {"worker_id": "W3", "vacancy_id": "V2", "stage": "shortlisted", "date": "2026-10-03"},
        ],
    }


# the keys every Api has: name -> (role, regions, agency)
KEYS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "admin": ("admin", (), None),
    "officer": ("officer", ("35",), None),  # East Java only
    "planner": ("planner", (), None),
    "portal": ("portal", (), None),
    "officer_a1": ("officer", ("35",), "A1"),  # East Java, and agency A1's records only
    "officer_all": ("officer", (), None),  # every region
}


@dataclass
class Api:
    engine: Engine
    app: FastAPI
    tokens: dict[str, str]
    key_ids: dict[str, str] = field(default_factory=dict)

    def headers(self, name: str) -> dict[str, str]:
        return {"X-API-Key": self.tokens[name]}


def make_api(root: Path, encoder: Any, *, data: dict[str, list[dict[str, Any]]] | None = None,
             **settings: Any) -> Api:
    """The market (or ``data``) imported under ``root``/home, an app over it, and the KEYS."""
    data = market() if data is None else data
    # limits and the planner's background warming: only for tests that ask for them
    settings = {"api_rate_limit": 0, "api_auth_failures": 0, "web_planner_warm": False, **settings}
    engine = load_engine(root, data, encoder=encoder, **settings)
    app = create_app(make_settings(root / "home", **settings), engine=engine, background=False)
    tokens, key_ids = {}, {}
    for name, (role, regions, agency) in KEYS.items():
        key, tokens[name] = create_key(engine.store, role, regions=regions, agency=agency, label=name)
        key_ids[name] = key.id
    return Api(engine, app, tokens, key_ids)
