"""Indonesian display labels for ESCO skills and occupations.

One UTF-8, tab-separated file with a header row, ``data/labels/esco_id.tsv`` (see data/README.md):
``uri, label_en, label_id, source``, where ``label_en`` is the ESCO v1.1.1 preferred label (checked
against the taxonomy, so a stale row is caught) and ``source`` says where the Indonesian wording
comes from: ``kbji2014`` (a KBJI 2014 title, occupations only) or ``reviewed-translation``
(written and reviewed for sepadan). Blank lines and lines starting with ``#`` are skipped; row
numbers in errors count every physical line, the header being row 1.

A concept with no Indonesian label is shown in English; :class:`Fallbacks` counts how often and
which, so the engine and ``explain`` can report it without a log line per request.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sepadan.features.taxonomy import Taxonomy, default_data_dir
from sepadan.features.text import normalise_text
from sepadan.features.tsv import row_error, tsv_rows

log = logging.getLogger(__name__)

LABELS_DIR = "labels"
LABELS_FILE = "esco_id.tsv"
HEADER = ("uri", "label_en", "label_id", "source")
SOURCES = ("kbji2014", "reviewed-translation")


@dataclass(frozen=True, slots=True)
class Label:
    uri: str
    english: str
    indonesian: str
    source: str
    kind: str  # skill | knowledge | occupation (ESCO's skill type decides skill or knowledge)


class Fallbacks:
    """How many times, and for which concepts, an English label stood in for an Indonesian one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, english: str) -> None:
        """Count one; log at INFO on the 1st, 10th, 100th, ... time, never once per request."""
        with self._lock:
            self._counts[english] += 1
            total = sum(self._counts.values())
            if total == 10 ** (len(str(total)) - 1):
                log.info("%d ESCO labels shown in English so far (%d distinct with no Indonesian label yet)",
                         total, len(self._counts))

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"shown_in_english": sum(self._counts.values()), "labels": len(self._counts),
                    "top": [label for label, _ in self._counts.most_common(10)]}


FALLBACKS = Fallbacks()  # one per process, like a metric: every Labels counts here


@dataclass(frozen=True, slots=True, eq=False)
class Labels:
    """Indonesian labels by ESCO URI; KBJI 2014 unit-group titles for ISCO-08 codes."""

    rows: Mapping[str, Label]
    unit_groups: Mapping[str, str] = field(default_factory=dict)
    fallbacks: Fallbacks = field(default=FALLBACKS, repr=False)
    _keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # (normalised label, skill URI)

    def indonesian(self, uri: str | None) -> str | None:
        row = self.rows.get(uri or "")
        return row.indonesian if row else None

    def display(self, uri: str | None, english: str, lang: str = "id") -> str:
        """The label to show: Indonesian where one exists; English otherwise (counted when
        ``uri`` names a concept, never for free text a person wrote)."""
        if lang != "id" or not uri:
            return english
        found = self.indonesian(uri)
        if found is None:
            self.fallbacks.add(english)
            return english
        return found

    def occupation(self, match: Any, lang: str = "id") -> str:
        """An occupation match's label (anything with ``uri``, ``isco``, ``label``, ``source``): its
        Indonesian label; a KBJI title or free text as matched; else the KBJI 2014 title of its
        ISCO-08 unit group when the match names no ESCO occupation (an ISCO code, a lexicon title)."""
        if lang != "id" or match.uri or match.source in ("kbji", "free"):
            return self.display(match.uri, match.label, lang)
        return self.unit_groups.get(match.isco or "", match.label)

    def is_knowledge(self, uri: str | None) -> bool:
        """Whether ESCO calls the concept knowledge (a subject one knows, not a task one does)."""
        row = self.rows.get(uri or "")
        return row is not None and row.kind == "knowledge"

    def skill_phrases(self) -> tuple[tuple[str, str], ...]:
        """(normalised Indonesian label, skill URI) for every skill: what matching learns from them."""
        return self._keys

    def counts(self) -> dict[str, int]:
        """Rows by kind and source, e.g. ``{"skill/reviewed-translation": 3100, ...}`` (knowledge
        concepts count as skills here, as ESCO lists them)."""
        kinds = Counter(f"{'occupation' if r.kind == 'occupation' else 'skill'}/{r.source}" for r in self.rows.values())
        return dict(sorted(kinds.items()))

    def coverage(self, uris: Iterable[str]) -> tuple[int, int]:
        """(with an Indonesian label, total) over distinct concept URIs."""
        distinct = set(uris)
        return sum(1 for u in distinct if u in self.rows), len(distinct)


