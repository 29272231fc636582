"""What every command-line module shares: consoles, option types, the engine context, progress."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sepadan.errors import SepadanError

if TYPE_CHECKING:
    from sepadan.config import Settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

Home = Annotated[Optional[Path], typer.Option("--home", help="data folder (default $SEPADAN_HOME or ./.sepadan)")]
Lang = Annotated[str, typer.Option("--lang", help="language of reasons and gaps: id or en")]
K = Annotated[int, typer.Option("-k", min=1, max=500, help="how many results")]
AsJson = Annotated[bool, typer.Option("--json", help="print the data contract's JSON")]
AsCsv = Annotated[bool, typer.Option("--csv", help="print CSV")]
Today = Annotated[Optional[str], typer.Option("--today", help="evaluate deadlines and licences on this date (YYYY-MM-DD)")]



def _settings(home: Path | None) -> Settings:
    from sepadan.config import Settings  # not at import: `sepadan --help` needs no settings

    settings = Settings()
    return settings.model_copy(update={"home": home}) if home else settings


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SepadanError(f"--today: '{text}' is not a date like 2026-11-23") from None


def _lang(lang: str) -> str:
    if lang not in ("id", "en"):
        raise SepadanError(f"--lang must be id or en, not '{lang}'")
    return lang


@contextmanager
def _engine(home: Path | None, today: str | None = None) -> Iterator[Any]:
    from sepadan.engine import Engine

    with _progress() as progress:
        yield Engine(_settings(home), today=_date(today), progress=progress)


@contextmanager
def _progress() -> Iterator[Any]:
    bars = Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=False, disable=not err.is_terminal)
    tasks: dict[str, int] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bars.add_task(label, total=total)
        bars.update(tasks[label], completed=done, total=total)
        if not err.is_terminal and done == total:
            err.print(f"{label}: {done}/{total}")

    with bars:
        yield update
