"""``sepadan erase WORKER_ID``: an administrator erases a worker from the command line.

:func:`register` adds it to the main Typer app (``sepadan/cli/core.py`` calls it once, at the bottom).
The erasure is the API's (``engine.live.erase``): store row with NIK and name, outcomes, phrases only
they wrote, index files; the audit log keeps the erasure under a keyed pseudonym (UU PDP 27/2022).
"""

from __future__ import annotations

from typing import Annotated

import typer

from sepadan.cli.common import Home, _engine, out
from sepadan.errors import NotFound

CLI_AUDIT = ("cli", "cli_erase")  # the audit log's key id and route for an erasure from here


def register(app: typer.Typer) -> None:
    app.command("erase")(erase)


def erase(worker_id: Annotated[str, typer.Argument(help="the worker's id")],
          vacuum: Annotated[bool, typer.Option(
              "--vacuum", help="then rewrite the database (SQLite VACUUM, PostgreSQL VACUUM (FULL))")] = False,
          home: Home = None) -> None:
    """Erase a worker everywhere sepadan keeps them (store, outcomes, phrase cache, index files)."""
    with _engine(home) as engine:
        if engine.store.get("workers", worker_id) is None:
            raise NotFound(f"worker '{worker_id}' not found")
        engine.live.erase(worker_id, by=CLI_AUDIT[0], route=CLI_AUDIT[1])
        engine.live.wait()  # an ANN-sized pool: the index files are rewritten in the background
        if vacuum:
            engine.store.vacuum()
    out.print(f"erased worker {worker_id}: store, outcomes, own phrases, index files"
              + ("; database vacuumed" if vacuum else ""))
