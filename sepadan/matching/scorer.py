"""The transparent scorer: a weighted mean of components a person can read and check.

Components (each in [0, 1]; one that does not apply to a pair is left out and the weights renormalise):
skills (required and preferred covered, partial credit through the ESCO hierarchy), semantic
(cosine of the profile embeddings), language (margin over the required level), experience (years in
the same or a related ISCO group), training (relevance times recency), readiness (documents held for
an overseas job), preference (the worker's chosen countries and sectors).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sepadan.features.occupations import isco_similarity
from sepadan.features.profiles import Requirement, VacancyProfile, WorkerProfile
from sepadan.features.skills import Concept
from sepadan.features.taxonomy import Taxonomy
from sepadan.matching.eligibility import Check, Context, readiness
from sepadan.records import Preferences, Vacancy, Worker

WEIGHTS = {"skills": 0.35, "semantic": 0.50, "language": 0.10, "experience": 0.25,
           "training": 0.10, "readiness": 0.10, "preference": 0.05}
RELATED_CREDIT = 0.5
SIMILAR_FLOOR, SIMILAR_CAP = 0.65, 0.9
TRAINING_HALF_LIFE_YEARS = 3.0
_MEMO_MOST = 200_000  # entries a memo holds before it starts again (each a few hundred bytes: ~60 MB at most)
Message = tuple[str, dict[str, Any]]
# a requirement, its concept keys with the free-text fallback, without it, and in order
_Keys = tuple[Requirement, frozenset[str], frozenset[str], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Scored:
    score: float
    components: dict[str, float]
    reasons: tuple[Message, ...] = ()
    gaps: tuple[Message, ...] = ()


@dataclass(frozen=True, slots=True)
class Pair:
    """Everything the scorer may look at for one worker and one vacancy."""

    worker: Worker
    wp: WorkerProfile
    vacancy: Vacancy
    vp: VacancyProfile
    cosine: float
    checks: list[Check] = field(default_factory=list)


class TransparentScorer:
    version = "transparent-1"

    def __init__(self, taxonomy: Taxonomy, *, weights: dict[str, float] | None = None,
                 similarity: Callable[[str, str], float] | None = None) -> None:
        self.taxonomy = taxonomy
        self.weights = weights or WEIGHTS
        self.similarity = similarity
        self._credits: dict[tuple[str, tuple[str, ...]], float] = {}
        self._relevances: dict[tuple[str, tuple[tuple[str, ...], ...]], float] = {}
        self._requirements: dict[int, tuple[Requirement, frozenset[str], frozenset[str], tuple[str, ...]]] = {}

    def score(self, pair: Pair, ctx: Context) -> Scored:
        comps, reasons, gaps = self.components(pair, ctx)
        total = sum(self.weights[k] * v for k, v in comps.items())
        norm = sum(self.weights[k] for k in comps)
        return Scored(round(total / norm if norm else 0.0, 4), {k: round(v, 3) for k, v in comps.items()},
                      tuple(reasons), tuple(gaps))

    def components(self, pair: Pair, ctx: Context) -> tuple[dict[str, float], list[Message], list[Message]]:
        comps: dict[str, float] = {}
        reasons: list[Message] = [(c.key, c.params) for c in pair.checks if c.ok and c.rule == "language"]
        gaps: list[Message] = [(c.key, c.params) for c in pair.checks if not c.ok and not c.hard]
        skills = self._skills(pair, reasons, gaps)
        if skills is not None:
            comps["skills"] = skills
        comps["semantic"] = max(0.0, min(1.0, pair.cosine))
        if pair.vacancy.languages:
            comps["language"] = _language(pair.checks)
        comps["experience"] = self._experience(pair, reasons)
        comps["training"] = self._training(pair, ctx.today, reasons)
        ready = readiness(pair.worker, pair.vacancy, ctx)
        if ready is not None:
            comps["readiness"] = ready
        comps["preference"] = _preference(pair, reasons)
        if comps["semantic"] >= 0.5:
            reasons.append(("semantic", {"score": f"{comps['semantic']:.2f}"}))
        return comps, reasons, gaps

    def _skills(self, pair: Pair, reasons: list[Message], gaps: list[Message]) -> float | None:
        have = list(pair.wp.skills) + [c for c, _ in pair.wp.training_skills]
        keys = tuple(c.key for c in have)
        req = [self._cover(r, have, keys, reasons, gaps, "skill_missing") for r in pair.vp.required]
        pref = [self._cover(r, have, keys, reasons, gaps, "preferred_missing") for r in pair.vp.preferred]
        if not req and not pref:
            return None
        if not pref:
            return sum(req) / len(req)
        if not req:
            return sum(pref) / len(pref)
        return 0.75 * sum(req) / len(req) + 0.25 * sum(pref) / len(pref)

    def _cover(self, r: Requirement, have: list[Concept], keys: tuple[str, ...], reasons: list[Message],
               gaps: list[Message], missing_key: str) -> float:
        held = self._keys(r)
        which, credit = self._covering(held, have, keys)
        if which >= 0 and credit == 1.0 and keys[which] in held[1]:
            c = have[which]
            reasons.append(("skill_exact", {"skill": c.label, "phrase": c.phrase, "skill_uri": c.uri}))
        elif which >= 0:
            c = have[which]
            reasons.append(("skill_related", {"skill": c.label, "need": _label(r), "skill_uri": c.uri,
                                              "need_uri": _uri(r)}))
        else:
            gaps.append((missing_key, {"skill": _label(r), "skill_uri": _uri(r)}))
        return credit

    def _covering(self, held: _Keys, have: list[Concept], keys: tuple[str, ...]) -> tuple[int, float]:
        """Which held concept covers a requirement (given as :meth:`_keys`) (the first exact one,
        else the first with the best partial credit; -1: none) and its credit."""
        wanted = held[1]
        for i, key in enumerate(keys):
            if key in wanted:
                return i, 1.0
        best, which = 0.0, -1
        for i, c in enumerate(have):
            credit = self._partial_to(c, held)
            if credit > best:
                best, which = credit, i
        return which, best

    def _partial(self, c: Concept, r: Requirement) -> float:
        """Credit for a skill near a required one: through the ESCO hierarchy or by meaning
        (a function of the concepts alone, so each combination is worked out once)."""
        return self._partial_to(c, self._keys(r))

    def _partial_to(self, c: Concept, held: _Keys) -> float:
        """:meth:`_partial` for a requirement given as :meth:`_keys`."""
        key = (c.key, held[3])
        credit = self._credits.get(key)
        if credit is None:
            credit = self._credits[key] = self._partial_credit(c, held[0])
            if len(self._credits) > _MEMO_MOST:
                self._credits.clear()
        return credit

    def _keys(self, r: Requirement) -> _Keys:
        """A requirement's concept keys (with the free-text fallback, without it, in order), worked out
        once per requirement object: a shortlist scores hundreds of workers against the same few.
        The entry holds the requirement, so its id is not reused while cached."""
        held = self._requirements.get(id(r))
        if held is None or held[0] is not r:
            keys = tuple(w.key for w in r.concepts)
            held = (r, frozenset(keys) or frozenset({f"free:{r.phrase}"}), frozenset(keys), keys)
            if len(self._requirements) > 100_000:
                self._requirements.clear()
            self._requirements[id(r)] = held
        return held

    def _partial_credit(self, c: Concept, r: Requirement) -> float:
        credit = RELATED_CREDIT if c.uri and any(
            w.uri and self.taxonomy.related(c.uri, w.uri) for w in r.concepts) else 0.0
        if self.similarity is not None:
            for w in r.concepts or ():
                sim = self.similarity(c.label, w.label)
                if sim >= SIMILAR_FLOOR:
                    credit = max(credit, min(SIMILAR_CAP, sim))
        return credit

    def _experience(self, pair: Pair, reasons: list[Message]) -> float:
        target = pair.vp.occupation.isco
        need = max(pair.vacancy.experience_years_min or 0.0, 2.0)
        credit = 0.0
        for match, years in pair.wp.occupations:
            sim = isco_similarity(match.isco, target) if target else 0.0
            if sim > 0 and years > 0:
                reasons.append(("experience_related", {"years": _years(years), "job": match.text}))
            credit += sim * years
        return min(1.0, credit / need)

    def _training(self, pair: Pair, today: date, reasons: list[Message]) -> float:
        best, best_training = 0.0, None
        if not pair.worker.trainings:
            return best
        wanted = [self._keys(r) for r in (*pair.vp.required, *pair.vp.preferred)]
        sig = tuple(held[3] for held in wanted)
        for training in pair.worker.trainings:
            taught = [c for c, done in pair.wp.training_skills if done is training]
            relevance = max((self._best_relevance(c, wanted, sig) for c in taught), default=0.0)
            value = relevance * _recency(training.completed, today)
            if value > best:
                best, best_training = value, training
        if best_training is not None and best >= 0.25:
            reasons.append(("training_relevant", {"title": best_training.title or best_training.program_id,
                                                  "hours": _years(best_training.hours or 0)}))
        return best

    def _best_relevance(self, c: Concept, wanted: list[_Keys], sig: tuple[tuple[str, ...], ...]) -> float:
        """The best relevance of a taught concept to any of the requirements ``wanted`` (``sig``:
        their concept keys, which decide it), worked out once per concept and set of requirements."""
        key = (c.key, sig)
        best = self._relevances.get(key)
        if best is None:
            best = max((self._relevance(c, held) for held in wanted), default=0.0)
            if len(self._relevances) > _MEMO_MOST:
                self._relevances.clear()
            self._relevances[key] = best
        return best

    def _relevance(self, c: Concept, held: _Keys) -> float:
        return 1.0 if c.key in held[2] else self._partial_to(c, held)


def _language(checks: list[Check]) -> float:
    margins = [c.params.get("margin", 0) for c in checks if c.rule == "language"]
    if any(not c.ok for c in checks if c.rule == "language"):
        return 0.0
    return min(1.0, 0.75 + 0.25 * min(margins, default=0))


def _preference(pair: Pair, reasons: list[Message]) -> float:
    value = preference_of(pair.worker.preferences, pair.vacancy)
    if value == PREFERENCE_HIT:
        reasons.append(("preference_match", {}))
    return value


PREFERENCE_HIT = 1.0


def preference_of(prefs: Preferences, v: Vacancy) -> float:
    """The preference component: 0.5 without preferences, 1.0 where the vacancy meets one (sector,
    overseas country, or domestic work), else 0.25 (the batch scorer reads the same function)."""
    if not prefs.countries and not prefs.sectors and prefs.domestic is None:
        return 0.5
    hit = (v.sector in prefs.sectors) or (v.overseas and v.country in prefs.countries) \
        or (not v.overseas and prefs.domestic is True)
    return PREFERENCE_HIT if hit else 0.25


def _recency(completed: date | None, today: date) -> float:
    if completed is None:
        return 0.5
    years = max(0.0, (today - completed).days / 365.25)
    return 0.5 ** (years / TRAINING_HALF_LIFE_YEARS)


def _label(r: Requirement) -> str:
    return r.concepts[0].label if r.concepts else r.phrase


def _uri(r: Requirement) -> str | None:
    """The URI behind :func:`_label` (None for free text), so messages can show its Indonesian label."""
    return r.concepts[0].uri if r.concepts else None


def _years(value: float) -> str:
    return f"{value:g}"
