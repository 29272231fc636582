"""Labelled job-board titles as evidence for the occupation of a title: a nearest-neighbour vote.

``data/titles/examples.tsv`` holds real vacancy titles, each with the ESCO occupation a person
labelled it with (the JobBERT evaluation dataset's dev split, MIT, Decorte et al. 2021; see the
file's notice and data/README.md). A title's ``k`` nearest examples (cosine of the title readings)
vote for their occupations with weight exp((cos - 1) / ``temperature``), the votes summing to 1:
"General Worker" is a factory hand and a Malaysian "Account Executive" an accounting assistant,
the way that job board labels them, which no ESCO label says.

:func:`example_votes` is the arithmetic on arrays; :class:`ExampleVoter` binds the readings and
the encoder (each example encoded once through the phrase cache, like any phrase).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sepadan.features.taxonomy import default_data_dir
from sepadan.features.text import normalise_text
from sepadan.features.tsv import row_error, tsv_rows

log = logging.getLogger(__name__)

EXAMPLES_FILE = "examples.tsv"
HEADER = ("title", "occupation_uri", "source")
JOBBERT_DEV = "jobbert-eval dev split"
OCCUPATION_PREFIX = "http://data.europa.eu/esco/occupation/"
K = 10  # nearest examples that vote (chosen by 2-fold cross-validation within the dev split)
TEMPERATURE = 0.1


@dataclass(frozen=True, slots=True, eq=False)
class TitleExamples:
    """Example titles and their occupations' URIs, in file order (a title may repeat)."""

    titles: tuple[str, ...] = field(repr=False)
    uris: tuple[str, ...] = field(repr=False)
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.titles)


def load_title_examples(data_dir: Path | None = None, *,
                        known: Collection[str] | None = None) -> TitleExamples:
    """Read ``<data_dir>/titles/examples.tsv``; ``known`` (occupation URIs) rejects a row whose
    occupation the taxonomy does not hold. Errors name the file, the row and the field."""
    path = Path(data_dir or default_data_dir()) / "titles" / EXAMPLES_FILE
    titles, uris = [], []
    for row, cells in tsv_rows(path, HEADER, what="title example list", required=True):
        if not normalise_text(cells["title"]):
            raise row_error(path, row, "title", "has no words")
        uri = cells["occupation_uri"]
        if not uri.startswith(OCCUPATION_PREFIX):
            raise row_error(path, row, "occupation_uri", f"{uri!r} is not an ESCO occupation URI")
        if known is not None and uri not in known:
            raise row_error(path, row, "occupation_uri", f"{uri!r} is not in the taxonomy")
        titles.append(cells["title"])
        uris.append(uri)
    log.info("loaded %d title examples from %s", len(titles), path)
    return TitleExamples(tuple(titles), tuple(uris), path)


def example_votes(sims: np.ndarray, labels: np.ndarray, n_docs: int, *, k: int = K,
                  temperature: float = TEMPERATURE) -> tuple[np.ndarray, np.ndarray]:
    """Votes of each query's ``k`` nearest examples (``sims``: queries x examples; ``labels``:
    each example's document index) as (votes queries x ``n_docs`` summing to 1 per row, and the
    best cosine of an example voting for each document, -1 where none votes)."""
    votes = np.zeros((len(sims), n_docs), dtype=np.float32)
    nearest = np.full((len(sims), n_docs), -1.0, dtype=np.float32)
    if sims.size == 0:
        return votes, nearest
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    cos = np.take_along_axis(sims, top, axis=1)
    weights = np.exp((cos - 1.0) / temperature)
    for row in range(len(sims)):
        docs = labels[top[row]]
        np.add.at(votes[row], docs, weights[row])
        np.maximum.at(nearest[row], docs, cos[row])
    votes /= np.maximum(votes.sum(axis=1, keepdims=True), 1e-12)
    return votes, nearest


class ExampleVoter:
    """The examples read and encoded (lazily, through the phrase cache), voting for documents."""

    def __init__(self, examples: TitleExamples, docs: Sequence[str],
                 read: Callable[[str], str], encode: Callable[[list[str]], np.ndarray], *,
                 k: int = K, temperature: float = TEMPERATURE) -> None:
        pos = {d: i for i, d in enumerate(docs)}
        keep = [i for i, u in enumerate(examples.uris) if u in pos]
        self.readings = [read(examples.titles[i]) for i in keep]
        self.labels = np.array([pos[examples.uris[i]] for i in keep], dtype=np.int64)
        self.n_docs, self.encode, self.k, self.temperature = len(docs), encode, k, temperature
        self._matrix: np.ndarray | None = None

    @property
    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            log.info("embedding %d example titles (cached after the first time)", len(self.readings))
            self._matrix = self.encode(self.readings)
        return self._matrix

    def votes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`example_votes` for queries given as reading vectors."""
        return example_votes(vectors @ self.matrix.T, self.labels, self.n_docs, k=self.k,
                             temperature=self.temperature)
