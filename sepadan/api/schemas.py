"""Request and response bodies. Request models forbid unknown fields, at every level; the contract
models they extend do the validation (the same rules as a file import)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator

from sepadan.contract import (
    AgencyIn, ExperienceIn, LanguageIn, LanguageReqIn, OutcomeIn, PreferencesIn, SalaryIn, TrainingDoneIn,
    TrainingIn, VacancyIn, WorkerIn,
)

# A JSON body is validated as its schema says: strict types (0 is not false, "5" is not 5; a date is
# text, YYYY-MM-DD; an integer may be written 5.0), text kept as sent (" W-1" does not pass as "W-1").
# The contract models then trim and convert the values, as for a file.
FORBID = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=False)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_text(value: Any) -> Any:
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date as text, YYYY-MM-DD")


def _json_integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("Input should be a valid integer")
    return value


JsonDate = Annotated[date, Strict(False), BeforeValidator(_date_text)]
Age = Annotated[int, Field(ge=0, le=100), Strict(False), BeforeValidator(_json_integer)]
Count = Annotated[int, Field(ge=0, le=100_000), Strict(False), BeforeValidator(_json_integer)]
Rank = Annotated[int, Field(ge=1, le=100_000), Strict(False), BeforeValidator(_json_integer)]
WORKER_EXAMPLE = {
    "id": "W-000123", "name": "Siti Aminah", "nik": "9271014101900003", "birth_date": "1990-01-01",
    "gender": "F", "region": "35.08", "education": "SMA", "skills": ["merawat lansia", "memasak"],
    "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}],
    "trainings": [{"title": "Caregiver", "provider": "LPK Sakura", "hours": 320, "completed": "2025-06-30"}],
    "experience": [{"occupation": "pengasuh lansia", "years": 2, "country": "TW"}],
    "documents": {"passport": True, "medical": False}, "preferences": {"countries": ["JP", "TW"]},
    "available": True,
}
PROFILE_EXAMPLE = {k: v for k, v in WORKER_EXAMPLE.items() if k not in ("name", "nik", "birth_date")}
VACANCY_EXAMPLE = {
    "id": "V-0042", "title": "Caregiver (kaigo)", "employer": "Sakura Care", "agency_licence": "P3MI-001",
    "country": "JP", "sector": "caregiving", "program": "SSW", "skills_required": ["elderly care"],
    "languages": [{"language": "ja", "test": "JLPT", "min_level": "N4"}], "age_min": 18, "age_max": 35,
    "positions": 10, "deadline": "2026-12-31", "open": True,
}


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    return value


class LanguageBody(LanguageIn):
    model_config = FORBID
    _level_text = field_validator("level", mode="before")(_text)


class LanguageReqBody(LanguageReqIn):
    model_config = FORBID
    _level_text = field_validator("min_level", mode="before")(_text)


class TrainingDoneBody(TrainingDoneIn):
    model_config = FORBID
    completed: JsonDate | None = None


class ExperienceBody(ExperienceIn):
    model_config = FORBID


class PreferencesBody(PreferencesIn):
    model_config = FORBID


class SalaryBody(SalaryIn):
    model_config = FORBID


class WorkerBody(WorkerIn):
    model_config = ConfigDict(**FORBID, json_schema_extra={"examples": [WORKER_EXAMPLE]})
    nik: Annotated[str, Field(json_schema_extra={"pattern": "^[0-9]{16}$"})] | None = None
    birth_date: JsonDate | None = None
    languages: list[LanguageBody] = Field(default_factory=list, max_length=20)
    trainings: list[TrainingDoneBody] = Field(default_factory=list, max_length=100)
    experience: list[ExperienceBody] = Field(default_factory=list, max_length=100)
    preferences: PreferencesBody = Field(default_factory=PreferencesBody)
    documents: dict[Annotated[str, Field(max_length=64)], bool] = Field(default_factory=dict, max_length=30)


class ProfileBody(WorkerBody):
    """A worker's profile from a portal: the worker format; it is matched, never stored."""

    model_config = ConfigDict(**FORBID, json_schema_extra={"examples": [PROFILE_EXAMPLE]})


class VacancyBody(VacancyIn):
    model_config = ConfigDict(**FORBID, json_schema_extra={"examples": [VACANCY_EXAMPLE]})
    languages: list[LanguageReqBody] = Field(default_factory=list, max_length=10)
    salary: SalaryBody | None = None
    deadline: JsonDate | None = None
    age_min: Age | None = None
    age_max: Age | None = None
    positions: Count | None = None


class TrainingBody(TrainingIn):
    model_config = ConfigDict(**FORBID, json_schema_extra={"examples": [
        {"id": "T-01", "title": "Bahasa Jepang N4", "provider": "LPK Sakura", "region": "35.08",
         "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}], "hours": 400, "seats": 20,
         "cost_idr": 4500000}]})
    languages: list[LanguageBody] = Field(default_factory=list, max_length=10)
    next_start: JsonDate | None = None
    seats: Count | None = None


