"""The demo's hiring process: whom officers showed, whom employers interviewed and hired.

:func:`simulate` turns the generated workers and vacancies into outcome rows by a process a reader
can check (``data/demo/README.md`` states it with the figures it produced):

1. **Job orders in recruitment**: each vacancy open on ``today`` through a legal channel (the
   eligibility rules' vacancy checks), anchors left out, with chance :attr:`Hiring.share`.
2. **Eligible pool**: the workers every hard rule admits (:class:`sepadan.matching.table.WorkerTable`,
   each shown pair checked again with :func:`~sepadan.matching.eligibility.check_pair`), on
   profiles built without an embedding model (lexicon and ESCO labels only), so the generator
   needs no model. Rounds are run in the order they began; a worker hired before a round began
   is out of its pool, and one hired in a round that began earlier but on or after this one began
   withdraws if shown (placed elsewhere).
3. **Officers' ranking**: the transparent scorer's components without the embedding part
   (profile cosine 0): skills, language, experience, training, readiness, preference, weighted by
   :attr:`Hiring.officer_weights` (fixed: the scorer's weights when the demo outcomes were made, so
   later tuning of the product's scorer leaves the generator's officers as they were); plus
   Gaussian noise (``officer_noise``) for what an officer reads in a file.
4. **Position bias**: the worker at rank ``r`` is shown to the employer (a ``shortlisted`` row)
   with probability ``min(1, (r0 / r) ** eta)``, never below rank ``max_rank``. Only shown
   workers get outcomes; each ``shortlisted`` row records the rank it was shown at
   (``shown_rank``, the outcome contract's optional field), which inverse-propensity weighting reads.
5. **Employer's hidden preference**: ``u = w_experience * min(years beyond the minimum, 5) / 5 +
   w_language * min(language margin, 2) / 2 + w_training * recency of the most recent relevant
   course (1 just finished, 0 at 3 years) + w_skills * share of required skills held -
   w_distance * distance`` (domestic jobs only: 0 same regency, 0.5 same province, 1 elsewhere;
   the ranker's ``home_distance`` feature reads this relation, never a region), plus Gaussian
   noise ``noise`` per pair. Interviewed with probability ``sigmoid(slope * (u - interview_at))``;
   the interviewed, best ``u`` first, are hired with probability ``sigmoid(slope * (u - hire_at))``
   while positions remain; a hired worker departs with probability ``sigmoid(slope * u + 1)`` and
   completes the contract with 0.15. Whoever stops is ``rejected`` (70%) or ``withdrew`` (30%).
6. **Exceptions**: on a share ``walk_in_share`` of the domestic job orders in recruitment, one
   walk-in applicant whom exactly one waivable hard rule (experience or education) excludes is
   considered too (the employer waived it). These are the only outcome pairs that break a hard
   rule, and :attr:`HiringReport.exceptions` counts them.

Dates: a recruitment round starts 30 to 200 days before ``today``; stages follow at the intervals
of :data:`STEP_DAYS`, and a stage that would fall on or after ``today`` is not written.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

STEP_DAYS = {"interviewed": (5, 25), "hired": (3, 30), "departed": (30, 120), "completed": (400, 730)}
WAIVABLE = frozenset({"experience", "education"})


@dataclass(frozen=True, slots=True)
class Hiring:
    """The parameters of the hiring process (module docstring, steps 1 to 6)."""

    share: float = 0.8
    officer_noise: float = 0.03
    r0: float = 5.0
    eta: float = 1.5
    max_rank: int = 60
    w_experience: float = 1.5
    w_language: float = 1.0
    w_training: float = 1.0
    w_skills: float = 1.0
    w_distance: float = 0.8
    noise: float = 0.35
    slope: float = 3.0
    interview_at: float = 1.3
    hire_at: float = 1.9
    walk_in_share: float = 0.3
    # The officers' weights of the transparent components (step 3), fixed here: the weights the
    # demo outcomes were made with (the scorer's before 3 December 2026), so tuning the product's
    # scorer does not change whom the generator's officers showed.
    officer_weights: tuple[tuple[str, float], ...] = (
        ("skills", 0.35), ("language", 0.10), ("experience", 0.10), ("training", 0.10), ("readiness", 0.10),
        ("preference", 0.05))

    def shown_chance(self, rank: int) -> float:
        return 0.0 if rank > self.max_rank else min(1.0, (self.r0 / rank) ** self.eta)


@dataclass(slots=True)
class HiringReport:
    """What the simulation did, in counts (no ids)."""

    job_orders: int = 0
    pool_sizes: list[int] = field(default_factory=list)
    shown: int = 0
    interviewed: int = 0
    hired: int = 0
    exceptions: int = 0
    rank_of: dict[tuple[int, int], int] = field(default_factory=dict)  # (vacancy, worker): officers' rank
    hired_ranks: list[int] = field(default_factory=list)  # the officers' rank of each hire (walk-ins: 0)

    def as_dict(self) -> dict[str, float]:
        pools = np.array(self.pool_sizes or [0])
        ranks = np.array([r for r in self.hired_ranks if r > 0] or [0])
        return {"job_orders": self.job_orders, "shown": self.shown, "interviewed": self.interviewed,
                "hired": self.hired, "exceptions": self.exceptions,
                "pool_median": float(np.median(pools)), "pool_mean": round(float(pools.mean()), 1),
                "hired_in_officers_top_10": round(float((ranks <= 10).mean()), 3),
                "hired_in_officers_top_30": round(float((ranks <= 30).mean()), 3)}


def simulate(rng: random.Random, rows: dict[str, list[dict]], *, today: date, skip_workers: Iterable[str],
             skip_vacancies: Iterable[str], params: Hiring = Hiring(), data_dir: Path | None = None
             ) -> tuple[list[dict], HiringReport]:
    """Outcome rows for the generated ``rows`` (agencies, trainings, workers, vacancies)."""
    market = _Market(rows, today, data_dir, frozenset(skip_workers))
    report, hired_on, out = HiringReport(), {}, []
    skip = frozenset(skip_vacancies)
    rounds = []
    for vi, v in enumerate(market.vacancies):
        if v.id in skip or not market.recruiting(vi) or rng.random() >= params.share:
            continue
        rounds.append((today - timedelta(days=rng.randint(30, 200)), vi))
    for start, vi in sorted(rounds):  # in the order the rounds began, so "hired before" follows the dates
        v = market.vacancies[vi]
        report.job_orders += 1
        pool = [p for p in market.pool(vi) if not (p in hired_on and hired_on[p] < start)]
        report.pool_sizes.append(len(pool))
        shown = _shown(rng, market, vi, pool, params, report)
        if not v.overseas and rng.random() < params.walk_in_share:
            walk_in = market.walk_in(rng, vi, set(hired_on))
            if walk_in is not None:
                shown.append(walk_in)
                report.exceptions += 1
        out += _round(rng, market, vi, start, shown, hired_on, params, report)
    return out, report


def _shown(rng: random.Random, market: _Market, vi: int, pool: list[int], params: Hiring,
           report: HiringReport) -> list[int]:
    """The pool ranked by the officers' relevance; each rank shown with the position-bias chance."""
    weights = dict(params.officer_weights)
    keyed = sorted((-(market.relevance(wi, vi, weights) + rng.gauss(0.0, params.officer_noise)), wi) for wi in pool)
    shown = []
    for rank, (_, wi) in enumerate(keyed, start=1):
        if rng.random() < params.shown_chance(rank):
            shown.append(wi)
            report.rank_of[(vi, wi)] = rank
    return shown


