"""Job orders as an officer lists them: filtered by destination, sector, agency and deadline, each
with its agency's licence status (never hidden: a revoked agency's order is listed, and says so)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sepadan.matching.eligibility import Context, agency_status
from sepadan.records import Vacancy


@dataclass(frozen=True, slots=True)
class JobOrder:
    vacancy: Vacancy
    licence: str  # active | not_required | unknown | suspended | revoked | expired


def job_orders(vacancies: Sequence[Vacancy], ctx: Context, *, country: str | None = None,
               sector: str | None = None, agency: str | None = None,
               deadline_by: date | None = None, open_on: date | None = None) -> list[JobOrder]:
    """The orders that pass every given filter (``open_on``: still open that day), soonest deadline
    first (none last), then by id."""
    rows = [JobOrder(v, agency_status(v, ctx.agencies, ctx.today)) for v in vacancies
            if (country is None or (v.country or "").upper() == country.upper())
            and (sector is None or v.sector == sector)
            and (agency is None or v.agency_licence == agency)
            and (deadline_by is None or (v.deadline is not None and v.deadline <= deadline_by))
            and (open_on is None or (v.open is not False and (v.deadline is None or v.deadline >= open_on)))]
    return sorted(rows, key=lambda o: (o.vacancy.deadline is None, o.vacancy.deadline or date.max, o.vacancy.id))
