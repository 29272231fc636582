"""``sepadan serve`` (the HTTP API under uvicorn) and ``sepadan keys create|list|revoke``.

:func:`register` adds them to the main Typer app (``sepadan/cli/core.py`` calls it once, at the bottom).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer
from rich.table import Table

from sepadan.cli.common import Home, Today, _date, _settings, err, out
from sepadan.errors import SepadanError

keys_app = typer.Typer(no_args_is_help=True, add_completion=False,
                       help="API keys: create (shown once), list, revoke.")


class Loop(str, Enum):
    auto = "auto"
    uvloop = "uvloop"
    asyncio = "asyncio"


class Parser(str, Enum):
    auto = "auto"
    httptools = "httptools"
    h11 = "h11"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")


def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
          workers: Annotated[int, typer.Option(min=1, max=64, help="server processes")] = 1,
          loop: Annotated[Loop, typer.Option(help="event loop: auto is uvloop where installed")] = Loop.auto,
          http: Annotated[Parser, typer.Option(help="HTTP parser: auto is httptools where installed")] = Parser.auto,
          today: Today = None, home: Home = None) -> None:
    """Serve the HTTP API (FastAPI under uvicorn) on the store in HOME; docs at /docs."""
    import os

    import uvicorn

    loop, http = server_parts(loop.value, http.value)
    settings = _settings(home)
    os.environ["SEPADAN_HOME"] = str(settings.home.resolve())
    if today:
        _date(today)
        os.environ["SEPADAN_API_TODAY"] = today
    if workers > 1:  # the processes would race to migrate the store and write the same index files
        _prepare_home(settings.home, today)
    err.print(f"serving {settings.home} on http://{host}:{port} (docs: /docs; {loop}, {http}); model and "
              "indexes load first, /v1/health says when ready")
    uvicorn.run("sepadan.api.main:app", host=host, port=port, loop=loop, http=http,
                workers=workers, log_level="warning", proxy_headers=False, server_header=False)


def server_parts(loop: str = "auto", http: str = "auto") -> tuple[str, str]:
    """The event loop and HTTP parser uvicorn runs: uvloop and httptools where they are installed
    (together 0.76 ms less per shortlist over HTTP at the p50, README "Speed"), else asyncio and h11."""
    from importlib.util import find_spec

    if loop == "auto":
        loop = "uvloop" if find_spec("uvloop") is not None else "asyncio"
    if http == "auto":
        http = "httptools" if find_spec("httptools") is not None else "h11"
    return loop, http


def _prepare_home(home: object, today: Optional[str]) -> None:
    """Migrate the store, create the rate-limit counters and write fresh indexes once, in a child
    process (the supervisor stays small), before several server processes open the same home."""
    import multiprocessing

    err.print("preparing the store and the indexes for several server processes...")
    child = multiprocessing.get_context("spawn").Process(target=_prepare, args=(str(home), today),
                                                         name="sepadan-prepare")
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SepadanError(f"could not prepare {home} for serving (exit code {child.exitcode}); see the log above")


def _prepare(home: str, today: Optional[str]) -> None:
    from pathlib import Path

    from sepadan.engine import Engine
    from sepadan.store.counters import server_counters

    settings = _settings(Path(home))
    engine = Engine(settings, today=_date(today))
    if settings.api_rate_limit or settings.api_auth_failures:
        server_counters(store_engine=engine.store.engine, home=settings.home, url=settings.api_limits_url)
    engine.build()


@keys_app.command("create")
def create(role: Annotated[str, typer.Option("--role", help="admin, officer, planner or portal")],
           region: Annotated[Optional[list[str]], typer.Option("--region", help="Kemendagri code the key may see (repeatable; none: all)")] = None,
           agency: Annotated[Optional[str], typer.Option("--agency", help="the agency licence this key belongs to (tenant)")] = None,
           label: Annotated[Optional[str], typer.Option("--label", help="who or what holds the key")] = None,
           home: Home = None) -> None:
    """Create an API key; it is printed once (only its hash is stored)."""
    from sepadan.store.db import Store
    from sepadan.store.keys import create_key

    settings = _settings(home)
    try:
        key, token = create_key(Store.open(settings.url), role, regions=tuple(region or ()), agency=agency,
                                label=label)
    except ValueError as exc:
        raise SepadanError(str(exc)) from exc
    err.print(f"key {key.id}: role {key.role}, regions {', '.join(key.regions) or 'all'}, "
              f"agency {key.agency or '-'}; keep it now, it is not shown again:")
    out.print(token, highlight=False)


@keys_app.command("list")
def list_(home: Home = None) -> None:
    """The keys (ids, roles, scopes; never the keys themselves)."""
    from sepadan.store.db import Store
    from sepadan.store.keys import list_keys

    table = Table(title="API keys")
    for col in ("id", "role", "regions", "agency", "label", "created", "revoked"):
        table.add_column(col)
    for k in list_keys(Store.open(_settings(home).url)):
        table.add_row(k.id, k.role, ", ".join(k.regions) or "all", k.agency or "-", k.label or "-",
                      f"{k.created_at:%Y-%m-%d %H:%M}" if k.created_at else "-",
                      f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "-")
    out.print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="the key's id, from `sepadan keys list`")],
           home: Home = None) -> None:
    """Revoke a key (takes effect within 10 seconds)."""
    from sepadan.store.db import Store
    from sepadan.store.keys import revoke_key

    revoke_key(Store.open(_settings(home).url), key_id)
    out.print(f"revoked {key_id}")
