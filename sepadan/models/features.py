"""Pair features for the learned ranker, and the allow-list of their names.

A ranker sees only what :data:`FEATURES` names (the learned ranker reads :data:`RANKER_FEATURES`,
those with a domain direction in :data:`DIRECTIONS`): the transparent scorer's components and score, and a
few more numbers about the pair (profile cosine, language margin, relevant years and the years beyond
the vacancy's minimum (up to five), required and preferred skills matched and missing, how recent the
latest training in a skill the job asks for is, and, for a job in Indonesia, how far it is from the
worker's home). Nothing here reads a worker's gender, birth date, name or NIK, and no feature depends
on an eligibility check that does (age, gender). The worker's region enters one feature only, and
only as its relation to the job's place (:func:`home_distance`: same regency, same province,
elsewhere, for a domestic job; never which region): the registered model's signature is this
allow-list, and a test holds both to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from sepadan.matching.eligibility import Context, check_pair, relevant_years
from sepadan.matching.matcher import Matcher
from sepadan.matching.scorer import Message, Pair, TransparentScorer
from sepadan.records import Vacancy

COMPONENTS = ("skills", "semantic", "language", "experience", "training", "readiness", "preference")
FEATURES: tuple[str, ...] = (
    "transparent_score",
    *COMPONENTS,
    "skills_applies",
    "language_applies",
    "readiness_applies",
    "cosine",
    "language_margin",
    "relevant_years",
    "experience_margin",
    "required_skills",
    "required_matched",
    "required_missing",
    "preferred_matched",
    "preferred_missing",
    "training_recency",
    "home_distance",
)
# The direction the domain gives each feature the ranker reads (+1: more never lowers the score;
# -1: less never lowers it). Features that only describe the vacancy (which components apply, how
# many skills it asks for) have no direction and are not read by the ranker.
DIRECTIONS: dict[str, int] = {
    "transparent_score": 1, "skills": 1, "semantic": 1, "language": 1, "experience": 1, "training": 1,
    "readiness": 1, "preference": 1, "cosine": 1, "language_margin": 1, "relevant_years": 1, "experience_margin": 1,
    "required_matched": 1, "required_missing": -1, "preferred_matched": 1, "preferred_missing": -1,
    "training_recency": 1, "home_distance": -1,
}
RANKER_FEATURES: tuple[str, ...] = tuple(n for n in FEATURES if n in DIRECTIONS)
# Words that must never name a feature (checked token by token on the names, in tests and on load).
PROTECTED = frozenset({"gender", "sex", "religion", "marital", "married", "name", "nik", "birth",
                       "age", "region", "province", "regency", "ethnicity"})
YEARS_CAP = 20.0
MARGIN_YEARS_CAP = 5.0  # relevant years beyond the vacancy's minimum count up to this many
# A course counts as recent for this many years (a BNSP competency certificate is valid for three).
RECENT_TRAINING_YEARS = 3.0
# home_distance of a domestic job: same regency, same province, another province; either place unknown.
SAME_REGENCY, SAME_PROVINCE, ELSEWHERE, UNKNOWN_PLACE = 0.0, 0.5, 1.0, 0.5


@dataclass(frozen=True, slots=True)
class PairFeatures:
    """One pair's feature values (by name) and the transparent scorer's explanation of it."""

    values: dict[str, float]
    transparent_score: float
    components: dict[str, float]
    reasons: tuple[Message, ...]
    gaps: tuple[Message, ...]

    def row(self, names: tuple[str, ...] = FEATURES) -> np.ndarray:
        return np.array([self.values[n] for n in names], dtype=np.float64)


def pair_features(pair: Pair, ctx: Context, scorer: TransparentScorer) -> PairFeatures:
    """The allow-listed features of one pair, from the transparent scorer's components and the checks."""
    comps, reasons, gaps = scorer.components(pair, ctx)
    transparent = _weighted(comps, scorer.weights)
    values = {name: float(comps.get(name, 0.0)) for name in COMPONENTS}
    values["transparent_score"] = transparent
    values["skills_applies"] = float("skills" in comps)
    values["language_applies"] = float("language" in comps)
    values["readiness_applies"] = float("readiness" in comps)
    values["cosine"] = float(pair.cosine)
    values["language_margin"] = _language_margin(pair)
    values["relevant_years"] = min(YEARS_CAP, relevant_years(pair.wp, pair.vp))
    beyond = values["relevant_years"] - (pair.vacancy.experience_years_min or 0.0)
    values["experience_margin"] = min(MARGIN_YEARS_CAP, max(0.0, beyond))
    values.update(_skill_counts(pair, gaps))
    values["training_recency"] = training_recency(pair, ctx.today)
    values["home_distance"] = home_distance(pair.worker.region, pair.vacancy)
    return PairFeatures(values, transparent, {k: round(v, 3) for k, v in comps.items()},
                        tuple(reasons), tuple(gaps))


