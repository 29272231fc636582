"""The transparent score of one vacancy against many workers at once, as array operations.

A shortlist scores a couple of hundred retrieved candidates and returns thirty: scoring each pair
through :class:`~sepadan.matching.scorer.TransparentScorer` (checks, components, reasons and gaps)
was 95% of a shortlist's time. :class:`BatchScorer` gives the same scores, to the last bit, from
columns of the worker pool (:class:`WorkerColumns`: held concepts, trainings, jobs, documents as
flat arrays) and the scorer's own pieces (requirement keys, partial credit, weights), with no
messages; the matcher then builds the full explanation only for the workers it returns. A test
holds both equal on many random pairs.

Exactness: every component is the same IEEE arithmetic in the same order as the scorer (sums
accumulated term by term, not by a pairwise ``np.sum``); the cosine and the final rounding go
through the very Python expressions the scorer uses.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from sepadan.features import languages
from sepadan.features.occupations import isco_similarity
from sepadan.features.profiles import Requirement, VacancyProfile, WorkerProfile
from sepadan.features.skills import Concept
from sepadan.matching import scorer as sc
from sepadan.matching.eligibility import Context
from sepadan.records import Preferences, Vacancy, Worker

log = logging.getLogger(__name__)
_CACHE_MAX = 20_000  # requirement credit rows kept (each one float per distinct concept)


@dataclass(frozen=True, slots=True)
class _Ragged:
    """Rows of variable length as one flat array and offsets (row i is values[ptr[i]:ptr[i+1]])."""

    ptr: np.ndarray  # int64, n + 1
    values: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[Sequence[float | int]], dtype: type) -> _Ragged:
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        flat = np.fromiter((x for r in rows for x in r), dtype=dtype, count=int(ptr[-1]))
        return cls(ptr, flat)

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions into ``values`` of the given rows' items, each item's index into ``rows``)."""
        starts, ends = self.ptr[rows], self.ptr[rows + 1]
        lengths = ends - starts
        owner = np.repeat(np.arange(len(rows)), lengths)
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return np.repeat(starts, lengths) + offsets, owner

    def slot(self, rows: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
        """(which of ``rows`` have a j-th item, the positions of those items)."""
        starts = self.ptr[rows]
        has = self.ptr[rows + 1] - starts > j
        return has, starts[has] + j


class WorkerColumns:
    """What the transparent score reads of each worker, as flat arrays over the pool's rows."""

    def __init__(self, records: Sequence[Worker], profiles: Sequence[WorkerProfile], *, today: date,
                 documents: Sequence[str]) -> None:
        self.n, self.today, self.documents = len(records), today, tuple(documents)
        self.concept_id: dict[str, int] = {}
        self.concepts: list[Concept] = []
        self.isco_id: dict[str | None, int] = {}
        self.iscos: list[str | None] = []
        sets: dict[tuple, int] = {}  # each distinct set of language credentials, numbered
        wants: dict[Preferences, int] = {}  # and each distinct set of preferences
        self.languages = np.empty(self.n, dtype=np.int64)
        self.preferences = np.empty(self.n, dtype=np.int64)
        held, trainings, taught, recency, jobs, years = [], [], [], [], [], []
        docs = np.zeros(self.n, dtype=np.int64)
        for i, (w, wp) in enumerate(zip(records, profiles, strict=True)):
            held.append(sorted({self._concept(c) for c in (*wp.skills, *(c for c, _ in wp.training_skills))}))
            row = []
            for t in w.trainings:
                taught.append([self._concept(c) for c, done in wp.training_skills if done is t])
                recency.append(sc._recency(t.completed, today))
                row.append(len(taught) - 1)
            trainings.append(row)
            jobs.append([self._isco(m.isco) for m, _ in wp.occupations])
            years.append([y for _, y in wp.occupations])
            docs[i] = sum(1 for d in self.documents if w.documents.get(d) is True)
            self.languages[i] = sets.setdefault(w.languages, len(sets))
            self.preferences[i] = wants.setdefault(w.preferences, len(wants))
        self.language_sets: list[tuple] = list(sets)
        self.preference_sets: list[Preferences] = list(wants)
        self.held = _Ragged.of(held, np.int64)
        self.trainings = _Ragged.of(trainings, np.int64)
        self.taught = _Ragged.of(taught, np.int64)
        self.recency = np.asarray(recency, dtype=np.float64)
        self.jobs = _Ragged.of(jobs, np.int64)
        self.years = _Ragged.of(years, np.float64).values
        self.docs_held = docs
        self.max_jobs = int(np.diff(self.jobs.ptr).max(initial=0))

    def _concept(self, c: Concept) -> int:
        cid = self.concept_id.get(c.key)
        if cid is None:
            cid = self.concept_id[c.key] = len(self.concepts)
            self.concepts.append(c)
        return cid

    def _isco(self, code: str | None) -> int:
        iid = self.isco_id.get(code)
        if iid is None:
            iid = self.isco_id[code] = len(self.iscos)
            self.iscos.append(code)
        return iid


class BatchScorer:
    """:meth:`TransparentScorer.score`'s ``score`` for one vacancy and many worker rows."""

    def __init__(self, scorer: sc.TransparentScorer, columns: WorkerColumns) -> None:
        self.scorer, self.columns = scorer, columns
        self._credit: dict[tuple, np.ndarray] = {}  # requirement -> credit of each concept (NaN: not yet)
        self._isco_sim: dict[str | None, np.ndarray] = {}
        self._language: dict[tuple, float] = {}  # (credential set, requirements) -> component
        self._lock = threading.Lock()

    def scores(self, rows: np.ndarray, vectors: np.ndarray, v: Vacancy, vp: VacancyProfile, vvec: np.ndarray,
               ctx: Context) -> list[float]:
        """The rounded score of each worker row against the vacancy, as the scorer gives it."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return []
        weights = self.scorer.weights
        comps: dict[str, np.ndarray] = {}
        skills = self._skills(rows, vp)
        if skills is not None:
            comps["skills"] = skills
        dot = vvec.dot  # numpy's BLAS dot of two vectors, as the scorer's ``wvec @ vvec``, called cheaper
        comps["semantic"] = np.clip([float(dot(vectors[p])) for p in rows.tolist()], 0.0, 1.0)
        if v.languages:
            comps["language"] = self._languages(rows, v)
        comps["experience"] = self._experience(rows, v, vp)
        comps["training"] = self._training(rows, vp)
        docs = ctx.rules.document_lead_days
        if v.overseas and docs:
            if tuple(docs) != self.columns.documents:
                raise ValueError("the worker columns were built for other documents")
            comps["readiness"] = self.columns.docs_held[rows] / len(docs)
        comps["preference"] = self._preferences(rows, v)
        total = np.zeros(len(rows), dtype=np.float64)
        norm = 0
        for key, values in comps.items():  # term by term, in the scorer's order
            total = total + weights[key] * values
            norm = norm + weights[key]
        if not norm:
            return [0.0] * len(rows)
        return [round(t, 4) for t in (total / norm).tolist()]

    def _skills(self, rows: np.ndarray, vp: VacancyProfile) -> np.ndarray | None:
        if not vp.required and not vp.preferred:
            return None
        at, owner = self.columns.held.gather(rows)
        ids = self.columns.held.values[at]
        req = [self._cover(len(rows), ids, owner, r) for r in vp.required]
        pref = [self._cover(len(rows), ids, owner, r) for r in vp.preferred]
        if not pref:
            return _mean(req)
        if not req:
            return _mean(pref)
        return 0.75 * _mean(req) + 0.25 * _mean(pref)

    def _cover(self, n: int, ids: np.ndarray, owner: np.ndarray, r: Requirement) -> np.ndarray:
        """Each worker's credit for a requirement: 1 where it holds a concept the requirement names,
        else the best partial credit of what it holds (0: none). As the scorer does, partial
        credit is worked out only for workers without an exact one."""
        wanted = self.scorer._keys(r)[1]
        exact_ids = [self.columns.concept_id[k] for k in wanted if k in self.columns.concept_id]
        out = np.zeros(n, dtype=np.float64)
        exact = np.zeros(n, dtype=bool)
        if exact_ids:
            exact[owner[np.isin(ids, exact_ids)]] = True
        rest = ~exact[owner]
        if rest.any():
            np.maximum.at(out, owner[rest], self._credits(r, ids[rest], exact_keys=1))
        out[exact] = 1.0
        return out

    def _credits(self, r: Requirement, ids: np.ndarray, exact_keys: int) -> np.ndarray:
        """Credit of each concept id for a requirement: 1.0 where its key is one the requirement
        names (``exact_keys`` 1: with the free-text fallback, as skills count; 2: without, as
        training relevance counts), else the scorer's partial credit (cached per requirement)."""
        held = self.scorer._keys(r)
        key = (exact_keys, held[exact_keys], held[3])
        row = self._credit.get(key)
        size = len(self.columns.concepts)
        if row is None or len(row) < size:
            with self._lock:
                if len(self._credit) > _CACHE_MAX:
                    self._credit.clear()
                row = self._credit[key] = np.full(size, np.nan)
        values = row[ids]
        missing = np.flatnonzero(np.isnan(values))
        if len(missing):
            wanted, concepts = held[exact_keys], self.columns.concepts
            for cid in np.unique(ids[missing]).tolist():
                c = concepts[cid]
                row[cid] = 1.0 if c.key in wanted else self.scorer._partial(c, r)
            values = row[ids]
        return values

    def _experience(self, rows: np.ndarray, v: Vacancy, vp: VacancyProfile) -> np.ndarray:
        target = vp.occupation.isco
        need = max(v.experience_years_min or 0.0, 2.0)
        sim = self._sims(target)
        credit = np.zeros(len(rows), dtype=np.float64)
        for j in range(self.columns.max_jobs):  # job by job, as the scorer adds them up
            has, at = self.columns.jobs.slot(rows, j)
            if not has.any():
                break
            credit[has] = credit[has] + sim[self.columns.jobs.values[at]] * self.columns.years[at]
        return np.minimum(1.0, credit / need)

    def _sims(self, target: str | None) -> np.ndarray:
        sims = self._isco_sim.get(target)
        iscos = self.columns.iscos
        if sims is None or len(sims) < len(iscos):
            sims = np.array([isco_similarity(code, target) if target else 0.0 for code in iscos], dtype=np.float64)
            with self._lock:
                if len(self._isco_sim) > _CACHE_MAX:
                    self._isco_sim.clear()
                self._isco_sim[target] = sims
        return sims

    def _languages(self, rows: np.ndarray, v: Vacancy) -> np.ndarray:
        """0 if a required language is not met, else 0.75 + 0.25 x the smallest margin, at most 1
        (worked out once per distinct set of credentials: a pool holds few)."""
        sets, inverse = np.unique(self.columns.languages[rows], return_inverse=True)
        values = np.empty(len(sets), dtype=np.float64)
        for i, s in enumerate(sets.tolist()):
            key = (s, v.languages)
            value = self._language.get(key)
            if value is None:
                creds = self.columns.language_sets[s]
                results = [languages.meets(creds, req) for req in v.languages]
                value = 0.0 if not all(ok for ok, _, _ in results) else \
                    min(1.0, 0.75 + 0.25 * min(m for _, _, m in results))
                with self._lock:
                    if len(self._language) > _CACHE_MAX:
                        self._language.clear()
                    self._language[key] = value
            values[i] = value
        return values[inverse.reshape(-1)]

    def _preferences(self, rows: np.ndarray, v: Vacancy) -> np.ndarray:
        """The preference component, worked out once per distinct set of preferences among the rows."""
        sets, inverse = np.unique(self.columns.preferences[rows], return_inverse=True)
        values = np.array([sc.preference_of(self.columns.preference_sets[s], v) for s in sets.tolist()], dtype=np.float64)
        return values[inverse.reshape(-1)]

    def _training(self, rows: np.ndarray, vp: VacancyProfile) -> np.ndarray:
        """Best relevance x recency over the worker's trainings (relevance: the best credit a
        taught concept gives any of the vacancy's skills)."""
        cols = self.columns
        out = np.zeros(len(rows), dtype=np.float64)
        at, owner = cols.trainings.gather(rows)
        entries = cols.trainings.values[at]
        if not len(entries):
            return out
        t_at, t_owner = cols.taught.gather(entries)
        ids = cols.taught.values[t_at]
        relevance = np.zeros(len(entries), dtype=np.float64)
        for r in (*vp.required, *vp.preferred):
            if len(ids):
                np.maximum.at(relevance, t_owner, self._credits(r, ids, exact_keys=2))
        np.maximum.at(out, owner, relevance * cols.recency[entries])
        return out


def _mean(columns: list[np.ndarray]) -> np.ndarray:
    total = columns[0]
    for col in columns[1:]:
        total = total + col
    return total / len(columns)
