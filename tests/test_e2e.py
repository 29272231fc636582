"""End to end with the real model: Indonesian phrases meet English job orders; the demo works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IMPORT_ORDER, TODAY, load_engine, make_settings
from test_matching import READY

from sepadan.demo_data import generate
from sepadan.engine import Engine
from sepadan.features import languages
from sepadan.matching.output import match_list_json
from sepadan.store.db import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _worker(id_: str, skills: list[str]) -> dict:
    return {
        "id": id_,
        "gender": "F",
        "birth_date": "1995-03-03",
        "region": "35.08",
        "education": "SMA",
        "skills": skills,
        "documents": READY,
        "preferences": {"countries": ["TW"], "domestic": True},
        "available": True,
    }


VACANCIES = [
    {
        "id": "V-CARE",
        "title": "Elderly caregiver",
        "country": "ID",
        "region": "35.08",
        "scheme": "domestic",
        "description": "Care for elderly residents of a care home: bathing, meals and mobility.",
        "skills_required": ["elderly care"],
        "skills_preferred": ["cooking"],
        "open": True,
    },
    {
        "id": "V-WELD",
        "title": "Welder",
        "country": "ID",
        "region": "35.08",
        "scheme": "domestic",
        "description": "Weld steel structures in a fabrication workshop.",
        "skills_required": ["welding", "metal fabrication"],
        "open": True,
    },
    {
        "id": "V-CARE-TW",
        "title": "Caregiver for the elderly",
        "country": "TW",
        "agency_licence": "P3MI-OK",
        "sector": "care",
        "skills_required": ["elderly care"],
        "deadline": "2027-06-30",
        "open": True,
    },
    {
        "id": "V-WELD-TW",
        "title": "Welder",
        "country": "TW",
        "agency_licence": "P3MI-OK",
        "sector": "manufacturing",
        "skills_required": ["welding"],
        "deadline": "2027-06-30",
        "open": True,
    },
]
AGENCIES = [
    {"licence": "P3MI-OK", "name": "PT Resmi", "status": "active", "valid_until": "2028-12-31"}
]


@pytest.fixture(scope="module")
def phrases_engine(tmp_path_factory, real_encoder) -> Engine:
    root = tmp_path_factory.mktemp("phrases")
    data = {
        "agencies": AGENCIES,
        "vacancies": VACANCIES,
        "workers": [
            _worker("W-CARE", ["merawat lansia, memasak"]),
            _worker("W-WELD", ["mengelas, las listrik"]),
        ],
    }
    engine = load_engine(root, data, encoder=real_encoder)
    engine.build()
    return engine


def _order(engine: Engine, worker_id: str, scope: str) -> list[str]:
    ml = engine.matcher.recommend(worker_id, scope=scope, k=10)
    assert all(m.eligible for m in ml.results)
    return [m.vacancy_id for m in ml.results]


@pytest.mark.parametrize(
    "scope, care, weld", [("domestic", "V-CARE", "V-WELD"), ("overseas", "V-CARE-TW", "V-WELD-TW")]
)
def test_indonesian_care_phrases_rank_an_english_care_job_above_welding(
    phrases_engine, scope, care, weld
):
    for vacancy in (care, weld):
        assert phrases_engine.matcher.explain("W-CARE", vacancy).eligible
    order = _order(phrases_engine, "W-CARE", scope)
    assert order.index(care) < order.index(weld), order
    m = phrases_engine.matcher
    assert (
        m.explain("W-CARE", care).components["skills"]
        > m.explain("W-CARE", weld).components["skills"]
    )


@pytest.mark.parametrize(
    "scope, care, weld", [("domestic", "V-CARE", "V-WELD"), ("overseas", "V-CARE-TW", "V-WELD-TW")]
)
def test_indonesian_welding_phrases_rank_welding_above_care(phrases_engine, scope, care, weld):
    order = _order(phrases_engine, "W-WELD", scope)
    assert order.index(weld) < order.index(care), order


def test_the_care_worker_tops_the_care_shortlist(phrases_engine):
    ml = phrases_engine.matcher.shortlist("V-CARE", k=5)
    assert [m.worker_id for m in ml.results] == ["W-CARE", "W-WELD"]
    english = match_list_json(ml, lang="en")["results"][0]
    assert any("merawat lansia" in reason for reason in english["reasons"]), english["reasons"]


# ----------------------------------------------------------------------------------- the demo path
@pytest.fixture(scope="module")
def demo(tmp_path_factory, real_encoder):
    root = tmp_path_factory.mktemp("demo")
    paths = generate(
        root / "data", n_workers=400, n_vacancies=120, n_trainings=20, n_agencies=40, today=TODAY
    )
    engine = Engine(make_settings(root / "home"), encoder=real_encoder, today=TODAY)
    reports = {kind: engine.import_file(kind, paths[kind]) for kind in IMPORT_ORDER}
    engine.build()
    register = {
        json.loads(line)["licence"]: json.loads(line)
        for line in paths["agencies"].read_text().splitlines()
    }
    return engine, reports, register


def test_demo_imports_every_kind(demo):
    engine, reports, _ = demo
    assert reports["workers"].inserted == 400 and reports["vacancies"].inserted == 120
    assert all(r.inserted > 0 and r.rejected == 0 for r in reports.values())
    assert engine.store.count("outcomes") == reports["outcomes"].inserted


def _meets_n4(worker) -> bool:
    """Independently of the engine: a JLPT or JFT-Basic credential at N4/A2 or above."""
    return any(
        c.language == "ja"
        and c.test in ("JLPT", "JFT-Basic")
        and languages.ordinal(c.test, c.level) >= 2
        for c in worker.languages
    )


def test_demo_shortlist_for_v0042(demo):
    engine, _, _ = demo
    m = engine.matcher
    ml = m.shortlist("V-0042", k=30)
    assert ml.results and ml.warnings == ()
    assert "W-000123" in [r.worker_id for r in ml.results]
    for r in ml.results:
        assert r.eligible
        checks = m.checks(r.worker_id, "V-0042")
        language = [
            c for c in checks if c.rule in ("language", "programme:jp-ssw") and "margin" in c.params
        ]
        assert language and all(c.ok for c in language), r.worker_id
        assert _meets_n4(m.workers.records[m.workers.positions[r.worker_id]]), r.worker_id
    everyone = m.shortlist("V-0042", k=500, include_ineligible=True)
    assert any(
        not _meets_n4(m.workers.records[m.workers.positions[r.worker_id]]) for r in everyone.results
    )


def _legitimate(vacancy, register: dict) -> bool:
    if vacancy.country in (None, "ID"):
        return True
    agency = register.get(vacancy.agency_licence or "")
    return (
        bool(agency) and agency["status"] == "active" and agency["valid_until"] >= TODAY.isoformat()
    )


def test_demo_recommendations_for_w000123(demo):
    engine, _, register = demo
    m = engine.matcher
    ml = m.recommend("W-000123", scope="all", k=10)
    assert ml.results and all(r.eligible for r in ml.results)
    for r in ml.results:
        vacancy = m.vacancies.records[m.vacancies.positions[r.vacancy_id]]
        assert _legitimate(vacancy, register), r.vacancy_id
    wide = m.recommend("W-000123", scope="all", k=500)
    assert "V-0099" not in [r.vacancy_id for r in wide.results]
    assert all(
        _legitimate(m.vacancies.records[m.vacancies.positions[r.vacancy_id]], register)
        for r in wide.results
    )
    flagged = {
        r.vacancy_id: r
        for r in m.recommend("W-000123", scope="all", k=500, include_flagged=True).results
    }
    assert flagged["V-0099"].eligible is False and flagged["V-0099"].failed_rules == ("agency",)


def test_demo_explain(demo):
    engine, _, _ = demo
    m = engine.matcher
    match = m.explain("W-000123", "V-0042")
    assert match.eligible and match.score > 0 and match.reasons
    rules = {c.rule: c.ok for c in m.checks("W-000123", "V-0042")}
    assert rules["language"] and rules["programme:jp-ssw"] and rules["agency"]
    revoked = m.explain("W-000123", "V-0099")
    assert not revoked.eligible and "agency" in revoked.failed_rules


# ----------------------------------------------------------------------------- the CLI demo itself
def test_cli_demo_on_the_bundled_data(tmp_path, real_encoder, phrases_engine):
    """``sepadan demo`` in a fresh process. Its phrase cache is seeded with the taxonomy labels the
    session has already embedded (as a second run would find them): seconds, not a minute."""
    home = tmp_path / "home"
    taxonomy = phrases_engine.taxonomy
    labels = [s.label for s in taxonomy.skills.values()] + [
        o.label for o in taxonomy.occupations.values()
    ]
    labels = list(dict.fromkeys(labels))
    Store.open(make_settings(home).url).cache_vectors(
        real_encoder.name, dict(zip(labels, real_encoder.encode(labels), strict=True))
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEPADAN_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["HF_HUB_OFFLINE"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "sepadan.cli", "demo", "--home", str(home), "-k", "5"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "V-0042" in result.stdout and "W-000123" in result.stdout
    assert "Traceback" not in result.stderr
    assert "imported workers: 5000 rows" in result.stdout