def training_recency(pair: Pair, today: date) -> float:
    """How recent the latest completed course teaching a skill the vacancy asks for (required or
    preferred, the same ESCO concept) is: 1 finished today, falling linearly to 0 at
    :data:`RECENT_TRAINING_YEARS`; 0 with no such course or no completion date."""
    wanted = {c.key for r in (*pair.vp.required, *pair.vp.preferred) for c in r.concepts}
    best = 0.0
    for concept, training in pair.wp.training_skills:
        if concept.key in wanted and training.completed is not None:
            years = max(0.0, (today - training.completed).days / 365.25)
            best = max(best, 1.0 - min(1.0, years / RECENT_TRAINING_YEARS))
    return best


def home_distance(home: str | None, vacancy: Vacancy) -> float:
    """How far a domestic job is from the worker's home region: :data:`SAME_REGENCY` (0),
    :data:`SAME_PROVINCE` (0.5) or :data:`ELSEWHERE` (1), :data:`UNKNOWN_PLACE` (0.5) when either
    region is unknown; 0 for a job abroad (every candidate leaves home, so it separates nobody).
    Regions are Kemendagri codes: the province is the first part, the regency the first two."""
    if vacancy.overseas:
        return 0.0
    if not home or not vacancy.region:
        return UNKNOWN_PLACE
    mine, there = home.split("."), vacancy.region.split(".")
    if mine[0] != there[0]:
        return ELSEWHERE
    return SAME_REGENCY if len(mine) > 1 and mine[:2] == there[:2] else SAME_PROVINCE


def pair_for(matcher: Matcher, worker_id: str, vacancy_id: str) -> Pair:
    """The Pair the matcher would score for one worker and one vacancy (as ``Matcher.explain`` does)."""
    wpos = matcher.workers.position(worker_id, "worker")
    vpos = matcher.vacancies.position(vacancy_id, "vacancy")
    w, wp = matcher.workers.records[wpos], matcher.workers.profiles[wpos]
    v, vp = matcher.vacancies.records[vpos], matcher.vacancies.profiles[vpos]
    cosine = float(matcher.workers.index.vectors[wpos] @ matcher.vacancies.index.vectors[vpos])
    return Pair(w, wp, v, vp, cosine, check_pair(w, wp, v, vp, matcher.ctx))


def feature_matrix(rows: list[PairFeatures], names: tuple[str, ...] = FEATURES) -> np.ndarray:
    if not rows:
        return np.zeros((0, len(names)), dtype=np.float64)
    return np.vstack([r.row(names) for r in rows])


def protected_names(names: tuple[str, ...] | list[str]) -> list[str]:
    """The names among ``names`` that contain a protected word (split on ``_``, ``-``, ``.``, space)."""
    out = []
    for name in names:
        tokens = set(name.lower().replace("-", "_").replace(".", "_").replace(" ", "_").split("_"))
        if tokens & PROTECTED:
            out.append(name)
    return out


def _weighted(comps: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The transparent score, as :meth:`TransparentScorer.score` computes it."""
    norm = sum(weights[k] for k in comps)
    return round(sum(weights[k] * v for k, v in comps.items()) / norm, 4) if norm else 0.0


def _language_margin(pair: Pair) -> float:
    """The smallest margin (ordinal steps) over the vacancy's language requirements; 0 when none."""
    margins = [c.params.get("margin", 0) for c in pair.checks if c.rule == "language"]
    return float(min(margins)) if margins else 0.0


def _skill_counts(pair: Pair, gaps: list[Message] | tuple[Message, ...]) -> dict[str, float]:
    missing_req = sum(1 for key, _ in gaps if key == "skill_missing")
    missing_pref = sum(1 for key, _ in gaps if key == "preferred_missing")
    n_req, n_pref = len(pair.vp.required), len(pair.vp.preferred)
    return {"required_skills": float(n_req), "required_matched": float(n_req - missing_req),
            "required_missing": float(missing_req), "preferred_matched": float(n_pref - missing_pref),
            "preferred_missing": float(missing_pref)}