def _round(rng: random.Random, market: _Market, vi: int, start: date, shown: list[int], hired_on: dict[int, date],
           params: Hiring, report: HiringReport) -> list[dict]:
    """One recruitment round: every shown worker's stages, the best hidden utility hired first. A
    shown worker hired in a round that began earlier (on or after this one began) withdraws."""
    utility = {wi: market.utility(wi, vi, params) + rng.gauss(0.0, params.noise) for wi in shown}
    positions = market.vacancies[vi].positions or 1
    rows = []
    for wi in sorted(shown, key=lambda w: (-utility[w], w)):
        day = start + timedelta(days=rng.randint(0, 10))
        if wi in hired_on:
            stages = _withdrawn(rng, day, market.today)
        else:
            stages = _stages(rng, utility[wi], day, market.today, params, can_hire=positions > 0)
        report.shown += 1
        report.interviewed += any(s == "interviewed" for s, _ in stages)
        hire = [d for s, d in stages if s == "hired"]
        if hire:
            report.hired += 1
            report.hired_ranks.append(report.rank_of.get((vi, wi), 0))
            positions -= 1
            hired_on[wi] = hire[0]
        worker_id, vacancy_id = market.workers[wi].id, market.vacancies[vi].id
        rank = report.rank_of.get((vi, wi))  # None for a walk-in: on no officer's list
        rows += [{"worker_id": worker_id, "vacancy_id": vacancy_id, "stage": s, "date": d.isoformat(),
                  **({"shown_rank": rank} if s == "shortlisted" and rank is not None else {})}
                 for s, d in stages]
    return rows


