"""Skill gaps and training plans on tiny markets whose answers are known by construction."""

from __future__ import annotations

import itertools
import json
from contextlib import contextmanager
from datetime import date

import pytest
import typer
from conftest import load_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sepadan.engine import Engine
from sepadan.errors import NotFound
from sepadan.planning.demand import Scope, assess, market, plan_region
from sepadan.planning.gaps import Need, worker_gaps
from sepadan.planning.optimise import (
    Candidate,
    Course,
    PlanProblem,
    check_plan,
    lp_bound,
    solve,
    solve_greedy,
    solve_milp,
)
from sepadan.planning.report import (
    gaps_json,
    region_json,
    region_sheets,
    write_csv,
    write_report,
    write_xlsx,
)

READY = {"passport": True, "medical": True, "police_clearance": True, "bpjs": True, "family_consent": True}
AGENCIES = [
    {"licence": "P3MI-OK", "name": "PT Aktif", "status": "active", "valid_until": "2030-01-01"},
    {"licence": "P3MI-BAD", "name": "PT Dicabut", "status": "revoked", "valid_until": "2030-01-01"},
]


def worker(id_: str, ja: str | None = "N5", **extra) -> dict:
    row = {
        "id": id_, "gender": "F", "birth_date": "1998-02-02", "region": "35.08", "education": "SMA",
        "skills": ["merawat lansia"], "documents": READY, "available": True,
    }
    if ja:
        row["languages"] = [{"language": "ja", "test": "JLPT", "level": ja}]
    return row | extra


def vacancy(id_: str, positions: int, **extra) -> dict:
    return {
        "id": id_, "title": "Caregiver", "country": "TW", "agency_licence": "P3MI-OK", "sector": "care",
        "occupation": "5322", "skills_required": ["merawat lansia"], "positions": positions, "scheme": "P2P",
        "open": True, "deadline": "2027-06-30",
    } | extra


def course(
    id_: str, title: str, *, skills=(), languages=(), hours=160, weeks=4, cost=0, seats=30, start="2026-12-01",
    region="35.08",
) -> dict:
    return {
        "id": id_, "title": title, "provider": "BLK Lumajang", "region": region, "skills": list(skills),
        "languages": list(languages), "hours": hours, "duration_weeks": weeks, "cost_idr": cost, "seats": seats,
        "next_start": start,
    }


N4 = {"language": "ja", "test": "JLPT", "min_level": "N4"}
VACANCIES = [
    vacancy("V-JP-N4", 12, country="JP", languages=[N4]),  # one JLPT level away: 12 positions
    vacancy(
        "V-ID-WELD", 3, country="ID", region="35.08", agency_licence=None, scheme="domestic",
        skills_required=["mengelas"],
    ),  # a skill a course teaches
    vacancy("V-HK-SEW", 5, country="HK", skills_required=["menjahit"]),  # a skill no course teaches
    vacancy("V-TW-MEN", 20, gender="M", languages=[N4]),  # gender: never a gap
    vacancy("V-TW-YOUNG", 20, age_max=21),  # age: never a gap
    vacancy("V-TW-S1", 4, education_min="S1"),  # education: not a short course
    vacancy("V-TW-BAD", 50, agency_licence="P3MI-BAD", languages=[N4]),  # non-procedural: never demand
    vacancy("V-TW-OK", 2),  # eligible already
]
TRAININGS = [
    course(
        "T-N4", "Bahasa Jepang N4", languages=[{"language": "ja", "test": "JLPT", "level": "N4"}], hours=480,
        weeks=12, seats=2, cost=1_000_000,
    ),
    course(
        "T-N4-LATE", "Bahasa Jepang N4", languages=[{"language": "ja", "test": "JLPT", "level": "N4"}], hours=480,
        weeks=12, start="2027-05-01",
    ),  # ends after the deadline
    course("T-LAS", "Pengelasan", skills=["mengelas"], cost=2_000_000, seats=10),
    course("T-N5", "Bahasa Jepang N5", languages=[{"language": "ja", "test": "JLPT", "level": "N5"}], hours=240),
]
WORKERS = [
    worker("W-SITI"), worker("W-ANI"), worker("W-DEWI"), worker("W-N4", ja="N4"), worker("W-SBY", region="35.78"),
    worker("W-LPG", region="18.01"),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory, fake_encoder) -> Engine:
    root = tmp_path_factory.mktemp("planning")
    data = {"agencies": AGENCIES, "trainings": TRAININGS, "workers": WORKERS, "vacancies": VACANCIES}
    engine = load_engine(root, data, encoder=fake_encoder)
    engine.build()
    return engine


