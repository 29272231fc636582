"""Domain records: what the engine reasons about, as frozen dataclasses.

Personal data (NIK, name) never enters these records; the birth date stays only for age rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class LanguageCred:
    language: str
    test: str
    level: str


@dataclass(frozen=True, slots=True)
class LanguageReq:
    language: str
    test: str
    min_level: str


@dataclass(frozen=True, slots=True)
class TrainingDone:
    program_id: str | None = None
    title: str | None = None
    provider: str | None = None
    hours: float | None = None
    completed: date | None = None
    skills: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Experience:
    occupation: str
    years: float = 0.0
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Preferences:
    countries: tuple[str, ...] = ()
    domestic: bool | None = None
    sectors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Worker:
    id: str
    gender: str | None = None
    birth_date: date | None = None
    region: str | None = None
    education: str | None = None
    skills: tuple[str, ...] = ()
    languages: tuple[LanguageCred, ...] = ()
    trainings: tuple[TrainingDone, ...] = ()
    experience: tuple[Experience, ...] = ()
    certificates: tuple[str, ...] = ()
    documents: Mapping[str, bool] = field(default_factory=dict)
    preferences: Preferences = field(default_factory=Preferences)
    available: bool | None = None


@dataclass(frozen=True, slots=True)
class Vacancy:
    id: str
    title: str
    employer: str | None = None
    agency_licence: str | None = None
    country: str | None = None
    region: str | None = None
    sector: str | None = None
    occupation: str | None = None
    program: str | None = None
    description: str | None = None
    skills_required: tuple[str, ...] = ()
    skills_preferred: tuple[str, ...] = ()
    languages: tuple[LanguageReq, ...] = ()
    education_min: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    gender: str | None = None
    experience_years_min: float | None = None
    certificates_required: tuple[str, ...] = ()
    positions: int | None = None
    scheme: str | None = None
    deadline: date | None = None
    open: bool | None = None

    @property
    def overseas(self) -> bool:
        """Anything not declared domestic (country ID, or no country on a domestic scheme) is
        treated as overseas: an unknown destination gets the agency check, the safer assumption."""
        if self.country is None:
            return self.scheme != "domestic"
        return self.country != "ID"


@dataclass(frozen=True, slots=True)
class Training:
    id: str
    title: str
    provider: str | None = None
    region: str | None = None
    skills: tuple[str, ...] = ()
    languages: tuple[LanguageCred, ...] = ()
    hours: float | None = None
    duration_weeks: float | None = None
    cost_idr: float | None = None
    seats: int | None = None
    next_start: date | None = None


@dataclass(frozen=True, slots=True)
class Agency:
    licence: str
    name: str | None = None
    status: str | None = None
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    worker_id: str
    vacancy_id: str
    stage: str
    date: date | None = None
    shown_rank: int | None = None  # the rank it was shown at on the vacancy's shortlist, if known
