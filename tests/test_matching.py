"""Shortlists and recommendations on a tiny market whose answers are known by construction."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from conftest import load_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sepadan.engine import Engine
from sepadan.errors import NotFound
from sepadan.matching.eligibility import check_pair
from sepadan.matching.output import match_json, match_list_json
from sepadan.matching.scorer import Pair

READY = {
    "passport": True,
    "medical": True,
    "police_clearance": True,
    "bpjs": True,
    "family_consent": True,
}
OPEN = {"open": True, "deadline": "2027-03-31"}


def worker(id_: str, *, ja: str | None = None, region: str = "35.08", **extra) -> dict:
    row = {
        "id": id_,
        "gender": "F",
        "birth_date": "1996-05-05",
        "region": region,
        "education": "SMA",
        "skills": ["merawat lansia", "memasak"],
        "documents": READY,
        "available": True,
    }
    if ja:
        row["languages"] = [{"language": "ja", "test": "JLPT", "level": ja}]
    return row | extra


def caregiver_abroad(id_: str, country: str, licence: str | None, **extra) -> dict:
    return {
        "id": id_,
        "title": "Caregiver for a nursing home",
        "country": country,
        "agency_licence": licence,
        "sector": "care",
        "occupation": "5322",
        "skills_required": ["tend to elderly people"],
        "skills_preferred": ["use cooking techniques"],
        "scheme": "P2P",
        **OPEN,
    } | extra


AGENCIES = [
    {"licence": "P3MI-ACTIVE", "name": "PT Aktif", "status": "active", "valid_until": "2028-03-01"},
    {
        "licence": "P3MI-REVOKED",
        "name": "PT Dicabut",
        "status": "revoked",
        "valid_until": "2028-03-01",
    },
    {
        "licence": "P3MI-SUSPENDED",
        "name": "PT Dibekukan",
        "status": "suspended",
        "valid_until": "2028-03-01",
    },
    {
        "licence": "P3MI-EXPIRED",
        "name": "PT Kedaluwarsa",
        "status": "active",
        "valid_until": "2026-06-30",
    },
]
BAD_AGENCY = {
    "V-TW-REVOKED": "revoked",
    "V-TW-SUSPENDED": "suspended",
    "V-TW-EXPIRED": "expired",
    "V-TW-UNKNOWN": "unknown",
    "V-HK-NOLICENCE": "unknown",
}
VACANCIES = [
    caregiver_abroad(
        "V-JP-N4",
        "JP",
        "P3MI-ACTIVE",
        languages=[{"language": "ja", "test": "JLPT", "min_level": "N4"}],
    ),
    caregiver_abroad("V-TW-ACTIVE", "TW", "P3MI-ACTIVE"),
    caregiver_abroad("V-TW-REVOKED", "TW", "P3MI-REVOKED"),
    caregiver_abroad("V-TW-SUSPENDED", "TW", "P3MI-SUSPENDED"),
    caregiver_abroad("V-TW-EXPIRED", "TW", "P3MI-EXPIRED"),
    caregiver_abroad("V-TW-UNKNOWN", "TW", "P3MI-2024-1999"),
    caregiver_abroad("V-HK-NOLICENCE", "HK", None),
    {
        "id": "V-ID-CARE",
        "title": "Pendamping lansia",
        "country": "ID",
        "region": "35.08",
        "scheme": "domestic",
        "sector": "care",
        "skills_required": ["merawat lansia"],
        **OPEN,
    },
    {
        "id": "V-ID-WELD",
        "title": "Tukang las",
        "country": "ID",
        "region": "18.01",
        "scheme": "domestic",
        "sector": "manufacturing",
        "skills_required": ["mengelas"],
        **OPEN,
    },
]
WORKERS = [
    worker("W-N5", ja="N5"),
    worker("W-N4", ja="N4", region="35.09"),
    worker("W-N3", ja="N3", region="18.01"),
    worker("W-JP-ONLY", ja="N3", preferences={"countries": ["JP"], "domestic": False}),
    worker("W-WELDER", gender="M", region="18.01", skills=["mengelas"]),
]
REGION = {w["id"]: w["region"] for w in WORKERS}


@pytest.fixture(scope="module")
def engine(tmp_path_factory, fake_encoder) -> Engine:
    root = tmp_path_factory.mktemp("market")
    engine = load_engine(root, {"agencies": AGENCIES, "workers": WORKERS, "vacancies": VACANCIES},
                         encoder=fake_encoder)
    engine.build()
    return engine


@pytest.fixture(scope="module")
def matcher(engine):
    return engine.matcher


def ids(ml, key: str = "worker_id") -> list[str]:
    return [getattr(m, key) for m in ml.results]


# ---------------------------------------------------------------------------------------- language
def test_n5_worker_is_never_shortlisted_for_an_n4_job_order(matcher):
    ml = matcher.shortlist("V-JP-N4", k=30)
    assert set(ids(ml)) == {"W-N4", "W-N3", "W-JP-ONLY"}
    assert all(m.eligible for m in ml.results)


def test_include_ineligible_shows_the_n5_worker_with_the_rule(matcher):
    ml = matcher.shortlist("V-JP-N4", k=30, include_ineligible=True)
    by_id = {m.worker_id: m for m in ml.results}
    assert {"W-N5", "W-N4", "W-N3"} <= set(by_id)
    assert by_id["W-N5"].eligible is False and by_id["W-N5"].failed_rules == ("language",)
    assert by_id["W-N4"].eligible and by_id["W-N3"].eligible
    eligible_flags = [m.eligible for m in ml.results]
    assert eligible_flags == sorted(eligible_flags, reverse=True)  # eligible first
    n5 = next(r for r in match_list_json(ml, lang="en")["results"] if r["worker_id"] == "W-N5")
    assert n5["eligible"] is False and n5["rules"] == ["language"]
    assert any("JLPT N4" in text for text in n5["failed"])


def test_a_higher_level_earns_a_higher_language_component(matcher):
    assert (
        matcher.explain("W-N3", "V-JP-N4").components["language"]
        > matcher.explain("W-N4", "V-JP-N4").components["language"]
    )


# ---------------------------------------------------------------------------------------- agencies
@pytest.mark.parametrize("scope", ["all", "overseas"])
@pytest.mark.parametrize("vacancy_id", sorted(BAD_AGENCY))
def test_a_vacancy_of_a_non_active_agency_is_never_recommended(matcher, vacancy_id, scope):
    for worker_id in ("W-N5", "W-N4", "W-N3"):
        ml = matcher.recommend(worker_id, scope=scope, k=50)
        assert vacancy_id not in ids(ml, "vacancy_id")
        assert "V-TW-ACTIVE" in ids(ml, "vacancy_id")
        assert all(m.eligible for m in ml.results)


@pytest.mark.parametrize("vacancy_id", sorted(BAD_AGENCY))
def test_include_flagged_shows_it_flagged_with_the_agency_rule(matcher, vacancy_id):
    ml = matcher.recommend("W-N4", scope="overseas", k=50, include_flagged=True)
    by_id = {m.vacancy_id: m for m in ml.results}
    assert set(BAD_AGENCY) | {"V-TW-ACTIVE", "V-JP-N4"} == set(by_id)
    flagged = by_id[vacancy_id]
    assert flagged.eligible is False and flagged.failed_rules == ("agency",)
    assert flagged.failed[0][0] == f"agency_{BAD_AGENCY[vacancy_id]}"
    body = match_list_json(ml, lang="en")
    row = next(r for r in body["results"] if r["vacancy_id"] == vacancy_id)
    assert (
        row["eligible"] is False
        and row["rules"] == ["agency"]
        and "non-procedural" in row["failed"][0]
    )


def test_include_flagged_never_lets_in_a_pair_that_breaks_another_rule(matcher):
    ml = matcher.recommend("W-JP-ONLY", scope="all", k=50, include_flagged=True)
    assert ids(ml, "vacancy_id") == [
        "V-JP-N4"
    ]  # the flagged ones are in Taiwan and Hong Kong, not chosen


@pytest.mark.parametrize("vacancy_id", sorted(BAD_AGENCY))
def test_a_shortlist_for_a_non_active_agency_is_empty_and_warns(matcher, vacancy_id):
    ml = matcher.shortlist(vacancy_id, k=30)
    assert ml.results == ()
    assert [key for key, _ in ml.warnings] == [f"agency_{BAD_AGENCY[vacancy_id]}"]
    body = match_list_json(ml, lang="en")
    assert body["results"] == [] and "non-procedural" in body["warnings"][0]
    flagged = matcher.shortlist(vacancy_id, k=30, include_ineligible=True)
    assert flagged.results and all(
        not m.eligible and "agency" in m.failed_rules for m in flagged.results
    )


def test_a_revoked_agency_is_flagged_even_when_the_country_is_missing(make_engine):
    engine = make_engine(
        {
            "agencies": AGENCIES,
            "workers": [worker("W-1", ja="N4")],
            "vacancies": [caregiver_abroad("V-NOCOUNTRY", None, "P3MI-REVOKED")],
        }
    )
    m = engine.build()
    assert "V-NOCOUNTRY" not in ids(m.recommend("W-1", scope="all", k=10), "vacancy_id")
    assert [key for key, _ in m.shortlist("V-NOCOUNTRY").warnings] == ["agency_revoked"]


def test_domestic_jobs_need_no_agency(matcher):
    ml = matcher.recommend("W-N5", scope="domestic", k=10)
    assert set(ids(ml, "vacancy_id")) == {"V-ID-CARE", "V-ID-WELD"}
    agency = next(c for c in matcher.checks("W-N5", "V-ID-CARE") if c.rule == "agency")
    assert agency.ok and agency.key == "agency_not_required"
    assert matcher.shortlist("V-ID-CARE", k=30).warnings == ()


def test_scope_keeps_to_its_side(matcher):
    overseas = ids(matcher.recommend("W-N4", scope="overseas", k=50), "vacancy_id")
    domestic = ids(matcher.recommend("W-N4", scope="domestic", k=50), "vacancy_id")
    everything = ids(matcher.recommend("W-N4", scope="all", k=50), "vacancy_id")
    assert not any(v.startswith("V-ID") for v in overseas) and all(
        v.startswith("V-ID") for v in domestic
    )
    assert set(everything) == set(overseas) | set(domestic)
    assert ids(matcher.recommend("W-N4", scope="all", country="JP", k=50), "vacancy_id") == [
        "V-JP-N4"
    ]
    with pytest.raises(ValueError):
        matcher.recommend("W-N4", scope="abroad")


# ----------------------------------------------------------------------------- region, preferences
@pytest.mark.parametrize(
    "region, expected",
    [
        (None, {"W-N5", "W-N4", "W-N3", "W-WELDER"}),
        ("35", {"W-N5", "W-N4"}),
        ("35.08", {"W-N5"}),
        ("18", {"W-N3", "W-WELDER"}),
        ("92", set()),
    ],
)
def test_region_filter_returns_only_workers_in_the_region(matcher, region, expected):
    ml = matcher.shortlist("V-ID-CARE", k=30, region=region)
    assert set(ids(ml)) == expected
    if region:
        assert all(REGION[w] == region or REGION[w].startswith(region + ".") for w in ids(ml))


def test_a_worker_who_chose_only_japan_never_gets_taiwan(matcher):
    for scope in ("all", "overseas"):
        got = ids(matcher.recommend("W-JP-ONLY", scope=scope, k=50), "vacancy_id")
        assert got == ["V-JP-N4"]
    assert "W-JP-ONLY" not in ids(matcher.shortlist("V-TW-ACTIVE", k=30))
    assert "W-JP-ONLY" not in ids(matcher.shortlist("V-ID-CARE", k=30))  # domestic: false
    shown = matcher.recommend("W-JP-ONLY", scope="all", k=50, include_ineligible=True)
    tw = next(m for m in shown.results if m.vacancy_id == "V-TW-ACTIVE")
    assert not tw.eligible and tw.failed_rules == ("preference",)


def test_skills_decide_the_order_among_the_eligible(matcher):
    care = matcher.shortlist("V-ID-CARE", k=30)
    weld = matcher.shortlist("V-ID-WELD", k=30)
    assert ids(weld)[0] == "W-WELDER" and ids(care)[-1] == "W-WELDER"
    assert matcher.explain("W-WELDER", "V-ID-WELD").components["skills"] == 1.0
    assert matcher.explain("W-WELDER", "V-ID-CARE").components["skills"] < 1.0
    rec = matcher.recommend("W-N5", scope="domestic", k=10)
    assert ids(rec, "vacancy_id") == ["V-ID-CARE", "V-ID-WELD"]


def test_unknown_ids_raise_not_found(matcher):
    with pytest.raises(NotFound):
        matcher.shortlist("V-NOPE")
    with pytest.raises(NotFound):
        matcher.recommend("W-NOPE")
    with pytest.raises(NotFound):
        matcher.explain("W-N4", "V-NOPE")


def test_k_bounds_the_results(matcher):
    assert len(matcher.shortlist("V-ID-CARE", k=2).results) == 2
    assert len(matcher.recommend("W-N4", k=1).results) == 1


# ---------------------------------------------------------------------- output shape and languages
def _check_result(result: dict, key: str, rank: int) -> None:
    assert {key, "rank", "score", "components", "reasons", "gaps"} <= set(result)
    assert result["rank"] == rank and isinstance(result[key], str)
    assert 0.0 <= result["score"] <= 1.0
    assert result["components"] and all(0.0 <= v <= 1.0 for v in result["components"].values())
    assert set(result["components"]) <= {
        "skills",
        "semantic",
        "language",
        "experience",
        "training",
        "readiness",
        "preference",
    }
    assert all(isinstance(x, str) and x for x in result["reasons"] + result["gaps"])


def test_shortlist_has_the_contract_output_shape(matcher):
    body = match_list_json(matcher.shortlist("V-JP-N4", k=30))
    assert {"vacancy_id", "model_version", "results"} <= set(body)
    assert (
        body["vacancy_id"] == "V-JP-N4"
        and body["model_version"] == matcher.model_version == "transparent-1"
    )
    assert len(body["results"]) == 3
    for rank, result in enumerate(body["results"], start=1):
        _check_result(result, "worker_id", rank)
        assert "eligible" not in result  # only ineligible rows carry the flag
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert json.loads(json.dumps(body)) == body


def test_recommendations_have_the_contract_output_shape(matcher):
    body = match_list_json(matcher.recommend("W-N4", k=10))
    assert {"worker_id", "model_version", "results"} <= set(body) and "vacancy_id" not in body
    assert body["worker_id"] == "W-N4" and body["results"]
    for rank, result in enumerate(body["results"], start=1):
        _check_result(result, "vacancy_id", rank)
    json.dumps(body)


def test_indonesian_and_english_renderings_differ(matcher):
    ml = matcher.shortlist("V-JP-N4", k=30)
    indonesian, english = match_list_json(ml, lang="id"), match_list_json(ml, lang="en")
    assert indonesian["lang"] == "id" and english["lang"] == "en"
    for a, b in zip(indonesian["results"], english["results"], strict=True):
        assert (
            a["worker_id"] == b["worker_id"]
            and a["score"] == b["score"]
            and a["components"] == b["components"]
        )
        assert a["reasons"] and a["reasons"] != b["reasons"]
    n4 = next(r for r in english["results"] if r["worker_id"] == "W-N4")
    assert "JLPT N4 meets the JLPT N4 required" in n4["reasons"]
    n4_id = next(r for r in indonesian["results"] if r["worker_id"] == "W-N4")
    assert "JLPT N4 memenuhi syarat JLPT N4" in n4_id["reasons"]


def test_explain_carries_every_failed_rule(matcher):
    match = matcher.explain("W-WELDER", "V-JP-N4")
    assert not match.eligible and match.failed_rules == ("language",)
    body = match_json(match, lang="en", key="vacancy_id")
    assert (
        body["vacancy_id"] == "V-JP-N4"
        and body["eligible"] is False
        and body["rules"] == ["language"]
    )


# ------------------------------------------------------------------- a missing document is a gap
NO_SKCK = {**READY, "police_clearance": False}
SKCK_GAP = {"id": "dokumen belum ada: SKCK", "en": "document missing: police clearance (SKCK)"}


@pytest.fixture(scope="module")
def documents_engine(tmp_path_factory, fake_encoder) -> Engine:
    """Two caregivers, one without SKCK (7 days to obtain); a Taiwan job with 150 days left and one
    whose deadline is 3 days away."""
    data = {"agencies": AGENCIES[:1],
            "workers": [worker("W-SKCK"), worker("W-NO-SKCK", documents=NO_SKCK)],
            "vacancies": [caregiver_abroad("V-TW-LATER", "TW", "P3MI-ACTIVE"),
                          caregiver_abroad("V-TW-SOON", "TW", "P3MI-ACTIVE", deadline="2026-11-04")]}
    engine = load_engine(tmp_path_factory.mktemp("documents"), data, encoder=fake_encoder)
    engine.build()
    return engine


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_missing_document_is_a_gap_in_the_shortlist(documents_engine, lang):
    body = match_list_json(documents_engine.matcher.shortlist("V-TW-LATER", k=10), lang=lang)
    gaps = {r["worker_id"]: r["gaps"] for r in body["results"]}
    assert set(gaps) == {"W-SKCK", "W-NO-SKCK"}  # a gap, not a rule: still shortlisted
    assert SKCK_GAP[lang] in gaps["W-NO-SKCK"] and SKCK_GAP[lang] not in gaps["W-SKCK"]


def test_a_missing_document_is_a_gap_in_the_recommendations(documents_engine):
    body = match_list_json(documents_engine.matcher.recommend("W-NO-SKCK", k=10), lang="en")
    assert [(r["vacancy_id"], SKCK_GAP["en"] in r["gaps"]) for r in body["results"]] == [("V-TW-LATER", True)]


def test_a_document_that_cannot_be_ready_by_the_deadline_is_a_rule(documents_engine):
    matcher = documents_engine.matcher
    assert ids(matcher.shortlist("V-TW-SOON", k=10)) == ["W-SKCK"]
    body = match_json(matcher.explain("W-NO-SKCK", "V-TW-SOON"), lang="en", key="vacancy_id")
    assert body["eligible"] is False and body["rules"] == ["documents"]
    assert body["failed"] == ["police clearance (SKCK) cannot be ready before the deadline (takes 7 days)"]
    assert SKCK_GAP["en"] not in body["gaps"]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_explain_prints_the_missing_document_among_the_gaps(documents_engine, monkeypatch, lang):
    from contextlib import contextmanager

    from typer.testing import CliRunner

    import sepadan.cli.core as cli_core

    @contextmanager
    def fake(home, today=None):
        yield documents_engine

    monkeypatch.setattr(cli_core, "_engine", fake)
    result = CliRunner().invoke(cli_core.app, ["explain", "W-NO-SKCK", "V-TW-LATER", "--lang", lang])
    assert result.exit_code == 0, result.output
    gaps_line = next(line for line in result.output.splitlines() if line.startswith("gaps: "))
    assert SKCK_GAP[lang] in gaps_line.removeprefix("gaps: ").split("; ")
    assert "NOT eligible" not in result.output


# -------------------------------------------------------------------- a required skill never hurts
SKILLS = [
    "merawat lansia",
    "memasak",
    "mengelas",
    "menjahit",
    "kasir",
    "mengasuh anak",
    "tata boga",
    "tend to elderly people",
    "operate welding equipment",
    "use cooking techniques",
    "sew pieces of fabric",
    "bermain angklung",
    "mengemudi truk",
]


@given(
    have=st.lists(st.sampled_from(SKILLS), max_size=4, unique=True),
    required=st.lists(st.sampled_from(SKILLS), min_size=1, max_size=3, unique=True),
    preferred=st.lists(st.sampled_from(SKILLS), max_size=2, unique=True),
    pick=st.integers(0, 2),
)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_gaining_a_required_skill_never_lowers_the_skills_component(
    engine, matcher, have, required, preferred, pick
):
    from sepadan.contract import VacancyIn, WorkerIn

    gained = required[pick % len(required)]
    before = WorkerIn.model_validate(worker("W-P", ja="N4", skills=have)).to_record()
    after = replace(before, skills=(*before.skills, gained))
    v = VacancyIn.model_validate(
        caregiver_abroad(
            "V-P", "JP", "P3MI-ACTIVE", skills_required=required, skills_preferred=preferred
        )
    ).to_record()
    vp = engine.profiler.vacancy(v)

    def skills(w) -> float:
        wp = engine.profiler.worker(w)
        scored = matcher.scorer.score(
            Pair(w, wp, v, vp, 0.5, check_pair(w, wp, v, vp, matcher.ctx)), matcher.ctx
        )
        return scored.components["skills"]

    assert skills(after) >= skills(before)
    assert skills(after) > 0
