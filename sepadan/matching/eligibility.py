"""Eligibility as rules over data: the vacancy's requirements, destination programme rules,
document readiness, the worker's preferences, and the agency's licence.

:func:`check_pair` is the reference: it returns every check with its outcome and the message that
explains it. :mod:`sepadan.matching.table` evaluates the same hard rules over arrays for speed, and
a property test holds the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sepadan.features import education, languages
from sepadan.features.occupations import isco_similarity
from sepadan.features.profiles import VacancyProfile, WorkerProfile
from sepadan.features.text import normalise_text
from sepadan.matching.rules import ProgrammeRule, RuleBook
from sepadan.records import Agency, Vacancy, Worker

LEGIT = frozenset({"active", "not_required"})
# Pure functions of a worker's fields that a shortlist asks of many workers, remembered by value
# (language outcome by credentials and requirement, certificates normalised, education ranks):
# each memo is cleared when it reaches this many entries.
_MEMO_MAX = 50_000
_MISSING = object()
_outcomes: dict[object, tuple[bool, dict[str, Any]]] = {}
_normalised: dict[object, frozenset[str]] = {}
_ranks: dict[object, int | None] = {}


def _memo(cache: dict, key: object, make: Any) -> Any:
    """``make()``, remembered under ``key`` (an unhashable key, such as a list where a tuple is
    usual, is worked out every time)."""
    try:
        value = cache.get(key, _MISSING)
    except TypeError:
        return make()
    if value is _MISSING:
        if len(cache) >= _MEMO_MAX:
            cache.clear()
        value = cache[key] = make()
    return value


@dataclass(frozen=True, slots=True)
class Check:
    """One rule applied to one pair. A failed hard check makes the pair ineligible; a soft one is a gap."""

    rule: str
    ok: bool
    hard: bool
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Context:
    today: date
    agencies: Mapping[str, Agency]
    rules: RuleBook


def age_on(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def agency_status(v: Vacancy, agencies: Mapping[str, Agency], today: date) -> str:
    """'active', 'not_required' (domestic jobs), or why the agency is a non-procedural risk."""
    if not v.overseas:
        return "not_required"
    agency = agencies.get(v.agency_licence or "")
    if agency is None:
        return "unknown"
    if agency.status in ("suspended", "revoked"):
        return agency.status
    if agency.valid_until is not None and agency.valid_until < today:
        return "expired"
    return "active" if agency.status == "active" else "unknown"


def vacancy_checks(v: Vacancy, ctx: Context) -> list[Check]:
    """Checks that depend on the vacancy alone: open, deadline, agency licence."""
    out = []
    if v.open is False or (v.deadline is not None and v.deadline < ctx.today):
        out.append(Check("open", False, True, "vacancy_closed", {"deadline": v.deadline}))
    status = agency_status(v, ctx.agencies, ctx.today)
    out.append(Check("agency", status in LEGIT, True, f"agency_{status}", {"licence": v.agency_licence}))
    return out


def check_pair(w: Worker, wp: WorkerProfile, v: Vacancy, vp: VacancyProfile, ctx: Context) -> list[Check]:
    """Every check for one worker and one vacancy, in a fixed order."""
    return [*vacancy_checks(v, ctx), *worker_checks(w, wp, v, vp, ctx)]


def worker_checks(w: Worker, wp: WorkerProfile, v: Vacancy, vp: VacancyProfile, ctx: Context, *,
                  programmes: tuple[ProgrammeRule, ...] | None = None) -> list[Check]:
    """The checks that depend on the worker (``programmes``: ``ctx.rules.for_vacancy(v)``, where
    the caller checks many workers against one vacancy and has worked them out)."""
    out: list[Check] = []
    if w.available is False:
        out.append(Check("available", False, True, "not_available"))
    out += [_language(w, req) for req in v.languages]
    out += _age(w, v.age_min, v.age_max, ctx.today, rule="age")
    out += _education(w, v)
    out += _gender(w, v)
    out += [_certificate(w, (name,), rule="certificate") for name in v.certificates_required]
    out += _experience(wp, v, vp)
    out += _programmes(w, v, ctx, ctx.rules.for_vacancy(v) if programmes is None else programmes)
    out += _documents(w, v, ctx)
    out += _preferences(w, v)
    return out


def eligible(checks: list[Check]) -> bool:
    return all(c.ok for c in checks if c.hard)


def failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.hard and not c.ok]


def _language(w: Worker, req: languages.LanguageReq) -> Check:
    ok, params = _memo(_outcomes, (w.languages, req), lambda: _language_outcome(w.languages, req))
    return Check("language", ok, True, "language_met" if ok else "language_unmet", dict(params))


def _language_outcome(creds: tuple, req: languages.LanguageReq) -> tuple[bool, dict[str, Any]]:
    ok, cred, margin = languages.meets(creds, req)
    return ok, {"need": languages.describe(req.test, req.min_level),
                "have": languages.describe(cred.test, cred.level) if cred else None, "margin": margin,
                "language": req.language}


def _age(w: Worker, low: int | None, high: int | None, today: date, *, rule: str) -> list[Check]:
    if low is None and high is None:
        return []
    age = age_on(w.birth_date, today)
    if age is None:
        return [Check(rule, False, True, "age_unknown", {"min": low, "max": high})]
    ok = (low is None or age >= low) and (high is None or age <= high)
    return [Check(rule, ok, True, "age_ok" if ok else "age_out", {"age": age, "min": low, "max": high})]


def _education(w: Worker, v: Vacancy) -> list[Check]:
    if v.education_min is None:
        return []
    have, need = _rank(w.education), _rank(v.education_min)
    if have is None:
        return [Check("education", False, True, "education_unknown", {"need": v.education_min})]
    ok = have >= (need or 0)
    return [Check("education", ok, True, "education_ok" if ok else "education_low",
                  {"have": w.education, "need": v.education_min})]


def _gender(w: Worker, v: Vacancy) -> list[Check]:
    if v.gender is None:
        return []
    ok = w.gender == v.gender
    return [Check("gender", ok, True, "gender_ok" if ok else "gender_other", {"need": v.gender})]


def _rank(level: str | None) -> int | None:
    return _memo(_ranks, level, lambda: education.education_rank(level))


def has_certificate(certs: tuple[str, ...], names: tuple[str, ...]) -> bool:
    held = _memo(_normalised, certs, lambda: frozenset(normalise_text(c) for c in certs))
    wanted = _memo(_normalised, names, lambda: frozenset(normalise_text(n) for n in names))
    return not held.isdisjoint(wanted)


def _certificate(w: Worker, names: tuple[str, ...], *, rule: str) -> Check:
    ok = has_certificate(w.certificates, names)
    return Check(rule, ok, True, "certificate_ok" if ok else "certificate_missing", {"name": names[0]})


def relevant_years(wp: WorkerProfile, vp: VacancyProfile) -> float:
    """Years of experience in the vacancy's occupation (same ISCO minor group), or all of it if unknown."""
    target = vp.occupation.isco
    if target is None:
        return float(sum(y for _, y in wp.occupations))
    return float(sum(y for m, y in wp.occupations if isco_similarity(m.isco, target) >= 0.6))


