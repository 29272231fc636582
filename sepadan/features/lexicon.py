"""The hand-made lexicon: skill phrases, a word glossary and job titles.

Four UTF-8, tab-separated files with a header row live in ``data/lexicon/`` (see
data/README.md): Indonesian skill phrases (``skills_id.tsv``), English skill phrases as workers
and job orders of this field write them (``skills_en.tsv``, same columns), the word glossary and
the job titles. The two skill files form one table: a phrase may be in only one of them. Blank
lines and lines starting with ``#`` are skipped; row numbers in error messages count every
physical line, the header being row 1.

The Indonesian display labels (:mod:`sepadan.features.labels`) feed the same table: each skill's
Indonesian label is a phrase for that skill unless a hand-written phrase already claims it. A
phrase that nearly equals one in the table (a typo, ``perawat`` for ``merawat``) is found by
:meth:`Lexicon.near` (rapidfuzz ratio), so hand phrases and labels share one mechanism.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from rapidfuzz import fuzz, process

from sepadan.features.labels import Labels, load_labels
from sepadan.features.taxonomy import Taxonomy, default_data_dir
from sepadan.features.text import normalise_text
from sepadan.features.tsv import row_error, tsv_rows

log = logging.getLogger(__name__)

LEXICON_DIR = "lexicon"
SKILLS_FILE = "skills_id.tsv"
SKILLS_EN_FILE = "skills_en.tsv"
SKILLS_FILES = (SKILLS_FILE, SKILLS_EN_FILE)
WORDS_FILE = "words_id_en.tsv"
TITLES_FILE = "titles_id.tsv"
SKILLS_HEADER = ("phrase", "esco_labels", "note")
WORDS_HEADER = ("word", "english")
TITLES_HEADER = ("title", "isco", "english")
LABEL_SEP = "|"
NEAR_SCORE = 90.0  # rapidfuzz ratio (0-100) for a near-equal phrase: about one typo per 10 letters
NEAR_MIN_CHARS = 8  # shorter phrases must match exactly
MAX_SKILLS = 3


@dataclass(frozen=True, slots=True, eq=False)
class Lexicon:
    """Skill phrases (Indonesian and English) to ESCO skills, an Indonesian-English word
    glossary and Indonesian job titles to ISCO-08."""

    phrases: tuple[str, ...]  # the hand-written skill phrases (the Indonesian labels are in ``keys``)
    _skills: Mapping[str, tuple[str, ...]] = field(repr=False)
    _words: Mapping[str, str] = field(repr=False)
    _titles: Mapping[str, tuple[str, str]] = field(repr=False)
    _longest: int = field(repr=False, default=1)
    labels: Labels = field(repr=False, default_factory=lambda: Labels({}))
    keys: tuple[str, ...] = field(repr=False, default=())  # every skill key: phrases and labels

    def skills_for(self, phrase: str) -> tuple[str, ...]:
        """ESCO skill URIs for a known phrase (exact after normalising); () if unknown."""
        return self._skills.get(normalise_text(phrase), ())

    def near(self, phrase: str) -> tuple[tuple[str, ...], float]:
        """ESCO skill URIs of the table's phrase nearest to ``phrase`` when it nearly equals it
        (ratio >= ``NEAR_SCORE``, phrases of ``NEAR_MIN_CHARS`` or more), and the ratio / 100."""
        key = normalise_text(phrase)
        if len(key) < NEAR_MIN_CHARS:
            return (), 0.0
        hit = process.extractOne(key, self.keys or self.phrases, scorer=fuzz.ratio, score_cutoff=NEAR_SCORE)
        return (self._skills[hit[0]], round(hit[1] / 100, 3)) if hit else ((), 0.0)

    def translate(self, text: str) -> str:
        """Word-by-word English via the glossary (longest multi-word entry first).

        Unknown words are kept as they are; the result is normalised.
        """
        tokens = normalise_text(text).split()
        out: list[str] = []
        i = 0
        while i < len(tokens):
            english, used = self._match(tokens, i)
            out.append(english)
            i += used
        return normalise_text(" ".join(out))

    def isco_for_title(self, title: str) -> str | None:
        """ISCO-08 unit group of a job title listed in the lexicon; ``None`` if not listed.

        Lexicon only: KBJI titles and ESCO labels are the taxonomy's lookups
        (``kbji_by_title``, ``occupations_by_label``), so callers can tell the sources apart.
        """
        entry = self._titles.get(normalise_text(title))
        return entry[0] if entry else None

    def english_title(self, title: str) -> str | None:
        """The lexicon's English title for an Indonesian job title; ``None`` if not listed."""
        entry = self._titles.get(normalise_text(title))
        return entry[1] if entry else None

    def _match(self, tokens: list[str], start: int) -> tuple[str, int]:
        """Longest glossary entry starting at ``start``: (english, tokens consumed)."""
        for size in range(min(self._longest, len(tokens) - start), 1, -1):
            key = " ".join(tokens[start : start + size])
            if key in self._words:
                return self._words[key], size
        return self._word(tokens[start]), 1

    def _word(self, word: str) -> str:
        """One word, with light morphology for unlisted ones: a/b alternatives, reduplication
        (x-x) and the -nya suffix; a word still unknown is returned unchanged."""
        if word in self._words:
            return self._words[word]
        if "/" in word:
            return " / ".join(self._word(part) for part in word.split("/") if part)
        head, dash, tail = word.partition("-")
        if dash and head == tail and head in self._words:
            return self._words[head]
        if word.endswith("nya") and word[:-3] in self._words:
            return self._words[word[:-3]]
        return word


