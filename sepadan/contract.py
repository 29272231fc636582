"""The data contract at the edge: pydantic models that validate one input row each.

Every import path (CLI files, later the API) validates through these models, then converts to the
frozen records in :mod:`sepadan.records`. Unknown fields are kept (``extra="allow"``), never an error.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from sepadan.features import education, geo, languages
from sepadan.records import (
    Agency, Experience, LanguageCred, LanguageReq, Outcome, Preferences, Training, TrainingDone,
    Vacancy, Worker,
)

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
# Licence numbers are written with slashes ("KEP.123/KA/2021"); other ids name a URL path segment.
Licence = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")]
Text = Annotated[str, Field(max_length=500)]
LongText = Annotated[str, Field(max_length=10_000)]
Phrase = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]  # not blank
MIN_AGE_OVERSEAS, MIN_AGE_WORK = 18, 15
STAGES = ("shortlisted", "interviewed", "offered", "hired", "departed", "completed", "rejected", "withdrew")
GENDERS = {"f": "F", "female": "F", "p": "F", "perempuan": "F", "wanita": "F",
           "m": "M", "male": "M", "l": "M", "laki-laki": "M", "laki laki": "M", "pria": "M"}


class _In(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, populate_by_name=True)


def _country(value: str | None) -> str | None:
    return None if value is None else geo.country_code(value)


def _region(value: str | None) -> str | None:
    return None if value is None else geo.region_code(value)


def _gender(value: str | None) -> str | None:
    if value is None:
        return None
    if value.casefold() not in GENDERS:
        raise ValueError(f"'{value}' is not a gender code (F or M)")
    return GENDERS[value.casefold()]


def _education(value: str | None) -> str | None:
    if value is not None and not education.is_known(value):
        raise ValueError(f"'{value}' is not on the education ladder (SD, SMP, SMA, SMK, D1-D4, S1-S3)")
    return value


class LanguageIn(_In):
    language: Annotated[str, Field(min_length=2, max_length=3)]
    test: str = "self"
    level: Annotated[str, Field(min_length=1, max_length=20)]

    @field_validator("language")
    @classmethod
    def _lang(cls, value: str) -> str:
        return _check_language(value)

    @field_validator("test")
    @classmethod
    def _test(cls, value: str) -> str:
        return languages.canonical_test(value)

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any, info: ValidationInfo) -> str:
        return _check_level(value, info)


class LanguageReqIn(_In):
    language: Annotated[str, Field(min_length=2, max_length=3)]
    test: str = "self"
    min_level: Annotated[str, Field(min_length=1, max_length=20,
                                    validation_alias=AliasChoices("min_level", "level"))]

    _lang = field_validator("language")(classmethod(lambda cls, v: _check_language(v)))
    _test = field_validator("test")(classmethod(lambda cls, v: languages.canonical_test(v)))

    @field_validator("min_level", mode="before")
    @classmethod
    def _level(cls, value: Any, info: ValidationInfo) -> str:
        return _check_level(value, info)


def _check_level(value: Any, info: ValidationInfo) -> str:
    level = str(value).strip()
    test = info.data.get("test")
    if test is not None:
        languages.ordinal(test, level)
    return level


def _check_language(code: str) -> str:
    code = code.casefold()
    if code not in languages.LANGUAGES:
        raise ValueError(f"'{code}' is not an ISO 639-1 language code this engine knows")
    return code


class TrainingDoneIn(_In):
    program_id: Id | None = None
    title: Text | None = None
    provider: Text | None = None
    hours: Annotated[float, Field(ge=0, le=10_000)] | None = None
    completed: date | None = None
    skills: list[Phrase] = Field(default_factory=list, max_length=100)


class ExperienceIn(_In):
    occupation: Phrase
    years: Annotated[float, Field(ge=0, le=60)] = 0.0
    country: str | None = None
    _c = field_validator("country")(_country)


class PreferencesIn(_In):
    countries: list[str] = Field(default_factory=list, max_length=50)
    domestic: bool | None = None
    sectors: list[Phrase] = Field(default_factory=list, max_length=50)

    @field_validator("countries")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [geo.country_code(v) for v in value]

    def overseas_bound(self) -> bool:
        """Whether the worker asks for work abroad: a country other than Indonesia, or not domestic."""
        return any(c != "ID" for c in self.countries) or self.domestic is False


def birth_date_problem(born: date | None, *, overseas: bool, today: date) -> str | None:
    """Why a birth date cannot be right, or None. Under 18 may not be placed abroad (UU 18/2017,
    art. 5); under 15 may not be employed at all (UU 13/2003, art. 68-69 allow only light work).
    The message never holds the date or the age: row errors reach screens, files and API bodies."""
    if born is None:
        return None
    if born > today:
        return f"is in the future (after {today.isoformat()}, the day of the import)"
    if born.year < 1900:
        return "is before 1900"
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if overseas and age < MIN_AGE_OVERSEAS:
        return (f"gives an age under {MIN_AGE_OVERSEAS} on {today.isoformat()}: a migrant worker placed "
                f"abroad must be at least {MIN_AGE_OVERSEAS} (UU 18/2017)")
    if age < MIN_AGE_WORK:
        return f"gives an age under {MIN_AGE_WORK} on {today.isoformat()}, the minimum working age (UU 13/2003)"
    return None


class WorkerIn(_In):
    id: Id
    name: Text | None = None
    nik: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    region: str | None = None
    education: str | None = None
    skills: list[Phrase] = Field(default_factory=list, max_length=200)
    languages: list[LanguageIn] = Field(default_factory=list, max_length=20)
    trainings: list[TrainingDoneIn] = Field(default_factory=list, max_length=100)
    experience: list[ExperienceIn] = Field(default_factory=list, max_length=100)
    certificates: list[Phrase] = Field(default_factory=list, max_length=100)
    documents: dict[str, bool] = Field(default_factory=dict, max_length=30)
    preferences: PreferencesIn = Field(default_factory=PreferencesIn)
    available: bool | None = None

    _g = field_validator("gender")(_gender)
    _r = field_validator("region")(_region)
    _e = field_validator("education")(_education)

    @field_validator("nik", mode="before")
    @classmethod
    def _nik_text(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError("the NIK must be text (in Excel: a cell formatted as Text); a number loses digits")
        return value

    @field_validator("nik")
    @classmethod
    def _nik_digits(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 16 and value.isascii() and value.isdigit()):
            raise ValueError("the NIK must be exactly 16 digits")
        return value

    @model_validator(mode="after")
    def _plausible_birth_date(self, info: ValidationInfo) -> WorkerIn:
        context = info.context or {}
        if context.get("stored"):  # checked when it was imported; reading the store never refuses it
            return self
        problem = birth_date_problem(self.birth_date, overseas=self.preferences.overseas_bound(),
                                     today=context.get("today") or date.today())
        if problem:
            raise ValidationError.from_exception_data("WorkerIn", [InitErrorDetails(
                type=PydanticCustomError("birth_date", problem), loc=("birth_date",), input=None)])
        return self

    def to_record(self) -> Worker:
        return Worker(
            id=self.id, gender=self.gender, birth_date=self.birth_date, region=self.region,
            education=self.education, skills=tuple(self.skills),
            languages=tuple(LanguageCred(x.language, x.test, x.level) for x in self.languages),
            trainings=tuple(_training_done(t) for t in self.trainings),
            experience=tuple(Experience(e.occupation, e.years, e.country) for e in self.experience),
            certificates=tuple(self.certificates), documents=dict(self.documents),
            preferences=Preferences(tuple(self.preferences.countries), self.preferences.domestic,
                                    tuple(self.preferences.sectors)),
            available=self.available,
        )


def _training_done(t: TrainingDoneIn) -> TrainingDone:
    return TrainingDone(t.program_id, t.title, t.provider, t.hours, t.completed, tuple(t.skills))


class SalaryIn(_In):
    amount: Annotated[float, Field(ge=0)] | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3, pattern="^[A-Za-z]{3}$")] | None = None
    period: Literal["hour", "day", "week", "month", "year"] | None = None


class VacancyIn(_In):
    id: Id
    title: Annotated[str, Field(min_length=1, max_length=300, pattern=r"\S")]
    employer: Text | None = None
    agency_licence: Annotated[str, Field(max_length=64)] | None = None
    country: str | None = None
    region: str | None = None
    sector: Annotated[str, Field(max_length=64)] | None = None
    occupation: Annotated[str, Field(max_length=200)] | None = None
    program: Annotated[str, Field(max_length=32)] | None = None
    description: LongText | None = None
    skills_required: list[Phrase] = Field(default_factory=list, max_length=100)
    skills_preferred: list[Phrase] = Field(default_factory=list, max_length=100)
    languages: list[LanguageReqIn] = Field(default_factory=list, max_length=10)
    education_min: str | None = None
    age_min: Annotated[int, Field(ge=0, le=100)] | None = None
    age_max: Annotated[int, Field(ge=0, le=100)] | None = None
    gender: str | None = None
    experience_years_min: Annotated[float, Field(ge=0, le=60)] | None = None
    certificates_required: list[Phrase] = Field(default_factory=list, max_length=50)
    positions: Annotated[int, Field(ge=0, le=100_000)] | None = None
    salary: SalaryIn | None = None
    scheme: Literal["G2G", "P2P", "individual", "domestic"] | None = None
    deadline: date | None = None
    open: bool | None = None

    _c = field_validator("country")(_country)
    _r = field_validator("region")(_region)
    _g = field_validator("gender")(_gender)
    _e = field_validator("education_min")(_education)

    @model_validator(mode="after")
    def _ages(self) -> VacancyIn:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError(f"age_min {self.age_min} is above age_max {self.age_max}")
        return self

    def to_record(self) -> Vacancy:
        data = {k: getattr(self, k) for k in _VACANCY_SCALARS}
        return Vacancy(
            **data, skills_required=tuple(self.skills_required),
            skills_preferred=tuple(self.skills_preferred),
            languages=tuple(LanguageReq(x.language, x.test, x.min_level) for x in self.languages),
            certificates_required=tuple(self.certificates_required),
        )


_VACANCY_SCALARS = (
    "id", "title", "employer", "agency_licence", "country", "region", "sector", "occupation",
    "program", "description", "education_min", "age_min", "age_max", "gender",
    "experience_years_min", "positions", "scheme", "deadline", "open",
)


class TrainingIn(_In):
    id: Id
    title: Annotated[str, Field(min_length=1, max_length=300, pattern=r"\S")]
    provider: Text | None = None
    region: str | None = None
    skills: list[Phrase] = Field(default_factory=list, max_length=100)
    languages: list[LanguageIn] = Field(default_factory=list, max_length=10)
    hours: Annotated[float, Field(ge=0, le=10_000)] | None = None
    duration_weeks: Annotated[float, Field(ge=0, le=520)] | None = None
    cost_idr: Annotated[float, Field(ge=0)] | None = None
    seats: Annotated[int, Field(ge=0, le=100_000)] | None = None
    next_start: date | None = None

    _r = field_validator("region")(_region)

    def to_record(self) -> Training:
        return Training(
            id=self.id, title=self.title, provider=self.provider, region=self.region,
            skills=tuple(self.skills),
            languages=tuple(LanguageCred(x.language, x.test, x.level) for x in self.languages),
            hours=self.hours, duration_weeks=self.duration_weeks, cost_idr=self.cost_idr,
            seats=self.seats, next_start=self.next_start,
        )


class AgencyIn(_In):
    licence: Licence
    name: Text | None = None
    status: Literal["active", "suspended", "revoked"] | None = None
    valid_until: date | None = None

    @property
    def id(self) -> str:
        return self.licence

    def to_record(self) -> Agency:
        return Agency(self.licence, self.name, self.status, self.valid_until)


class OutcomeIn(_In):
    worker_id: Id
    vacancy_id: Id
    stage: Literal["shortlisted", "interviewed", "offered", "hired", "departed", "completed", "rejected", "withdrew"]
    date: dt.date | None = None
    # The rank (1 = top) at which the worker was shown on the vacancy's shortlist, where the source
    # knows it (optional): inverse-propensity weighting of the offline evaluation reads it.
    shown_rank: Annotated[int, Field(ge=1, le=100_000)] | None = None

    @property
    def id(self) -> str:
        return f"{self.worker_id}|{self.vacancy_id}|{self.stage}"

    def to_record(self) -> Outcome:
        return Outcome(self.worker_id, self.vacancy_id, self.stage, self.date, self.shown_rank)


MODELS: dict[str, type[_In]] = {
    "workers": WorkerIn, "vacancies": VacancyIn, "trainings": TrainingIn,
    "agencies": AgencyIn, "outcomes": OutcomeIn,
}
KINDS = tuple(MODELS)
PERSONAL_FIELDS = ("nik", "name", "birth_date")