def _experience(wp: WorkerProfile, v: Vacancy, vp: VacancyProfile) -> list[Check]:
    if not v.experience_years_min:
        return []
    years = relevant_years(wp, vp)
    ok = years >= v.experience_years_min
    return [Check("experience", ok, True, "experience_ok" if ok else "experience_short",
                  {"years": round(years, 1), "need": v.experience_years_min})]


def _programmes(w: Worker, v: Vacancy, ctx: Context, rules: tuple[ProgrammeRule, ...]) -> list[Check]:
    out: list[Check] = []
    for rule in rules:
        name = f"programme:{rule.id}"
        out += _age(w, rule.age_min, rule.age_max, ctx.today, rule=name)
        if rule.languages_any:
            out.append(_any_language(w, rule.languages_any, name))
        certs = rule.certificates_for(v.sector)
        if certs:
            out.append(_certificate(w, certs, rule=name))
    return out


def _any_language(w: Worker, reqs: tuple[languages.LanguageReq, ...], rule: str) -> Check:
    results = [_language(w, r) for r in reqs]
    best = next((r for r in results if r.ok), results[0])
    need = " / ".join(r.params["need"] for r in results)
    return Check(rule, best.ok, True, best.key, {**best.params, "need": need})


def _documents(w: Worker, v: Vacancy, ctx: Context) -> list[Check]:
    """A document an overseas job needs and the worker lacks is a failed check: a soft one (a gap)
    while there is time to obtain it, a hard one when its lead time runs past the deadline."""
    if not v.overseas:
        return []
    days_left = (v.deadline - ctx.today).days if v.deadline else None
    out = []
    for doc, lead in ctx.rules.document_lead_days.items():
        if w.documents.get(doc) is True:
            continue
        late = days_left is not None and days_left < lead
        out.append(Check("documents", False, late, "document_late" if late else "document_missing",
                         {"document": doc, "days": lead}))
    return out


def _preferences(w: Worker, v: Vacancy) -> list[Check]:
    prefs = w.preferences
    if v.overseas and prefs.countries and v.country not in prefs.countries:
        return [Check("preference", False, True, "preference_country", {"country": v.country})]
    if not v.overseas and prefs.domestic is False:
        return [Check("preference", False, True, "preference_domestic")]
    return []


def readiness(w: Worker, v: Vacancy, ctx: Context) -> float | None:
    """Share of the documents an overseas job needs that the worker has; None for domestic jobs."""
    docs = ctx.rules.document_lead_days
    if not v.overseas or not docs:
        return None
    return sum(1 for d in docs if w.documents.get(d) is True) / len(docs)
