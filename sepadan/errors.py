"""The library's one small exception hierarchy; each edge (CLI, API) translates it once."""

from __future__ import annotations

from dataclasses import dataclass


class SepadanError(Exception):
    """Base class: a problem a user can act on, with a one-line message."""


class NotFound(SepadanError):
    """A worker, vacancy or other record that does not exist."""


class ConfigError(SepadanError):
    """Settings, model or data files are missing or inconsistent."""


class FileTooLarge(SepadanError):
    """An input file (or what it expands to) past a size limit; nothing was read into the store."""


class UnreadableFile(SepadanError):
    """An input file whose bytes are not the format its name says (not a zip, a damaged workbook)."""


class IndexError_(SepadanError):
    """An index file is missing, corrupt or built by another model."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One invalid field in one row of one input file."""

    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}, field '{self.field}': {self.message}"


class InvalidInput(SepadanError):
    """An import file with invalid rows; nothing was written."""

    def __init__(self, errors: list[RowError], *, written: int = 0) -> None:
        self.errors = errors
        self.written = written
        first = str(errors[0]) if errors else "invalid input"
        more = f" (and {len(errors) - 1} more invalid rows)" if len(errors) > 1 else ""
        super().__init__(first + more)
