"""The web app over the API tests' tiny market (tests/api_fixtures.py), with signed-in clients.

``make_web(root, encoder)`` gives a :class:`Web`: the :class:`~api_fixtures.Api` (engine, app,
tokens per key name: admin, officer (region 35), planner, portal, officer_a1, officer_all), a
controllable clock, and ``client(name)``, a started TestClient signed in with that key (its
``csrf`` attribute holds the session's CSRF token for form posts). Close clients with ``web.close()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api_fixtures import Api, caregiver, make_api, market, worker
from fastapi.testclient import TestClient

TODAY = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves: ``clock.advance(hours=9)``."""

    def __init__(self, now: datetime = TODAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Web:
    api: Api
    clock: Clock
    clients: list[TestClient] = field(default_factory=list)

    def anonymous(self) -> TestClient:
        client = TestClient(self.api.app, follow_redirects=False)
        client.__enter__()
        self.clients.append(client)
        return client

    def client(self, name: str) -> TestClient:
        """A client signed in with the key ``name`` (see api_fixtures.KEYS)."""
        client = self.anonymous()
        signed = sign_in(client, self.api.tokens[name])
        assert signed.status_code == 303, signed.text
        client.csrf = csrf_of(client.get("/job-orders" if name != "planner" else "/signin").text)  # type: ignore[attr-defined]
        return client

    def close(self) -> None:
        for c in self.clients:
            c.__exit__(None, None, None)


def sign_in(client: TestClient, key: str, *, next_: str = "/") -> Any:
    """Post the sign-in form as a browser would (its double-submit token first)."""
    form = client.get("/signin")
    token = re.search(r'name="signin_csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    return client.post("/signin", data={"key": key, "signin_csrf": token, "next": next_})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    return found.group(1) if found else ""


def web_market() -> dict[str, list[dict[str, Any]]]:
    """The API tests' market plus a job order asking for Japanese JLPT N4 (VJ) and W4 (35.08),
    who has the skill but no Japanese: one course (T1, Bahasa Jepang N4) away from VJ."""
    data = market()
    data["workers"].append(worker("W4", region="35.08", skills=["menjahit"], languages=[], name="Rina Wati",
                                  nik="3508014404960004"))
    data["vacancies"].append(caregiver("VJ", "A1", title="Sewing operator", country="JP", sector="manufacturing",
                                       skills_required=["menjahit"], skills_preferred=[],
                                       languages=[{"language": "ja", "test": "JLPT", "level": "N4"}]))
    return data


def make_web(root: Path, encoder: Any, **settings: Any) -> Web:
    api = make_api(root, encoder, data=web_market(), **settings)
    clock = Clock()
    api.app.state.web.clock = clock
    return Web(api, clock)
