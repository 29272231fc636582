"""What a worker needs to answer for one shard, in a form that travels (pickle, Ray's object store).

The engine's matcher holds the store and the model behind it (the scorer asks the phrase cache for
label similarities). :func:`shard_states` cuts it into a :class:`VacancySide` (every job order, with
its index packed as bytes) and one :class:`ShardState` per id range of workers, with the scorer's
label similarities precomputed (the same vectors, the same dot products: the same scores). A worker
process makes a :class:`~sepadan.matching.matcher.Matcher` of its shard with :func:`shard_matcher`
and calls its own ``shortlist`` and ``recommend``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from sepadan.batch.plan import Shard, shard_by_id
from sepadan.matching.eligibility import Context
from sepadan.matching.index import ExactIndex, FaissIndex, VectorIndex
from sepadan.matching.matcher import Matcher, Scorer, Side
from sepadan.matching.scorer import TransparentScorer
from sepadan.matching.table import WorkerTable

log = logging.getLogger(__name__)


class LabelSimilarity:
    """Cosine of two concept labels from vectors encoded beforehand (the engine's ``_similarity``
    reads the same cached vectors and takes the same dot product)."""

    def __init__(self, labels: list[str], vectors: np.ndarray) -> None:
        self.rows = {label: i for i, label in enumerate(labels)}
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __call__(self, a: str, b: str) -> float:
        try:
            return float(self.vectors[self.rows[a]] @ self.vectors[self.rows[b]])
        except KeyError as exc:
            raise KeyError(f"label {exc} was not encoded before the batch (not in any profile)") from None


@dataclass(frozen=True, slots=True)
class PackedIndex:
    kind: str
    vectors: np.ndarray
    faiss_bytes: np.ndarray | None = None
    exact_filter_max: int = 20_000
    ef_search: int = 128
    nprobe: int = 32
    exact_filter_share: float | None = None

    def unpack(self) -> VectorIndex:
        if self.faiss_bytes is None:
            return ExactIndex(self.vectors)
        import faiss

        return FaissIndex(faiss.deserialize_index(self.faiss_bytes), self.vectors, kind=self.kind,
                          exact_filter_max=self.exact_filter_max, ef_search=self.ef_search,
                          nprobe=self.nprobe, exact_filter_share=self.exact_filter_share)


def pack_index(index: VectorIndex) -> PackedIndex:
    if isinstance(index, FaissIndex):
        import faiss

        return PackedIndex(index.kind, index.vectors, faiss.serialize_index(index.index),
                           index.exact_filter_max, index.ef_search, index.nprobe, index.exact_filter_share)
    return PackedIndex("exact", index.vectors)


@dataclass(frozen=True, slots=True)
class VacancySide:
    records: tuple[Any, ...]
    profiles: tuple[Any, ...]
    index: PackedIndex
    ctx: Context
    scorer: Scorer
    candidates: int


@dataclass(frozen=True, slots=True)
class ShardState:
    shard: Shard
    records: tuple[Any, ...]
    profiles: tuple[Any, ...]
    vectors: np.ndarray  # this shard's rows of the worker index, searched exactly

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.records)


def shard_matcher(vacancies: VacancySide, shard: ShardState, *, worker_index: VectorIndex | None = None,
                  vacancy_index: VectorIndex | None = None) -> Matcher:
    """The matcher of one shard: its workers (by default searched exactly), every job order (by
    default through the engine's vacancy index)."""
    workers = Side(shard.records, shard.profiles, worker_index or ExactIndex(shard.vectors))
    side = Side(vacancies.records, vacancies.profiles, vacancy_index or vacancies.index.unpack())
    matcher = Matcher(workers=workers, vacancies=side, table=WorkerTable(shard.records, shard.profiles),
                      ctx=vacancies.ctx, scorer=vacancies.scorer, candidates=vacancies.candidates)
    return matcher


def shard_states(engine: Any, n_shards: int) -> tuple[VacancySide, list[ShardState]]:
    """Cut the engine's matcher into the job orders and ``n_shards`` id ranges of workers."""
    m = engine.matcher
    vacancies = VacancySide(tuple(m.vacancies.records), tuple(m.vacancies.profiles), pack_index(m.vacancies.index),
                            m.ctx, portable_scorer(engine), m.candidates)
    ids = [w.id for w in m.workers.records]
    out = []
    for shard in shard_by_id(ids, n_shards):
        pos = np.array(shard.positions, dtype=np.int64)
        out.append(ShardState(shard, tuple(m.workers.records[p] for p in pos),
                              tuple(m.workers.profiles[p] for p in pos), m.workers.index.vectors[pos]))
    return vacancies, out


def portable_scorer(engine: Any) -> Scorer:
    """The engine's scorer (the champion ranker if one serves, else the transparent one), with the
    label similarities it would ask the phrase cache for computed now."""
    from sepadan.models.serving import RankerScorer

    current = getattr(engine.scorer, "current", engine.scorer)
    transparent = TransparentScorer(engine.taxonomy, similarity=label_similarity(engine))
    if isinstance(current, RankerScorer):
        return RankerScorer(current.model, transparent, version=current.version)
    if not isinstance(current, TransparentScorer):
        raise TypeError(f"the batch cannot ship a scorer of type {type(current).__name__}")
    return transparent


def label_similarity(engine: Any) -> LabelSimilarity:
    m = engine.matcher
    labels: set[str] = set()
    for p in m.workers.profiles:
        labels.update(c.label for c in p.skills)
        labels.update(c.label for c, _ in p.training_skills)
    for p in m.vacancies.profiles:
        labels.update(c.label for r in (*p.required, *p.preferred) for c in r.concepts)
    ordered = sorted(labels)
    log.info("label similarities: %d labels", len(ordered))
    return LabelSimilarity(ordered, engine.encoder.encode(ordered) if ordered else np.zeros((0, 1), np.float32))