def _withdrawn(rng: random.Random, day: date, today: date) -> list[tuple[str, date]]:
    """``shortlisted`` on ``day``, then ``withdrew`` (placed elsewhere) before the interview."""
    later = day + timedelta(days=rng.randint(*STEP_DAYS["interviewed"]))
    return [("shortlisted", day)] + ([("withdrew", later)] if later < today else [])


def _stages(rng: random.Random, u: float, day: date, today: date, params: Hiring, *,
            can_hire: bool) -> list[tuple[str, date]]:
    """``shortlisted`` on ``day``, then as far as the pair gets before ``today``."""
    chances = (("interviewed", _sigmoid(params.slope * (u - params.interview_at))),
               ("hired", _sigmoid(params.slope * (u - params.hire_at)) if can_hire else 0.0),
               ("departed", _sigmoid(params.slope * u + 1.0)), ("completed", 0.15))
    stages = [("shortlisted", day)]
    for stage, chance in chances:
        day += timedelta(days=rng.randint(*STEP_DAYS[stage]))
        if day >= today:
            break
        if rng.random() < chance:
            stages.append((stage, day))
            continue
        if stage != "completed":
            quit_ = stage == "departed" or rng.random() < 0.3
            stages.append(("withdrew" if quit_ else "rejected", day))
        break
    return stages


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