@pytest.fixture(scope="module")
def mk(engine):
    return market(engine)


@pytest.fixture(scope="module")
def siti(mk):
    return worker_gaps(mk, "W-SITI")


# --- one worker ------------------------------------------------------------------------------


def test_one_jlpt_level_short_of_12_positions_gets_that_course_first(siti):
    first = siti.gaps[0]
    assert (first.need.kind, first.need.label, first.unlocks) == ("language", "JLPT N4", 12)
    assert first.vacancies == ("V-JP-N4",)
    best = first.trainings[0]
    assert (best.training.id, best.unlocks, best.vacancies) == ("T-N4", 12, ("V-JP-N4",))
    assert best.per_hour == pytest.approx(12 / 480)


def test_a_course_that_ends_after_the_deadline_opens_nothing(siti):
    late = {t.training.id: t for t in siti.gaps[0].trainings}["T-N4-LATE"]
    assert late.unlocks == 0 and late.ends == date(2027, 7, 24)


def test_a_lower_level_course_never_closes_a_higher_requirement(siti):
    assert "T-N5" not in {t.training.id for g in siti.gaps for t in g.trainings}


def test_gaps_are_ranked_by_the_positions_they_open(siti):
    assert [(g.need.label, g.unlocks) for g in siti.gaps] == [("JLPT N4", 12), ("menjahit", 5), ("mengelas", 3)]
    assert [t.training.id for t in siti.gaps[2].trainings] == ["T-LAS"]


def test_a_requirement_no_course_teaches_is_reported_not_hidden(siti):
    sew = next(g for g in siti.gaps if g.need.label == "menjahit")
    assert sew.trainings == () and sew.unlocks == 5
    assert gaps_json(siti, lang="en")["gaps"][1]["no_training"] is True


def test_age_gender_and_non_procedural_jobs_are_never_gaps(siti):
    near = {n.vacancy_id for n in siti.near}
    assert not near & {"V-TW-MEN", "V-TW-YOUNG", "V-TW-BAD"}
    kinds = {g.need.kind for g in (*siti.gaps, *siti.not_trainable)}
    assert kinds <= {"language", "skill", "certificate", "education", "experience"}


def test_education_is_a_gap_but_not_a_short_course(siti):
    assert [(g.need.kind, g.need.label, g.unlocks) for g in siti.not_trainable] == [("education", "S1", 4)]
    assert (siti.eligible_vacancies, siti.eligible_positions) == (1, 2)


def test_gaps_json_and_unknown_worker(mk, siti):
    body = json.loads(json.dumps(gaps_json(siti, lang="id", trainings=1)))
    assert body["gaps"][0]["text"] == "bahasa: Jepang JLPT N4" and len(body["gaps"][0]["trainings"]) == 1
    with pytest.raises(NotFound):
        worker_gaps(mk, "W-NOBODY")


# --- a region --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def region(mk):
    return plan_region(mk, Scope("35", date(2026, 11, 1), date(2027, 6, 30)), budget=1_500_000)


def test_demand_leaves_out_non_procedural_job_orders_and_keeps_to_the_region(region):
    assert "V-TW-BAD" not in region.job_orders
    assert region.summary.flagged_vacancies == 1 and region.summary.flagged_positions == 50
    assert "W-LPG" not in region.regions and region.summary.workers == 5


