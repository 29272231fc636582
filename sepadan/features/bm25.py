"""Okapi BM25 over short label texts (an occupation's preferred and alternative labels), on scipy
sparse matrices: the lexical view beside the embedding where a title shares rare words with a
label ("Kitchen Steward" and "kitchen porter"). English stop words out, plurals folded ("clerks"
is "clerk"); no other stemming. Only what the core dependencies give (no bm25s at run time).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lower-case words without English stop words, plurals folded."""
    stop = _stop_words()
    return [_fold(w) for w in _WORD.findall(text.lower()) if w not in stop]


@functools.cache
def _stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, imported when a title is first read: scikit-learn (0.6 s)
    is not paid by a command that reads none, e.g. ``sepadan shortlist`` from stored profiles."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _fold(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


class LabelBM25:
    """``fit(docs)`` then ``score(queries)``: (queries x docs) float32 BM25 scores."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b

    def fit(self, docs: Sequence[str]) -> LabelBM25:
        from scipy import sparse

        self.vocab_: dict[str, int] = {}
        rows, cols, counts = [], [], []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for j, doc in enumerate(docs):
            words = tokens(doc)
            lengths[j] = len(words)
            for word in set(words):
                rows.append(self.vocab_.setdefault(word, len(self.vocab_)))
                cols.append(j)
                counts.append(words.count(word))
        tf = sparse.coo_matrix((np.asarray(counts, dtype=np.float32), (rows, cols)),
                               shape=(len(self.vocab_), len(docs)))
        df = np.bincount(tf.row, minlength=len(self.vocab_)).astype(np.float32)
        idf = np.log1p((len(docs) - df + 0.5) / (df + 0.5))
        norm = self.k1 * (1 - self.b + self.b * lengths / max(float(lengths.mean()), 1e-9))
        weight = tf.data * (self.k1 + 1) / (tf.data + norm[tf.col]) * idf[tf.row]
        self.matrix_ = sparse.csr_matrix((weight, (tf.row, tf.col)), shape=tf.shape)
        return self

    def score(self, queries: Sequence[str]) -> np.ndarray:
        from scipy import sparse

        rows, cols = [], []
        for i, query in enumerate(queries):
            for word in set(tokens(query)):
                if word in self.vocab_:
                    rows.append(i)
                    cols.append(self.vocab_[word])
        q = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                              shape=(len(queries), len(self.vocab_)))
        return np.asarray((q @ self.matrix_).toarray(), dtype=np.float32)