class AgencyBody(AgencyIn):
    model_config = ConfigDict(**FORBID, json_schema_extra={"examples": [
        {"licence": "P3MI-001", "name": "PT Contoh Jaya", "status": "active", "valid_until": "2028-01-31"}]})
    valid_until: JsonDate | None = None


class OutcomeBody(OutcomeIn):
    model_config = ConfigDict(**FORBID, json_schema_extra={"examples": [
        {"worker_id": "W-000123", "vacancy_id": "V-0042", "stage": "hired", "date": "2026-02-14"}]})
    date: JsonDate | None = None
    shown_rank: Rank | None = None  # an integer as JSON Schema says (2.0 too), never "2" or true


BODIES: dict[str, type[BaseModel]] = {"workers": WorkerBody, "vacancies": VacancyBody, "trainings": TrainingBody,
                                      "agencies": AgencyBody, "outcomes": OutcomeBody}


class Personal(BaseModel):
    """What an officer sees of a worker's personal data: the name, the NIK masked, the birth date."""

    name: str | None = None
    nik_masked: str | None = Field(None, description="the last four digits only, e.g. ************0003")
    birth_date: str | None = None


class WorkerOut(WorkerIn):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {**PROFILE_EXAMPLE, "personal": {"name": "Siti Aminah", "nik_masked": "************0003",
                                         "birth_date": "1990-01-01"}}]})
    personal: Personal | None = None


class AuditLine(BaseModel):
    at: str
    key_id: str
    action: str
    route: str | None = None


class WorkerExport(BaseModel):
    """Everything stored on one worker (a subject access request)."""

    worker: WorkerOut
    outcomes: list[dict[str, Any]]
    audit: list[AuditLine]
    stored: dict[str, Any]
    index: dict[str, bool]


class VacancyOut(VacancyIn):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [VACANCY_EXAMPLE]})


class TrainingOut(TrainingIn):
    model_config = ConfigDict(extra="allow")


class AgencyOut(AgencyIn):
    model_config = ConfigDict(extra="allow")


class OutcomeOut(OutcomeIn):
    model_config = ConfigDict(extra="allow")


OUTS: dict[str, type[BaseModel]] = {"workers": WorkerOut, "vacancies": VacancyOut, "trainings": TrainingOut,
                                    "agencies": AgencyOut, "outcomes": OutcomeOut}


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


class Written(BaseModel):
    """What a create, update or bulk upload did."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"kind": "workers", "rows": 1, "inserted": 1, "updated": 0, "unchanged": 0, "ids": ["W-000123"]}]})
    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    ids: list[str] = Field(default_factory=list, description="the ids written (at most 100 listed)")


class Result(BaseModel):
    """One ranked pair, in the data contract's output shape."""

    model_config = ConfigDict(extra="allow")
    worker_id: str | None = None
    vacancy_id: str | None = None
    rank: int | None = None
    score: float
    components: dict[str, float]
    reasons: list[str]
    gaps: list[str]
    eligible: bool | None = None
    failed: list[str] | None = None
    rules: list[str] | None = None
    name: str | None = Field(None, description="officers only: the worker's name")
    region: str | None = None
    title: str | None = None
    country: str | None = None
    employer: str | None = None


class Shortlist(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"vacancy_id": "V-0042", "model_version": "transparent-1", "lang": "en", "results": [
            {"worker_id": "W-000123", "rank": 1, "score": 0.83, "name": "Siti Aminah", "region": "35.08",
             "components": {"skills": 0.91, "language": 1.0, "experience": 0.4, "training": 0.7},
             "reasons": ["JLPT N4 meets the N4 required"], "gaps": ["dementia care"]}]}]})
    vacancy_id: str
    model_version: str
    lang: str
    warnings: list[str] | None = None
    results: list[Result]


class Recommendations(BaseModel):
    worker_id: str
    model_version: str
    lang: str
    results: list[Result]


class MatchOut(BaseModel):
    """Vacancies for an unstored profile; the profile's id and personal fields are not echoed."""

    model_version: str
    lang: str
    results: list[Result]


class Check(BaseModel):
    rule: str
    ok: bool
    hard: bool
    message: str


class ScorePart(BaseModel):
    feature: str
    value: float
    contribution: float = Field(description="this feature's part of the score; the parts add up to it")


class ScoreParts(BaseModel):
    """The score the pair is ranked by, taken apart (exact: the models are additive)."""

    model_version: str
    score: float
    parts: list[ScorePart]


class RulesAndEvidence(BaseModel):
    """The transparent scorer's score and components: what an officer can check by hand."""

    model_version: str
    score: float
    components: dict[str, float]


class Explanation(Result):
    model_version: str
    checks: list[Check]
    score_parts: ScoreParts | None = None
    rules_and_evidence: RulesAndEvidence | None = None


class Health(BaseModel):
    status: str = Field(description="ready, or loading / failed")
    store: bool
    model: bool
    indexes: bool
    detail: str | None = None


class IndexInfo(BaseModel):
    rows: int
    kind: str
    built_at: str | None = None
    build_seconds: float | None = None


class Version(BaseModel):
    package: str
    model: str | None
    ranker: str | None
    indexes: dict[str, IndexInfo]
