"""Shortlists and recommendations: retrieve (dense + lexical, fused), apply the rules, score, explain.

:class:`Matcher` works on records, profiles and indexes already in memory; :mod:`sepadan.engine`
binds it to the store, the model and the index files.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from sepadan.errors import NotFound
from sepadan.features.profiles import VacancyProfile, WorkerProfile
from sepadan.matching.eligibility import (
    Check,
    Context,
    check_pair,
    eligible,
    failed,
    vacancy_checks,
    worker_checks,
)
from sepadan.matching.index import VectorIndex
from sepadan.matching.masks import Allowed, MaskCache
from sepadan.matching.retrieve import ConceptIndex, rrf
from sepadan.matching.rules import ProgrammeRule
from sepadan.matching.score_batch import BatchScorer, WorkerColumns
from sepadan.matching.scorer import Message, Pair, Scored, TransparentScorer
from sepadan.matching.table import WorkerTable
from sepadan.records import Vacancy, Worker

log = logging.getLogger(__name__)
SCOPES = ("overseas", "domestic", "all")


def _unmarked(stage: str) -> None:
    """No profile asked for: stage ends are not recorded."""


class Scorer(Protocol):
    version: str

    def score(self, pair: Pair, ctx: Context) -> Scored: ...


class Side:
    """One side of the market in memory: records, profiles, their index and concept postings
    (built from the profiles' concept keys)."""

    def __init__(self, records: Sequence[Any], profiles: Sequence[Any], index: VectorIndex) -> None:
        self.records, self.profiles, self.index = records, profiles, index
        self.concepts = ConceptIndex([p.concept_keys() for p in profiles])
        self.positions = {r.id: i for i, r in enumerate(records)}
        self._id_rank: np.ndarray | None = None

    def id_rank(self) -> np.ndarray:
        """Each row's place among the records ordered by id, so that a ranking's ties break by id
        without reading a record (made on first use, or in the matcher's warm-up)."""
        rank = self._id_rank
        if rank is None:
            ids = [r.id for r in self.records]
            rank = np.empty(len(ids), dtype=np.int64)
            rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
            self._id_rank = rank
        return rank

    def position(self, id_: str, what: str) -> int:
        pos = self.positions.get(id_)
        if pos is None:
            raise NotFound(f"{what} '{id_}' not found")
        return pos


@dataclass(frozen=True, slots=True)
class Match:
    worker_id: str
    vacancy_id: str
    score: float
    components: dict[str, float]
    reasons: tuple[Message, ...]
    gaps: tuple[Message, ...]
    eligible: bool = True
    failed: tuple[Message, ...] = ()
    failed_rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchList:
    kind: str  # shortlist | recommendations
    subject_id: str
    model_version: str
    results: tuple[Match, ...]
    warnings: tuple[Message, ...] = ()


class Matcher:
    def __init__(self, *, workers: Side, vacancies: Side, table: WorkerTable, ctx: Context,
                 scorer: Scorer, candidates: int = 200) -> None:
        self.workers, self.vacancies, self.table = workers, vacancies, table
        self.ctx, self.scorer, self.candidates = ctx, scorer, candidates
        self.masks = MaskCache(table.n, self._mask_for)
        self._batch: BatchScorer | None = None
        self._batch_lock = threading.Lock()

    def warm(self) -> None:
        """Work out every vacancy's eligibility mask (and the worker table's columns they need),
        the concept postings as bitmaps and the columns the batch scorer reads, so no first
        shortlist pays for them."""
        for v in self.vacancies.records:
            self.masks.get(("vacancy", v.id))
        self.workers.concepts.bitmaps()
        self.workers.id_rank()
        self._batch_scorer()

    def _batch_scorer(self) -> BatchScorer | None:
        """The batch scorer while the matcher ranks with the transparent scorer (directly, or as
        the champion's fallback); None for a learned ranker, whose pairs are scored one by one."""
        scorer = self.scorer if type(self.scorer) is TransparentScorer else getattr(self.scorer, "current", None)
        if type(scorer) is not TransparentScorer:
            return None
        batch = self._batch
        if batch is None or batch.scorer is not scorer:
            with self._batch_lock:
                batch = self._batch
                if batch is None or batch.scorer is not scorer:
                    columns = batch.columns if batch is not None else WorkerColumns(
                        self.workers.records, self.workers.profiles, today=self.ctx.today,
                        documents=tuple(self.ctx.rules.document_lead_days))
                    batch = self._batch = BatchScorer(scorer, columns)
        return batch

    def inherit_masks(self, old: Matcher, kept: np.ndarray, fresh: Sequence[int], *,
                      vacancies: frozenset[str] = frozenset(), every_vacancy: bool = False) -> None:
        """Take over ``old``'s cached masks after a write: worker row ``i`` here is ``old``'s row
        ``kept[i]`` (or, where -1, a changed or new worker among ``fresh``, whose rules are worked
        out alone); masks of the ``vacancies`` written (or of all, when an agency changed) are dropped."""
        subset: list[WorkerTable] = []

        def evaluate(key: object, rows: Sequence[int]) -> np.ndarray:
            if not subset:
                subset.append(WorkerTable([self.workers.records[i] for i in rows],
                                          [self.workers.profiles[i] for i in rows]))
            return self._mask_for(key, subset[0])

        def drop(key: object) -> bool:
            kind, value = key  # type: ignore[misc]
            return kind == "vacancy" and (every_vacancy or value in vacancies or value not in self.vacancies.positions)

        self.masks = old.masks.updated(kept, fresh, self.table.n, self._mask_for, evaluate, drop=drop)

    def _mask_for(self, key: object, table: WorkerTable | None = None) -> np.ndarray:
        """Bool mask over the worker rows (of ``table``, by default the whole pool) for a key:
        ``("vacancy", id)`` every hard rule of that vacancy, ``("region", code)`` workers of a region."""
        table = table or self.table
        kind, value = key  # type: ignore[misc]
        if kind == "region":
            return table.in_region(value)
        pos = self.vacancies.position(value, "vacancy")
        return table.mask(self.vacancies.records[pos], self.vacancies.profiles[pos], self.ctx)

    def allowed(self, vacancy_id: str, *, region: str | None = None, within: tuple[str, ...] = (),
                include_ineligible: bool = False) -> Allowed | None:
        """The worker rows a shortlist may return (None: every worker), from the cached masks."""
        parts = [] if include_ineligible else [self.masks.get(("vacancy", vacancy_id))]
        if region:
            parts.append(self.masks.get(("region", region)))
        if len(parts) == 1 and not within:
            return parts[0]
        bits = [p.bits for p in parts]
        if within:
            scope = self.masks.get(("region", within[0])).bits.copy()
            for r in within[1:]:
                np.bitwise_or(scope, self.masks.get(("region", r)).bits, out=scope)
            bits.append(scope)
        if not bits:
            return None
        joined = bits[0].copy()
        for b in bits[1:]:
            np.bitwise_and(joined, b, out=joined)
        rows = np.flatnonzero(np.unpackbits(joined, count=self.table.n, bitorder="little")).astype(np.int64)
        return Allowed(joined, rows, self.table.n)

    @property
    def model_version(self) -> str:
        return self.scorer.version

    def shortlist(self, vacancy_id: str, *, k: int = 30, region: str | None = None,
                  include_ineligible: bool = False, within: tuple[str, ...] = (),
                  stages: Callable[[str], None] | None = None) -> MatchList:
        """The best k eligible workers for a vacancy (optionally inside a region, and only among
        workers of the regions ``within``, e.g. those an officer's key covers). ``stages``, for a
        profile: called with each stage's name as it ends (rules, dense, lexical, fused, scored,
        explained)."""
        mark = stages or _unmarked
        vpos = self.vacancies.position(vacancy_id, "vacancy")
        v, vp = self.vacancies.records[vpos], self.vacancies.profiles[vpos]
        allowed = self.allowed(vacancy_id, region=region, within=within, include_ineligible=include_ineligible)
        mark("rules")
        candidates = self._retrieve(self.workers, self.vacancies.index.vectors[vpos], _query(vp),
                                    np.arange(self.table.n) if allowed is None else allowed.rows, k,
                                    bits=None if allowed is None else allowed.bits, mark=mark)
        vvec = self.vacancies.index.vectors[vpos]
        batch = self._batch_scorer()
        vchecks = vacancy_checks(v, self.ctx)  # the same for every candidate
        programmes = self.ctx.rules.for_vacancy(v)
        explain = lambda p: self._pair_match(p, v, vp, vvec, vchecks, programmes)  # noqa: E731
        results = None if batch is None else self._best(batch, candidates, v, vp, vvec, k, include_ineligible,
                                                         explain, mark)
        if results is None:
            matches = [explain(p) for p in candidates]
            results = _top(matches if include_ineligible else self._guard(matches), k)
        mark("explained")
        warnings = tuple((c.key, c.params) for c in vchecks if not c.ok)
        return MatchList("shortlist", vacancy_id, self.model_version, results, warnings)

    def _pair_match(self, p: int, v: Vacancy, vp: VacancyProfile, vvec: np.ndarray, vchecks: list[Check],
                    programmes: tuple[ProgrammeRule, ...]) -> Match:
        """One candidate scored and explained in full (every check, component, reason and gap)."""
        w, wp = self.workers.records[p], self.workers.profiles[p]
        checks = [*vchecks, *worker_checks(w, wp, v, vp, self.ctx, programmes=programmes)]
        return self._match(w, wp, v, vp, self.workers.index.vectors[p], vvec, checks=checks)

    def _best(self, batch: BatchScorer, candidates: list[int], v: Vacancy, vp: VacancyProfile,
              vvec: np.ndarray, k: int, include_ineligible: bool, explain: Any,
              mark: Callable[[str], None] = _unmarked) -> tuple[Match, ...] | None:
        """The top k of the candidates by their batch scores, each then scored and explained in
        full; the same list as explaining every candidate and keeping the best k. None (score
        them one by one) if a full score differs from its batch score: the champion changed
        between the two, or a bug, logged."""
        rows = np.asarray(candidates, dtype=np.int64)
        scores = batch.scores(rows, self.workers.index.vectors, v, vp, vvec, self.ctx)
        # best score first, ties by worker id (ids unique: the order is total)
        order = np.lexsort((self.workers.id_rank()[rows], -np.asarray(scores, dtype=np.float64))).tolist()
        mark("scored")
        out: list[Match] = []
        for i in order:
            m = explain(candidates[i])
            if m.score != scores[i]:
                log.warning("batch score %s differs from the full score %s for %s and %s (%s); "
                            "scoring this shortlist pair by pair", scores[i], m.score, m.worker_id, v.id,
                            self.scorer.version)
                return None
            if include_ineligible or m.eligible:
                out.append(m)
            else:
                self._guard([m])
            if len(out) == k:
                break
        return _top(out, k)

    def recommend(self, worker_id: str, *, scope: str = "all", country: str | None = None, k: int = 10,
                  include_flagged: bool = False, include_ineligible: bool = False) -> MatchList:
        """The best k vacancies a worker is eligible for, through legal channels only by default."""
        wpos = self.workers.position(worker_id, "worker")
        return self.recommend_for(self.workers.records[wpos], self.workers.profiles[wpos],
                                  self.workers.index.vectors[wpos], scope=scope, country=country, k=k,
                                  include_flagged=include_flagged, include_ineligible=include_ineligible)

    def recommend_for(self, w: Worker, wp: WorkerProfile, vector: np.ndarray, *, scope: str = "all",
                      country: str | None = None, k: int = 10, include_flagged: bool = False,
                      include_ineligible: bool = False) -> MatchList:
        """Recommendations for a worker given as record, profile and vector (stored or not)."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        in_scope = [i for i, v in enumerate(self.vacancies.records) if _in_scope(v, scope, country)]
        checks = {i: self._checks(w, wp, i) for i in in_scope}
        allowed = np.array([i for i in in_scope if _keep(checks[i], include_flagged, include_ineligible)],
                           dtype=np.int64)
        query = {c.key: 1.0 for c in wp.skills} | {c.key: 0.5 for c, _ in wp.training_skills}
        candidates = self._retrieve(self.vacancies, vector, query, allowed, k)
        matches = [self._match(w, wp, self.vacancies.records[p], self.vacancies.profiles[p], vector,
                               self.vacancies.index.vectors[p], checks=checks[p]) for p in candidates]
        return MatchList("recommendations", w.id, self.model_version, _top(matches, k))

    def explain(self, worker_id: str, vacancy_id: str) -> Match:
        """One pair, whatever its eligibility: every check, component, reason and gap."""
        wpos = self.workers.position(worker_id, "worker")
        vpos = self.vacancies.position(vacancy_id, "vacancy")
        return self._match(self.workers.records[wpos], self.workers.profiles[wpos],
                           self.vacancies.records[vpos], self.vacancies.profiles[vpos],
                           self.workers.index.vectors[wpos], self.vacancies.index.vectors[vpos])

    def checks(self, worker_id: str, vacancy_id: str) -> list[Check]:
        wpos = self.workers.position(worker_id, "worker")
        vpos = self.vacancies.position(vacancy_id, "vacancy")
        return self._checks(self.workers.records[wpos], self.workers.profiles[wpos], vpos)

    def _checks(self, w: Worker, wp: WorkerProfile, vpos: int) -> list[Check]:
        return check_pair(w, wp, self.vacancies.records[vpos], self.vacancies.profiles[vpos], self.ctx)

    def _retrieve(self, side: Side, vector: np.ndarray, query: dict[str, float], allowed: np.ndarray,
                  k: int, *, bits: np.ndarray | None = None, mark: Callable[[str], None] = _unmarked) -> list[int]:
        n = max(self.candidates, 4 * k)
        if len(allowed) == 0:
            return []
        everyone = len(allowed) == side.index.size
        _, dense = side.index.search(vector[None, :], n, allowed=None if everyone else allowed,
                                     **({"bitmap": bits} if bits is not None and not everyone else {}))
        mark("dense")
        lexical = side.concepts.search(query, n, allowed=None if everyone else allowed, bits=bits)
        mark("lexical")
        fused = rrf([dense[0][dense[0] >= 0], lexical])
        mark("fused")
        return [p for p, _ in fused[:n]]

    def _match(self, w: Worker, wp: WorkerProfile, v: Vacancy, vp: VacancyProfile, wvec: np.ndarray,
               vvec: np.ndarray, *, checks: list[Check] | None = None) -> Match:
        checks = checks if checks is not None else check_pair(w, wp, v, vp, self.ctx)
        cosine = float(wvec @ vvec)
        scored = self.scorer.score(Pair(w, wp, v, vp, cosine, checks), self.ctx)
        bad = failed(checks)
        return Match(w.id, v.id, scored.score, scored.components, scored.reasons, scored.gaps,
                     eligible(checks), tuple((c.key, c.params) for c in bad), tuple(c.rule for c in bad))

    def _guard(self, matches: list[Match]) -> list[Match]:
        wrong = [m for m in matches if not m.eligible]
        for m in wrong:
            log.error("eligibility mask admitted %s for %s against rule(s) %s; dropped",
                      m.worker_id, m.vacancy_id, ", ".join(m.failed_rules))
        return [m for m in matches if m.eligible]


def _query(vp: VacancyProfile) -> dict[str, float]:
    query = {c.key: 0.5 for r in vp.preferred for c in r.concepts}
    query.update({c.key: 1.0 for r in vp.required for c in r.concepts})
    return query


def _in_scope(v: Vacancy, scope: str, country: str | None) -> bool:
    if country and v.country != country:
        return False
    return scope == "all" or (scope == "overseas") == v.overseas


def _keep(checks: list[Check], include_flagged: bool, include_ineligible: bool) -> bool:
    bad = failed(checks)
    if not bad:
        return True
    if include_ineligible:
        return True
    return include_flagged and all(c.rule == "agency" for c in bad)


def _top(matches: list[Match], k: int) -> tuple[Match, ...]:
    """Best score first; where ineligible pairs were asked for, they rank by score too, flagged."""
    ordered = sorted(matches, key=lambda m: (-m.score, m.worker_id, m.vacancy_id))
    return tuple(ordered[:k])
