"""What a placement office or a job portal would use without sepadan: keyword search (BM25),
TF-IDF cosine and plain embedding similarity over the whole text.

Every ranker follows one interface: ``fit(docs) -> self`` and ``score(queries) -> (n_queries,
n_docs)`` float32 scores, so the benchmarks rank, filter and time them all the same way
(:func:`top_k`). Fitted state ends in ``_``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from sepadan.errors import ConfigError
from sepadan.features.encoder import Encoder
from sepadan.records import Vacancy, Worker

log = logging.getLogger(__name__)
EXTRA = "pip install -e '.[bench]'"


class Ranker(Protocol):
    name: str

    def fit(self, docs: Sequence[str]) -> Ranker: ...

    def score(self, queries: Sequence[str]) -> np.ndarray: ...


def require(module: str, what: str) -> object:
    """Import an optional benchmark dependency, or fail with the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{what} needs the '{module}' package: install the bench extra ({EXTRA})"
        ) from exc


def top_k(
    scores: np.ndarray, k: int, *, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Best k columns per row, score descending and ties by column ascending; -1 where short.

    ``allowed`` (a boolean column mask) applies the same eligibility filter to every system.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float32))
    columns = np.arange(scores.shape[1]) if allowed is None else np.flatnonzero(allowed)
    out_s = np.full((len(scores), k), -np.inf, dtype=np.float32)
    out_i = np.full((len(scores), k), -1, dtype=np.int64)
    take = min(k, len(columns))
    if take == 0:
        return out_s, out_i
    sub = scores[:, columns]
    part = np.argpartition(-sub, take - 1, axis=1)[:, :take]
    for row in range(len(scores)):
        cols = columns[part[row]]
        vals = scores[row, cols]
        order = np.lexsort((cols, -vals))
        out_s[row, :take], out_i[row, :take] = vals[order], cols[order]
    return out_s, out_i


def worker_text(w: Worker) -> str:
    """A worker's whole text as keyword search indexes it: skills, jobs, training, certificates."""
    parts = [*w.skills, *(e.occupation for e in w.experience)]
    parts += [x for t in w.trainings for x in (t.title or "", *t.skills) if x]
    return "; ".join([*parts, *w.certificates])


def vacancy_text(v: Vacancy) -> str:
    """A vacancy's whole text: title, description, required and preferred skills."""
    return "; ".join(
        x for x in (v.title, v.description or "", *v.skills_required, *v.skills_preferred) if x
    )


def batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


class BM25Ranker:
    """Okapi BM25 (Lucene variant, via bm25s), English stop words, Snowball stemming when
    PyStemmer is installed: roughly what Elasticsearch's ``english`` analyzer gives a job portal."""

    name = "BM25"

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, stem: bool = True) -> None:
        self.k1, self.b, self.stem = k1, b, stem

    def fit(self, docs: Sequence[str]) -> BM25Ranker:
        bm25s = require("bm25s", "the BM25 baseline")
        self.stemmer_ = _stemmer() if self.stem else None
        self.retriever_ = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        self.retriever_.index(self._tokens(docs, ids=True), show_progress=False)
        self.n_docs_ = len(docs)
        return self

    def _tokens(self, texts: Sequence[str], *, ids: bool) -> object:
        bm25s = require("bm25s", "the BM25 baseline")
        return bm25s.tokenize(
            list(texts), stopwords="en", stemmer=self.stemmer_, return_ids=ids, show_progress=False
        )

    def score(self, queries: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(queries), self.n_docs_), dtype=np.float32)
        for row, tokens in enumerate(self._tokens(queries, ids=False)):
            known = [t for t in tokens if t in self.retriever_.vocab_dict]
            if known:
                out[row] = self.retriever_.get_scores(known)
        return out

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top k through bm25s's own retrieval (its sparse top-k path, used for timing)."""
        tokens = [
            [t for t in q if t in self.retriever_.vocab_dict] or ["__none__"]
            for q in self._tokens(queries, ids=False)
        ]
        ids, scores = self.retriever_.retrieve(
            tokens, k=min(k, self.n_docs_), show_progress=False, n_threads=1
        )
        return scores.astype(np.float32), ids.astype(np.int64)


def _stemmer() -> object | None:
    try:
        import Stemmer
    except ImportError:
        log.warning("PyStemmer is not installed: BM25 runs without stemming (%s)", EXTRA)
        return None
    return Stemmer.Stemmer("english").stemWords


class TfidfRanker:
    """TF-IDF (sublinear tf, English stop words, unigrams and bigrams) and cosine similarity."""

    name = "TF-IDF"

    def __init__(self, *, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1) -> None:
        self.ngram_range, self.min_df = ngram_range, min_df

    def fit(self, docs: Sequence[str]) -> TfidfRanker:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer_ = TfidfVectorizer(
            sublinear_tf=True,
            stop_words="english",
            ngram_range=self.ngram_range,
            min_df=self.min_df,
        )
        self.matrix_ = self.vectorizer_.fit_transform(docs)
        return self

    def score(self, queries: Sequence[str]) -> np.ndarray:
        q = self.vectorizer_.transform(queries)
        return np.asarray((q @ self.matrix_.T).todense(), dtype=np.float32)


class EmbeddingRanker:
    """Plain embedding similarity: cosine between the query text and each document text."""

    name = "embedding"

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def fit(self, docs: Sequence[str]) -> EmbeddingRanker:
        self.matrix_ = self.encoder.encode(list(docs))
        return self

    def score(self, queries: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(list(queries)) @ self.matrix_.T


class LabelSetRanker:
    """Embedding similarity where a document is a set of labels (a concept's preferred and
    alternative labels): its score is the best cosine over its labels."""

    name = "embedding (max over labels)"

    def __init__(self, encoder: Encoder, *, batch: int = 128) -> None:
        self.encoder, self.batch = encoder, batch

    def fit(self, docs: Sequence[Sequence[str]]) -> LabelSetRanker:
        labels = [label for doc in docs for label in doc]
        sizes = np.array([len(doc) for doc in docs])
        if (sizes == 0).any():
            raise ValueError("every document needs at least one label")
        self.starts_ = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.matrix_ = self.encoder.encode(labels)
        return self

    def score_vectors(self, queries: np.ndarray) -> np.ndarray:
        out = np.empty((len(queries), len(self.starts_)), dtype=np.float32)
        for part in batches(len(queries), self.batch):
            sims = queries[part] @ self.matrix_.T
            out[part] = np.maximum.reduceat(sims, self.starts_, axis=1)
        return out

    def score(self, queries: Sequence[str]) -> np.ndarray:
        return self.score_vectors(self.encoder.encode(list(queries)))