def test_the_plan_respects_budget_and_seats_and_reports_the_fills(region):
    plan = region.plan
    assert check_plan(region.problem, plan) == []
    assert plan.optimal and plan.cost == 1_000_000 and plan.trainees == {"T-N4": plan.trainees["T-N4"]}
    assert len(plan.trainees["T-N4"]) == 1 and plan.added == 1 and plan.cost_per_fill == 1_000_000
    assert plan.fills_by_course() == {"T-N4": {"V-JP-N4": 1}}


def test_gap_table_has_known_numbers(region):
    rows = {(r.dimension, r.label): r for r in region.rows}
    n4 = rows[("language", "Japanese JLPT N4")]
    assert (n4.positions, n4.filled, n4.with_plan, n4.trainings, n4.status) == (32, 1, 2, 2, "train")
    sew = rows[("skill", "menjahit")]
    assert (sew.positions, sew.filled, sew.unfilled, sew.trainings, sew.status) == (5, 0, 5, 0, "no training")
    assert region.rows[0].unfilled == max(r.unfilled for r in region.rows)


def test_prefilter_keeps_every_pair_the_reference_keeps(mk):
    a = assess(mk, Scope(None, date(2026, 11, 1)))
    for vpos in a.vacancies:
        for wpos in a.workers:
            needs = mk.needs(wpos, vpos, _ctx(mk, a.as_of))
            assert (needs == ()) == (wpos in a.eligible.get(vpos, ()))
            assert (needs is not None and 0 < len(needs) <= 2) == ((wpos, vpos) in a.near)


def _ctx(mk, day):
    from sepadan.matching.eligibility import Context

    return Context(day, mk.ctx.agencies, mk.ctx.rules)


def test_exports_csv_xlsx_and_a_self_contained_report(region, tmp_path):
    from openpyxl import load_workbook

    sheets = region_sheets(region, "en")
    paths = write_csv(tmp_path / "plan.csv", sheets)
    assert [p.name for p in paths] == ["plan.csv", "plan-summary.csv", "plan-plan.csv", "plan-trainees.csv"]
    assert paths[0].read_text(encoding="utf-8").startswith("dimension,key,requirement,")
    book = load_workbook(write_xlsx(tmp_path / "plan.xlsx", sheets))
    assert book.sheetnames == ["summary", "gaps", "plan", "trainees"]
    page = write_report(tmp_path / "report", region, lang="en").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3 and "src='http" not in page
    assert (tmp_path / "report" / "plan.png").read_bytes()[:4] == b"\x89PNG"
    assert region_json(region)["summary"]["added_fills"] == 1


