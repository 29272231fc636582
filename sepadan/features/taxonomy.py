"""ESCO skills and occupations, ISCO-08 groups and KBJI 2014 titles, loaded from data/.

The files are built by ``python data/build.py`` (see data/README.md). Every label lookup is an
exact match on :func:`~sepadan.features.text.normalise_text` keys; fuzzy or semantic matching
lives elsewhere.
"""

from __future__ import annotations

import functools
import gzip
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from sepadan.features.text import normalise_text

log = logging.getLogger(__name__)

ALT_SEP = "|"
FILES = {
    "skills": "esco/skills.tsv.gz",
    "broader": "esco/skill_broader.tsv.gz",
    "groups": "esco/skill_groups.tsv.gz",
    "occupations": "esco/occupations.tsv.gz",
    "occupation_skills": "esco/occupation_skills.tsv.gz",
    "isco": "esco/isco_groups.tsv.gz",
    "kbji": "kbji/kbji2014.tsv.gz",
}
_PARENS = re.compile(r"\([^)]*\)")

Index = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Skill:
    """An ESCO skill or knowledge concept; ``broader`` holds skill and skill-group URIs."""

    uri: str
    label: str
    alt_labels: tuple[str, ...]
    kind: str
    broader: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Occupation:
    """An ESCO occupation with its 4-digit ISCO-08 unit group and ESCO code (e.g. 5322.1)."""

    uri: str
    label: str
    alt_labels: tuple[str, ...]
    isco: str
    essential: tuple[str, ...]
    optional: tuple[str, ...]
    code: str = ""


@dataclass(frozen=True, slots=True)
class KbjiTitle:
    """A KBJI 2014 unit group (4-digit code) or job title (6-digit code, e.g. 5322.01)."""

    code: str
    title: str
    isco: str


@dataclass(frozen=True, slots=True)
class LabelIndexes:
    """The exact-match lookups: normalised label -> URIs (preferred, alternative), KBJI titles,
    and the narrower skills of each concept."""

    skill_pref: Index
    skill_alt: Index
    occ_pref: Index
    occ_alt: Index
    kbji: Mapping[str, tuple[KbjiTitle, ...]]
    narrower: Index


class _LabelIndexes:
    """:class:`LabelIndexes`, built on first use (0.7 s of normalising 150,000 labels): a
    shortlist from stored profiles never looks a label up, so ``sepadan shortlist`` does not pay."""

    def __init__(self, skills: Mapping[str, Skill], occupations: Mapping[str, Occupation],
                 kbji: tuple[KbjiTitle, ...]) -> None:
        self._parts = (skills, occupations, kbji)
        self._built: LabelIndexes | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:  # a lock does not pickle (the batch ships the taxonomy to Ray)
        return {"parts": self._parts, "built": self._built}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._parts, self._built = state["parts"], state["built"]  # type: ignore[assignment]
        self._lock = threading.Lock()

    def get(self) -> LabelIndexes:
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    started = time.perf_counter()
                    self._built = _label_indexes(*self._parts)
                    log.info("taxonomy label indexes built in %.2f s", time.perf_counter() - started)
                built = self._built
        return built


@dataclass(frozen=True, slots=True, eq=False)
class Taxonomy:
    """Read-only view of the reference classifications; build it with :func:`load_taxonomy`."""

    skills: Mapping[str, Skill]
    occupations: Mapping[str, Occupation]
    kbji: tuple[KbjiTitle, ...]
    isco_labels: Mapping[str, str]
    group_labels: Mapping[str, str]
    _labels: _LabelIndexes = field(repr=False)

    def skills_by_label(self, text: str) -> tuple[str, ...]:
        """Skill URIs whose preferred label matches ``text``, else those whose alt label does."""
        ix = self._labels.get()
        return _lookup(ix.skill_pref, ix.skill_alt, text)

    def occupations_by_label(self, text: str) -> tuple[str, ...]:
        """Occupation URIs whose preferred label matches ``text``, else by alt label."""
        ix = self._labels.get()
        return _lookup(ix.occ_pref, ix.occ_alt, text)

    def kbji_by_title(self, text: str) -> tuple[KbjiTitle, ...]:
        """KBJI entries whose title (or title without its parenthesised part) matches."""
        return self._labels.get().kbji.get(normalise_text(text), ())

    def related(self, a: str, b: str) -> bool:
        """True for two distinct skills where one is broader than the other or both share a
        broader concept (a skill or a skill group); used for partial credit."""
        if a == b or a not in self.skills or b not in self.skills:
            return False
        up_a, up_b = self.skills[a].broader, self.skills[b].broader
        return b in up_a or a in up_b or not set(up_a).isdisjoint(up_b)

    def narrower(self, uri: str) -> tuple[str, ...]:
        """Skills whose broader concepts include ``uri`` (a skill or a skill group)."""
        return self._labels.get().narrower.get(uri, ())

    def skill_label(self, uri: str) -> str:
        """Preferred label of a skill or skill group; ``KeyError`` if unknown."""
        if uri in self.skills:
            return self.skills[uri].label
        return self.group_labels[uri]

    def occupation_for_isco(self, isco: str) -> tuple[str, ...]:
        """Occupation URIs in an ISCO-08 group (1 to 4 digits), ordered by ESCO code."""
        code = isco.strip()
        if not code.isdigit():
            return ()
        found = (o for o in self.occupations.values() if o.isco.startswith(code))
        return tuple(o.uri for o in sorted(found, key=lambda o: (_code_key(o.code), o.uri)))


