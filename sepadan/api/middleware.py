"""Pure ASGI middleware guarding bodies: request size limits (413) and the portal's responses
(no NIK, in any form)."""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

from sepadan.api.scrub import NikMask


class BodyLimit:
    """Pure ASGI: 413 for a body over the limit (by Content-Length, or counted while streaming).
    Uploads (multipart) may be ``upload_max`` bytes, other bodies ``json_max``. The API (``/v1``)
    and any client that does not ask for HTML get problem+json; a browser posting a web form
    (a path outside ``/v1``, ``Accept: text/html``) is sent back with a 303 to the form's page,
    ``/<first path segment>?too_large=<limit in bytes>``, which says so (the import page does)."""

    def __init__(self, app: Any, *, json_max: int, upload_max: int) -> None:
        self.app, self.json_max, self.upload_max = app, json_max, upload_max

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/") and scope["path"].endswith("/bulk")
        limit = self.upload_max if multipart else self.json_max
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(send, limit, scope)
            return
        seen = [0]

        async def receiving() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:
                    raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, receiving, send)
        except _TooLarge:
            await _too_large(send, limit, scope)


class _TooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body reader passes it on instead of answering 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over {limit:,} bytes")


async def _too_large(send: Any, limit: int, scope: dict) -> None:
    import orjson

    if _from_a_browser(scope):
        section = scope["path"].strip("/").split("/", 1)[0]
        location = f"/{section}?too_large={limit}".encode()
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location), (b"content-length", b"0"),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": b""})
        return
    body = orjson.dumps({"type": "about:blank", "title": "Content too large", "status": 413,
                         "detail": f"the body is over {limit:,} bytes"})
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _from_a_browser(scope: dict) -> bool:
    """A web page's form (not the API) posted by a client that reads HTML."""
    path = scope["path"]
    if path == "/v1" or path.startswith("/v1/"):
        return False
    accept = dict(scope.get("headers") or []).get(b"accept", b"")
    section = path.strip("/").split("/", 1)[0]
    return b"text/html" in accept and re.fullmatch(r"[a-z][a-z0-9-]{0,40}", section) is not None


class PortalScrub:
    """Pure ASGI: a response to a portal key never carries a NIK (one could hide in any stored text
    or in the caller's own path). The whole body is buffered, however many chunks it is streamed
    in, and masked by :class:`~sepadan.api.scrub.NikMask` (the pattern and the stored NIKs);
    Content-Length is set to the masked body's length."""

    def __init__(self, app: Any, *, mask: NikMask | None = None) -> None:
        self.app, self.mask = app, mask or NikMask()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # the dict request.state writes the key into, shared below
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start" and _is_portal(scope):
                held["start"] = message
                return
            if message["type"] != "http.response.body" or "start" not in held:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._send_masked(held["start"], b"".join(chunks), send)

        await self.app(scope, receive, sending)

    async def _send_masked(self, start: dict, body: bytes, send: Any) -> None:
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"").decode("latin-1")
        masked = await run_in_threadpool(self.mask.body, body, content_type)  # may ask the store
        headers.append((b"content-length", str(len(masked)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": masked})


def _is_portal(scope: dict) -> bool:
    key = (scope.get("state") or {}).get("key")
    return getattr(key, "role", None) == "portal"


HOLD_HEADER = b"x-sepadan-test-hold"


class HoldForTests:
    """Pure ASGI, for tests only: installed when whoever starts the server sets ``test_hold_dir``
    (``SEPADAN_TEST_HOLD_DIR``); a client's header alone does nothing without it. A request with the
    header ``X-Sepadan-Test-Hold`` leaves a file ``held-*`` in that folder (so a test can count the
    requests the server has accepted), waits until a file ``release`` appears there (at most
    ``max_hold`` seconds), then is served as usual."""

    def __init__(self, app: Any, *, folder: Path, max_hold: float = 60.0) -> None:
        self.app, self.folder, self.max_hold = app, folder, max_hold

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and any(k == HOLD_HEADER for k, _ in scope.get("headers") or []):
            (self.folder / f"held-{os.getpid()}-{uuid.uuid4().hex}").touch()
            deadline = time.monotonic() + self.max_hold
            while not (self.folder / "release").exists() and time.monotonic() < deadline:
                await anyio.sleep(0.05)
        await self.app(scope, receive, send)