class _Market:
    """The generated rows as the engine's records and profiles (no embedding model), with the
    eligibility table, the officers' relevance and the employers' hidden utility."""

    def __init__(self, rows: dict[str, list[dict]], today: date, data_dir: Path | None,
                 skip_workers: frozenset[str]) -> None:
        from sepadan import contract
        from sepadan.features.lexicon import load_lexicon
        from sepadan.features.occupations import OccupationNormaliser
        from sepadan.features.profiles import Profiler
        from sepadan.features.skills import SkillNormaliser
        from sepadan.features.taxonomy import default_data_dir, load_taxonomy
        from sepadan.matching.eligibility import Context
        from sepadan.matching.rules import load_rules
        from sepadan.matching.scorer import TransparentScorer
        from sepadan.matching.table import WorkerTable

        folder = Path(data_dir or default_data_dir())
        taxonomy = load_taxonomy(folder)
        lexicon = load_lexicon(taxonomy, folder)

        def records(kind: str) -> list:
            return [contract.MODELS[kind].model_validate(r, context={"today": today}).to_record()
                    for r in rows[kind]]

        self.today = today
        self.workers, self.vacancies = records("workers"), records("vacancies")
        profiler = Profiler(SkillNormaliser(taxonomy, lexicon, None), OccupationNormaliser(taxonomy, lexicon, None),
                            None)  # type: ignore[arg-type]  # no encoder: profiles only, no vectors
        profiler.prepare(self.workers, self.vacancies)
        self.wprof = [profiler.worker(w) for w in self.workers]
        self.vprof = [profiler.vacancy(v) for v in self.vacancies]
        agencies = {a.licence: a for a in records("agencies")}
        self.ctx = Context(today, agencies, load_rules(folder / "rules" / "programmes.json"))
        self.table = WorkerTable(self.workers, self.wprof)
        self.scorer = TransparentScorer(taxonomy)
        self.skip = np.array([w.id in skip_workers for w in self.workers], dtype=bool)
        self._checks: dict[tuple[int, int], list] = {}

    def recruiting(self, vi: int) -> bool:
        from sepadan.matching.eligibility import vacancy_checks

        return all(c.ok for c in vacancy_checks(self.vacancies[vi], self.ctx))

    def pool(self, vi: int) -> list[int]:
        mask = self.table.mask(self.vacancies[vi], self.vprof[vi], self.ctx) & ~self.skip
        return [int(p) for p in np.flatnonzero(mask)]

    def checks(self, wi: int, vi: int) -> list:
        from sepadan.matching.eligibility import check_pair

        key = (wi, vi)
        if key not in self._checks:
            self._checks[key] = check_pair(self.workers[wi], self.wprof[wi], self.vacancies[vi], self.vprof[vi],
                                           self.ctx)
        return self._checks[key]

    def pair(self, wi: int, vi: int):
        from sepadan.matching.scorer import Pair

        return Pair(self.workers[wi], self.wprof[wi], self.vacancies[vi], self.vprof[vi], 0.0, self.checks(wi, vi))

    def relevance(self, wi: int, vi: int, weights: dict[str, float] | None = None) -> float:
        """The weighted mean of the transparent scorer's components without the embedding one, by
        ``weights`` (None: the default :attr:`Hiring.officer_weights`)."""
        comps, _, _ = self.scorer.components(self.pair(wi, vi), self.ctx)
        comps.pop("semantic", None)
        weights = weights or dict(Hiring().officer_weights)
        return sum(weights[k] * c for k, c in comps.items()) / sum(weights[k] for k in comps)

    def utility(self, wi: int, vi: int, params: Hiring) -> float:
        w, wp, v, vp = self.workers[wi], self.wprof[wi], self.vacancies[vi], self.vprof[vi]
        return (params.w_experience * self._experience_beyond(wp, v, vp)
                + params.w_language * self._language_margin(wi, vi)
                + params.w_training * self._training_recency(w, wp, vp)
                + params.w_skills * _required_share(wp, vp) - params.w_distance * _distance(w, v))

    def walk_in(self, rng: random.Random, vi: int, hired: set[int]) -> int | None:
        """A worker whom exactly one waivable hard rule excludes from vacancy ``vi``, or None."""
        from sepadan.matching.eligibility import failed

        v = self.vacancies[vi]
        relaxed = replace(v, experience_years_min=None, education_min=None)
        near = np.flatnonzero(self.table.mask(relaxed, self.vprof[vi], self.ctx) & ~self.skip)
        near = [int(p) for p in near if int(p) not in hired]
        rng.shuffle(near)
        for wi in near[:50]:
            rules = {c.rule for c in failed(self.checks(wi, vi))}
            if len(rules) == 1 and rules <= WAIVABLE:
                return wi
        return None

    def _experience_beyond(self, wp, v, vp) -> float:
        from sepadan.matching.eligibility import relevant_years

        return min(5.0, max(0.0, relevant_years(wp, vp) - (v.experience_years_min or 0.0))) / 5.0

    def _language_margin(self, wi: int, vi: int) -> float:
        margins = [c.params.get("margin", 0) for c in self.checks(wi, vi) if c.rule == "language"]
        return min(2.0, max(0.0, float(min(margins)))) / 2.0 if margins else 0.0

    def _training_recency(self, w, wp, vp) -> float:
        wanted = {c.key for r in (*vp.required, *vp.preferred) for c in r.concepts}
        best = 0.0
        for concept, done in wp.training_skills:
            if concept.key in wanted and done.completed is not None:
                years = (self.today - done.completed).days / 365.25
                best = max(best, 1.0 - min(1.0, max(0.0, years) / 3.0))
        return best


def _required_share(wp, vp) -> float:
    if not vp.required:
        return 0.0
    held = wp.concept_keys()
    return sum(any(c.key in held for c in r.concepts) for r in vp.required) / len(vp.required)


def _distance(w, v) -> float:
    """Domestic jobs: 0 in the worker's regency, 0.5 in the same province, 1 elsewhere."""
    if v.overseas or not v.region or not w.region:
        return 0.0
    if w.region[:5] == v.region[:5]:
        return 0.0
    return 0.5 if w.region[:2] == v.region[:2] else 1.0