def _code_key(code: str) -> tuple[int, ...]:
    return tuple(int(p) for p in code.split(".") if p.isdigit())


def _lookup(pref: Index, alt: Index, text: str) -> tuple[str, ...]:
    key = normalise_text(text)
    return pref.get(key) or alt.get(key, ())


def default_data_dir() -> Path:
    """The repository's ``data/`` folder."""
    return Path(__file__).resolve().parents[2] / "data"


def load_taxonomy(data_dir: Path | None = None) -> Taxonomy:
    """Load (once per folder; cached) the taxonomy built by ``python data/build.py``."""
    return _load_cached(Path(data_dir or default_data_dir()).resolve())


@functools.lru_cache(maxsize=4)
def _load_cached(data_dir: Path) -> Taxonomy:
    start = time.perf_counter()
    tables = {name: _read_tsv(data_dir / rel) for name, rel in FILES.items()}
    taxonomy = _assemble(tables)
    log.info(
        "loaded taxonomy from %s in %.2f s: %d skills, %d occupations, %d KBJI entries",
        data_dir,
        time.perf_counter() - start,
        len(taxonomy.skills),
        len(taxonomy.occupations),
        len(taxonomy.kbji),
    )
    return taxonomy


def _read_tsv(path: Path) -> list[list[str]]:
    """Rows of a gzip TSV written by data/build.py, header dropped."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `python data/build.py` from the repository root "
            "to build the taxonomy files"
        )
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as handle:
        lines = handle.read().split("\n")
    return [line.split("\t") for line in lines[1:] if line]


def _split_alts(raw: str) -> tuple[str, ...]:
    return tuple(raw.split(ALT_SEP)) if raw else ()


def _assemble(t: dict[str, list[list[str]]]) -> Taxonomy:
    skills = _skills(t["skills"], t["broader"])
    occupations = _occupations(t["occupations"], t["occupation_skills"])
    kbji = tuple(KbjiTitle(code, title, isco) for code, _, title, isco in t["kbji"])
    return Taxonomy(
        skills=MappingProxyType(skills),
        occupations=MappingProxyType(occupations),
        kbji=kbji,
        isco_labels=MappingProxyType(dict(t["isco"])),
        group_labels=MappingProxyType(dict(t["groups"])),
        _labels=_LabelIndexes(skills, occupations, kbji),
    )


def _label_indexes(skills: Mapping[str, Skill], occupations: Mapping[str, Occupation],
                   kbji: tuple[KbjiTitle, ...]) -> LabelIndexes:
    return LabelIndexes(
        skill_pref=_index((s.uri, (s.label,)) for s in skills.values()),
        skill_alt=_index((s.uri, s.alt_labels) for s in skills.values()),
        occ_pref=_index((o.uri, (o.label,)) for o in occupations.values()),
        occ_alt=_index((o.uri, o.alt_labels) for o in occupations.values()),
        kbji=_kbji_index(kbji),
        narrower=_narrower(skills.values()),
    )


def _skills(rows: list[list[str]], broader_rows: list[list[str]]) -> dict[str, Skill]:
    broader = defaultdict(list)
    for uri, up in broader_rows:
        broader[uri].append(up)
    return {
        uri: Skill(uri, label, _split_alts(alts), kind, tuple(broader.get(uri, ())))
        for uri, label, alts, kind, _reuse in rows
    }


def _occupations(rows: list[list[str]], links: list[list[str]]) -> dict[str, Occupation]:
    by_kind: dict[tuple[str, str], list[str]] = defaultdict(list)
    for occ, relation, skill in links:
        by_kind[occ, relation].append(skill)
    return {
        uri: Occupation(
            uri=uri,
            label=label,
            alt_labels=_split_alts(alts),
            isco=isco,
            essential=tuple(by_kind.get((uri, "essential"), ())),
            optional=tuple(by_kind.get((uri, "optional"), ())),
            code=code,
        )
        for uri, label, alts, isco, code in rows
    }


def _index(entries: Iterable[tuple[str, tuple[str, ...]]]) -> Index:
    """``normalised label -> sorted URIs`` for (uri, labels) pairs."""
    found: dict[str, set[str]] = defaultdict(set)
    for uri, labels in entries:
        for label in labels:
            found[normalise_text(label)].add(uri)
    found.pop("", None)
    return MappingProxyType({k: tuple(sorted(v)) for k, v in found.items()})


def _kbji_index(entries: tuple[KbjiTitle, ...]) -> Mapping[str, tuple[KbjiTitle, ...]]:
    found: dict[str, list[KbjiTitle]] = defaultdict(list)
    for entry in entries:
        keys = {normalise_text(entry.title), normalise_text(_PARENS.sub(" ", entry.title))}
        for key in keys - {""}:
            found[key].append(entry)
    return MappingProxyType({k: tuple(v) for k, v in found.items()})


def _narrower(skills: Iterable[Skill]) -> Index:
    found: dict[str, list[str]] = defaultdict(list)
    for skill in skills:
        for up in skill.broader:
            found[up].append(skill.uri)
    return MappingProxyType({k: tuple(sorted(v)) for k, v in found.items()})