def test_cli_commands_with_a_fake_engine(engine, tmp_path, monkeypatch):
    import sepadan.cli.planning as cli_planning

    @contextmanager
    def fake(home, today=None):
        yield engine

    monkeypatch.setattr(cli_planning, "_engine", fake)
    app = typer.Typer()
    app.callback()(lambda: None)
    cli_planning.register(app)
    runner = CliRunner()
    result = runner.invoke(app, ["gaps", "W-SITI", "--lang", "en", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["gaps"][0]["label"] == "Japanese JLPT N4"
    result = runner.invoke(
        app,
        [
            "plan", "--region", "35", "--from", "2026-11-01", "--to", "2027-06-30", "--budget", "1500000", "--xlsx",
            str(tmp_path / "p.xlsx"), "--lang", "en",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "+1 positions filled" in result.output and (tmp_path / "p.xlsx").exists()


# --- the optimiser ---------------------------------------------------------------------------


def test_milp_prefers_the_cheaper_course_that_fills_as_much():
    problem = PlanProblem(
        (Course("DEAR", 5, 10.0), Course("CHEAP", 5, 1.0)),
        {"V": 2},
        (
            Candidate("a", near={"V": frozenset({"DEAR", "CHEAP"})}),
            Candidate("b", near={"V": frozenset({"DEAR", "CHEAP"})}),
        ),
        budget=100,
    )
    plan = solve_milp(problem)
    assert plan.fills == 2 and plan.cost == 2.0 and set(plan.trainees) == {"CHEAP"}


@st.composite
def problems(draw, max_workers: int = 4):
    courses = tuple(
        Course(f"C{i}", draw(st.integers(0, 3)), float(draw(st.sampled_from([0, 1, 2, 5]))))
        for i in range(draw(st.integers(1, 2)))
    )
    openings = {f"V{i}": draw(st.integers(0, 3)) for i in range(draw(st.integers(1, 3)))}
    vs, cs = sorted(openings), [c.id for c in courses]
    cands = []
    for w in range(draw(st.integers(1, max_workers))):
        eligible = frozenset(draw(st.lists(st.sampled_from(vs), unique=True, max_size=2)))
        near = {
            v: frozenset(draw(st.lists(st.sampled_from(cs), unique=True, min_size=1)))
            for v in draw(st.lists(st.sampled_from(vs), unique=True, max_size=2)) if v not in eligible
        }
        cands.append(Candidate(f"W{w}", eligible, near))
    budget = draw(st.one_of(st.none(), st.integers(0, 8).map(float)))
    return PlanProblem(courses, openings, tuple(cands), budget)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_plans_never_exceed_seats_or_budget_and_milp_is_optimal(problem):
    exact, greedy = solve_milp(problem), solve_greedy(problem)
    assert check_plan(problem, exact) == [] and check_plan(problem, greedy) == []
    assert exact.fills == brute_force(problem)
    assert greedy.fills <= exact.fills <= lp_bound(problem) + 1e-6
    assert greedy.baseline == exact.baseline <= exact.fills
    assert solve(problem, method="auto").fills == exact.fills


def brute_force(problem: PlanProblem) -> int:
    """Every way to send each worker to no course or one of theirs; the best matching of each."""
    seats = {c.id: c.seats for c in problem.courses}
    cost = {c.id: c.cost for c in problem.courses}
    options = [[None, *sorted({c for cs in w.near.values() for c in cs})] for w in problem.candidates]
    best = 0
    for choice in itertools.product(*options):
        used = [c for c in choice if c is not None]
        if any(used.count(c) > seats[c] for c in set(used)):
            continue
        if problem.budget is not None and sum(cost[c] for c in used) > problem.budget:
            continue
        edges = [
            set(w.eligible) | ({v for v, cs in w.near.items() if c in cs} if c else set())
            for w, c in zip(problem.candidates, choice, strict=True)
        ]
        best = max(best, matching(edges, problem.openings))
    return best


def matching(edges: list[set[str]], openings: dict[str, int]) -> int:
    slots = [(v, i) for v, n in sorted(openings.items()) for i in range(n)]
    owner: dict[tuple[str, int], int] = {}

    def augment(w: int, seen: set) -> bool:
        for slot in slots:
            if slot[0] in edges[w] and slot not in seen:
                seen.add(slot)
                if slot not in owner or augment(owner[slot], seen):
                    owner[slot] = w
                    return True
        return False

    return sum(augment(w, set()) for w in range(len(edges)))


def test_need_text_in_both_languages():
    from sepadan.records import LanguageReq

    need = Need("language", "language:ja:JLPT N4", "JLPT N4", langs=((LanguageReq("ja", "JLPT", "N4"),),))
    assert need.text("id") == "bahasa: Jepang JLPT N4" and need.text("en") == "language: Japanese JLPT N4"


def test_the_gap_report_without_a_plan_agrees_with_the_plans_gap_table(mk):
    """The dashboard's view (no plan solved) shows the same demand, supply and filled positions."""
    from sepadan.planning.demand import gap_report

    summary, rows = gap_report(mk, Scope(region="35"))
    rp = plan_region(mk, Scope(region="35"))
    assert summary == rp.summary
    assert [(r.key, r.positions, r.filled, r.unfilled) for r in rows] == [
        (r.key, r.positions, r.filled, r.unfilled) for r in rp.rows]
