"""The worker pool as columns, so the hard eligibility rules run as array operations.

This is the fast path of :func:`sepadan.matching.eligibility.check_pair` for shortlists over many
workers; a property test holds ``WorkerTable.mask`` equal to the reference for every pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from sepadan.features import education, languages
from sepadan.features.profiles import VacancyProfile, WorkerProfile
from sepadan.features.text import normalise_text
from sepadan.matching.eligibility import Context, agency_status, LEGIT
from sepadan.records import LanguageReq, Vacancy, Worker

_GENDER = {"F": 1, "M": 2}


class WorkerTable:
    def __init__(self, workers: Sequence[Worker], profiles: Sequence[WorkerProfile]) -> None:
        self.workers, self.profiles = workers, profiles
        self.n = len(workers)
        self.unavailable = np.array([w.available is False for w in workers], dtype=bool)
        births = [w.birth_date for w in workers]
        self.by = np.array([b.year if b else -1 for b in births], dtype=np.int32)
        self.bmd = np.array([b.month * 100 + b.day if b else -1 for b in births], dtype=np.int32)
        self.edu = np.array([_rank(w.education) for w in workers], dtype=np.int16)
        self.gender = np.array([_GENDER.get(w.gender or "", 0) for w in workers], dtype=np.int8)
        self.region = np.array([w.region or "" for w in workers], dtype=object)
        self.has_country_pref = np.array([bool(w.preferences.countries) for w in workers], dtype=bool)
        self.no_domestic = np.array([w.preferences.domestic is False for w in workers], dtype=bool)
        self._certs = [frozenset(normalise_text(c) for c in w.certificates) for w in workers]
        self._cache: dict[tuple, np.ndarray] = {}
        self._years_by_group: dict[str | None, np.ndarray] | None = None

    def mask(self, v: Vacancy, vp: VacancyProfile, ctx: Context) -> np.ndarray:
        """True where every hard rule holds for (worker, v)."""
        if v.open is False or (v.deadline is not None and v.deadline < ctx.today):
            return np.zeros(self.n, dtype=bool)
        if agency_status(v, ctx.agencies, ctx.today) not in LEGIT:
            return np.zeros(self.n, dtype=bool)
        ok = ~self.unavailable
        for req in v.languages:
            ok &= self.language_ok(req)
        ok &= self._age_ok(v.age_min, v.age_max, ctx.today)
        ok &= self._education_ok(v.education_min)
        if v.gender is not None:
            ok &= self.gender == _GENDER.get(v.gender, -1)
        for name in v.certificates_required:
            ok &= self.certificate_ok((name,))
        ok &= self._experience_ok(v, vp)
        ok &= self._programmes_ok(v, ctx)
        ok &= self._documents_ok(v, ctx)
        ok &= self._preferences_ok(v)
        return ok

    def language_ok(self, req: LanguageReq) -> np.ndarray:
        test = languages.canonical_test(req.test)
        need = int(req.min_level) if test == "EPS-TOPIK" and req.min_level.strip().isdigit() \
            else languages.ordinal(test, req.min_level)
        numeric = test == "EPS-TOPIK" and req.min_level.strip().isdigit()
        mode = ("eps_score" if numeric else "eps") if test in languages.STRICT_TESTS \
            else "any" if test == languages.SELF_TEST else "std"
        return self._levels(req.language, mode) >= need

    def _levels(self, language: str, mode: str) -> np.ndarray:
        key = ("lang", language, mode)
        if key not in self._cache:
            self._cache[key] = np.array([_best(w, language, mode) for w in self.workers], dtype=np.int32)
        return self._cache[key]

    def _age_ok(self, low: int | None, high: int | None, today: date) -> np.ndarray:
        if low is None and high is None:
            return np.ones(self.n, dtype=bool)
        age = today.year - self.by - (today.month * 100 + today.day < self.bmd)
        ok = self.by >= 0
        if low is not None:
            ok &= age >= low
        if high is not None:
            ok &= age <= high
        return ok

    def _education_ok(self, minimum: str | None) -> np.ndarray:
        if minimum is None:
            return np.ones(self.n, dtype=bool)
        return (self.edu >= 0) & (self.edu >= (education.education_rank(minimum) or 0))

    def certificate_ok(self, names: tuple[str, ...]) -> np.ndarray:
        key = ("cert", tuple(normalise_text(n) for n in names))
        if key not in self._cache:
            wanted = set(key[1])
            self._cache[key] = np.array([bool(c & wanted) for c in self._certs], dtype=bool)
        return self._cache[key]

    def _experience_ok(self, v: Vacancy, vp: VacancyProfile) -> np.ndarray:
        if not v.experience_years_min:
            return np.ones(self.n, dtype=bool)
        target = vp.occupation.isco
        return self._years(target[:3] if target else None) >= v.experience_years_min

    def _years(self, prefix3: str | None) -> np.ndarray:
        """Years of experience per worker in an ISCO-08 minor group (None: any job); every group
        is summed in one pass over the pool, the first time any is asked for."""
        if self._years_by_group is None:
            by_group: dict[str | None, np.ndarray] = {None: np.zeros(self.n, dtype=np.float64)}
            for i, p in enumerate(self.profiles):
                for m, y in p.occupations:
                    by_group[None][i] += y
                    group = (m.isco or "")[:3]
                    if group:
                        by_group.setdefault(group, np.zeros(self.n, dtype=np.float64))[i] += y
            self._years_by_group = by_group
        years = self._years_by_group.get(prefix3)
        return years if years is not None else np.zeros(self.n, dtype=np.float64)

    def _programmes_ok(self, v: Vacancy, ctx: Context) -> np.ndarray:
        ok = np.ones(self.n, dtype=bool)
        for rule in ctx.rules.for_vacancy(v):
            ok &= self._age_ok(rule.age_min, rule.age_max, ctx.today)
            if rule.languages_any:
                ok &= np.logical_or.reduce([self.language_ok(r) for r in rule.languages_any])
            certs = rule.certificates_for(v.sector)
            if certs:
                ok &= self.certificate_ok(certs)
        return ok

    def _documents_ok(self, v: Vacancy, ctx: Context) -> np.ndarray:
        ok = np.ones(self.n, dtype=bool)
        if not v.overseas or v.deadline is None:
            return ok
        days_left = (v.deadline - ctx.today).days
        for doc, lead in ctx.rules.document_lead_days.items():
            if days_left < lead:
                ok &= self._document(doc)
        return ok

    def _document(self, doc: str) -> np.ndarray:
        key = ("doc", doc)
        if key not in self._cache:
            self._cache[key] = np.array([w.documents.get(doc) is True for w in self.workers], dtype=bool)
        return self._cache[key]

    def _preferences_ok(self, v: Vacancy) -> np.ndarray:
        if not v.overseas:
            return ~self.no_domestic
        key = ("wants", v.country)
        if key not in self._cache:
            self._cache[key] = np.array([v.country in w.preferences.countries for w in self.workers], dtype=bool)
        return ~self.has_country_pref | self._cache[key]

    def in_region(self, scope: str) -> np.ndarray:
        return np.array([r == scope or r.startswith(scope + ".") for r in self.region], dtype=bool)


def _rank(level: str | None) -> int:
    rank = education.education_rank(level)
    return -1 if rank is None else rank


def _best(w: Worker, language: str, mode: str) -> int:
    best = 0
    for cred in w.languages:
        if cred.language != language:
            continue
        test = languages.canonical_test(cred.test)
        if mode.startswith("eps") and test != "EPS-TOPIK":
            continue
        if mode == "std" and test == languages.SELF_TEST:
            continue
        level = cred.level.strip()
        value = languages.eps_score(level) if mode == "eps_score" else _ordinal(test, level)
        best = max(best, value)
    return best


def _ordinal(test: str, level: str) -> int:
    try:
        return languages.ordinal(test, level)
    except ValueError:
        return 0