@functools.cache
def shipped_labels() -> Labels:
    """The labels shipped in data/, loaded once (what messages render with by default)."""
    from sepadan.features.taxonomy import load_taxonomy

    return load_labels(load_taxonomy())


def labels_path(data_dir: Path | None = None) -> Path:
    return Path(data_dir or default_data_dir()) / LABELS_DIR / LABELS_FILE


def load_labels(taxonomy: Taxonomy, data_dir: Path | None = None) -> Labels:
    """Read and check ``<data_dir>/labels/esco_id.tsv`` (once per taxonomy and file version).

    Raises ``ValueError`` naming the file, the row (header = row 1) and the field for a wrong
    column count, an empty field, an unknown URI, an English label that is not the concept's
    preferred label, an unknown source, a ``kbji2014`` label that is not a KBJI 2014 title of the
    occupation's unit group, or a URI listed twice; ``FileNotFoundError`` if the file is missing.
    """
    path = labels_path(data_dir)
    if not path.is_file():
        raise FileNotFoundError(f"labels file {path} is missing")
    stat = path.stat()
    return _load(taxonomy, path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(taxonomy: Taxonomy, path: Path, mtime_ns: int, size: int) -> Labels:
    kbji = {(t.title, t.isco) for t in taxonomy.kbji}
    rows: dict[str, Label] = {}
    for number, cells in _rows(path):
        label = _label(path, number, cells, taxonomy, kbji)
        if label.uri in rows:
            raise _error(path, number, "uri", f"{label.uri!r} is listed twice")
        rows[label.uri] = label
    groups = {t.isco: t.title for t in taxonomy.kbji if "." not in t.code}
    keys = tuple((normalise_text(r.indonesian), r.uri) for r in rows.values() if r.kind != "occupation")
    labels = Labels(MappingProxyType(rows), MappingProxyType(groups), _keys=keys)
    log.info("loaded %d Indonesian labels from %s: %s", len(rows), path,
             ", ".join(f"{k} {v}" for k, v in labels.counts().items()))
    return labels


def _error(path: Path, row: int, name: str, problem: str) -> ValueError:
    return row_error(path, row, name, problem)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    return tsv_rows(path, HEADER, what="labels file", required=True)


def _label(path: Path, row: int, cells: dict[str, str], taxonomy: Taxonomy, kbji: set[tuple[str, str]]) -> Label:
    uri, english, source = cells["uri"], cells["label_en"], cells["source"]
    concept = taxonomy.skills.get(uri) or taxonomy.occupations.get(uri)
    if concept is None:
        raise _error(path, row, "uri", f"{uri!r} is not an ESCO v1.1.1 skill or occupation")
    if english != concept.label:
        raise _error(path, row, "label_en", f"{english!r} is not the preferred label of {uri} "
                                            f"({concept.label!r})")
    if source not in SOURCES:
        raise _error(path, row, "source", f"{source!r} is not one of {', '.join(SOURCES)}")
    skill = taxonomy.skills.get(uri)
    kind = "occupation" if skill is None else "knowledge" if skill.kind == "knowledge" else "skill"
    if source == "kbji2014" and (kind != "occupation" or (cells["label_id"], concept.isco) not in kbji):
        problem = "a kbji2014 label must be a KBJI 2014 title in the occupation's ISCO-08 unit group"
        raise _error(path, row, "label_id", f"{cells['label_id']!r}: {problem}")
    return Label(uri, english, cells["label_id"], source, kind)
