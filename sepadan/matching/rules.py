"""Destination programme rules and document lead times, read from data/rules/programmes.json."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sepadan.errors import ConfigError
from sepadan.features import languages
from sepadan.features.text import normalise_text
from sepadan.records import LanguageReq, Vacancy


@dataclass(frozen=True, slots=True)
class ProgrammeRule:
    id: str
    source: str
    country: str | None = None
    sector: str | None = None
    overseas: bool | None = None
    program: str | None = None
    scheme: str | None = None
    title_pattern: re.Pattern[str] | None = None
    age_min: int | None = None
    age_max: int | None = None
    languages_any: tuple[LanguageReq, ...] = ()
    certificates_any_by_sector: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def applies(self, v: Vacancy) -> bool:
        if self.overseas is not None and v.overseas != self.overseas:
            return False
        if self.country and v.country != self.country:
            return False
        if self.sector and v.sector != self.sector:
            return False
        either = [self.program and (v.program or "").upper() == self.program.upper(),
                  self.scheme and v.scheme == self.scheme,
                  self.title_pattern and self.title_pattern.search(normalise_text(v.title))]
        asked = [x for x in (self.program, self.scheme, self.title_pattern) if x]
        return not asked or any(either)

    def certificates_for(self, sector: str | None) -> tuple[str, ...]:
        return self.certificates_any_by_sector.get(sector or "", ())


@dataclass(frozen=True, slots=True)
class RuleBook:
    programmes: tuple[ProgrammeRule, ...]
    document_lead_days: dict[str, int]
    documents_source: str

    def for_vacancy(self, v: Vacancy) -> tuple[ProgrammeRule, ...]:
        return tuple(r for r in self.programmes if r.applies(v))


def load_rules(path: Path) -> RuleBook:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rules = tuple(_rule(r) for r in data["rules"])
        docs = data["documents"]
        return RuleBook(rules, {k: int(v) for k, v in docs["overseas"].items()}, docs["source"])
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: cannot read programme rules ({exc})") from exc


def _rule(raw: dict) -> ProgrammeRule:
    applies = raw.get("applies", {})
    reqs = tuple(LanguageReq(x["language"], languages.canonical_test(x["test"]), x["min_level"])
                 for x in raw.get("languages_any", ()))
    for req in reqs:
        languages.ordinal(req.test, req.min_level)
    pattern = applies.get("title_pattern")
    return ProgrammeRule(
        id=raw["id"], source=raw["source"], country=applies.get("country"), sector=applies.get("sector"),
        overseas=applies.get("overseas"), program=applies.get("program"), scheme=applies.get("scheme"),
        title_pattern=re.compile(pattern) if pattern else None, age_min=raw.get("age_min"),
        age_max=raw.get("age_max"), languages_any=reqs,
        certificates_any_by_sector={k: tuple(v) for k, v in raw.get("certificates_any_by_sector", {}).items()},
    )