def load_lexicon(taxonomy: Taxonomy, data_dir: Path | None = None, *, with_labels: bool = True) -> Lexicon:
    """Read and validate the lexicon files under ``<data_dir>/lexicon`` and, unless
    ``with_labels`` is false (the hand-written phrases alone), the Indonesian labels.

    Raises ``ValueError`` naming the file, the row (header = row 1) and the field for an ESCO
    label that is not a preferred label, an unknown ISCO-08 code, a wrong column count, an
    empty field or a duplicate key (a skill phrase in both skill files included).
    """
    folder = Path(data_dir or default_data_dir()) / LEXICON_DIR
    skills = _load_skills([folder / name for name in SKILLS_FILES], taxonomy)
    words = _load_words(folder / WORDS_FILE)
    titles = _load_titles(folder / TITLES_FILE, taxonomy)
    labels = _labels(taxonomy, data_dir) if with_labels else Labels({})
    hand = tuple(sorted(skills))
    added = _add_labels(skills, labels)
    log.info(
        "loaded lexicon from %s: %d skill phrases (%d from Indonesian labels), %d glossary words, %d titles",
        folder,
        len(skills),
        added,
        len(words),
        len(titles),
    )
    return Lexicon(
        phrases=hand,
        _skills=MappingProxyType(skills),
        _words=MappingProxyType(words),
        _titles=MappingProxyType(titles),
        _longest=max((len(k.split()) for k in words), default=1),
        labels=labels,
        keys=tuple(sorted(skills)),
    )


def _labels(taxonomy: Taxonomy, data_dir: Path | None) -> Labels:
    """The Indonesian labels beside the lexicon; a data folder without them (a user's own copy of
    the taxonomy) works with English labels, said once here."""
    try:
        return load_labels(taxonomy, data_dir)
    except FileNotFoundError as exc:
        log.warning("%s: ESCO labels are shown in English", exc)
        return Labels({})


def _add_labels(skills: dict[str, tuple[str, ...]], labels: Labels) -> int:
    """Each skill's Indonesian label as a phrase for it; hand-written phrases keep theirs, and a
    label shared by several skills names them all (up to ``MAX_SKILLS``). Returns phrases added."""
    hand = set(skills)
    for key, uri in labels.skill_phrases():
        if key and key not in hand and uri not in skills.get(key, ()):
            skills[key] = (*skills.get(key, ()), uri)[:MAX_SKILLS]
    return len(skills) - len(hand)


def _error(path: Path, row: int, field_name: str, problem: str) -> ValueError:
    return row_error(path, row, field_name, problem)


def _rows(path: Path, header: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: stripped value}) for each data row, checking the column count."""
    return tsv_rows(path, header, what="lexicon file")


def _key(path: Path, row: int, name: str, value: str, seen: Mapping[str, object]) -> str:
    """Normalised, non-empty, not yet seen key."""
    key = normalise_text(value)
    if not key:
        raise _error(path, row, name, "is empty")
    if key in seen:
        raise _error(path, row, name, f"duplicate entry {key!r}")
    return key


def _required(path: Path, row: int, name: str, value: str) -> str:
    if not value:
        raise _error(path, row, name, "is empty")
    return value


def _load_skills(paths: list[Path], taxonomy: Taxonomy) -> dict[str, tuple[str, ...]]:
    """One phrase table from the skill files; a phrase seen in an earlier file is a duplicate."""
    by_label = {skill.label: skill.uri for skill in taxonomy.skills.values()}
    found: dict[str, tuple[str, ...]] = {}
    origin: dict[str, tuple[Path, int]] = {}
    for path in paths:
        for row, cells in _rows(path, SKILLS_HEADER):
            key = normalise_text(cells["phrase"])
            if key in origin and origin[key][0] != path:
                other, other_row = origin[key]
                problem = f"duplicate entry {key!r}, already in {other.name} row {other_row}"
                raise _error(path, row, "phrase", problem)
            key = _key(path, row, "phrase", cells["phrase"], found)
            labels = [x.strip() for x in cells["esco_labels"].split(LABEL_SEP)]
            uris = tuple(_skill_uri(path, row, label, by_label, taxonomy) for label in labels)
            found[key] = tuple(dict.fromkeys(uris))
            origin[key] = (path, row)
    return found


def _skill_uri(
    path: Path, row: int, label: str, by_label: Mapping[str, str], taxonomy: Taxonomy
) -> str:
    if label in by_label:
        return by_label[label]
    near = [taxonomy.skill_label(uri) for uri in taxonomy.skills_by_label(label)][:3]
    hint = f" (did you mean {' or '.join(map(repr, near))}?)" if near else ""
    problem = f"{label!r} is not an ESCO skill preferred label{hint}"
    raise _error(path, row, "esco_labels", problem)


def _load_words(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for row, cells in _rows(path, WORDS_HEADER):
        key = _key(path, row, "word", cells["word"], found)
        found[key] = normalise_text(_required(path, row, "english", cells["english"]))
    return found


def _load_titles(path: Path, taxonomy: Taxonomy) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for row, cells in _rows(path, TITLES_HEADER):
        key = _key(path, row, "title", cells["title"], found)
        isco = cells["isco"]
        if len(isco) != 4 or not isco.isdigit() or isco not in taxonomy.isco_labels:
            raise _error(path, row, "isco", f"{isco!r} is not an ISCO-08 unit group (4 digits)")
        found[key] = (isco, _required(path, row, "english", cells["english"]))
    return found
