"""Pure ASGI middleware guarding bodies: request size limits (413) and the portal's responses
(no 16-digit number)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException


class BodyLimit:
    """Pure ASGI: 413 for a body over the limit (by Content-Length, or counted while streaming).
    Uploads (multipart) may be ``upload_max`` bytes, other bodies ``json_max``."""

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
            await _too_large(send, limit)
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
            await _too_large(send, limit)


class _TooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body reader passes it on instead of answering 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over {limit:,} bytes")


async def _too_large(send: Any, limit: int) -> None:
    import orjson

    body = orjson.dumps({"type": "about:blank", "title": "Content too large", "status": 413,
                         "detail": f"the body is over {limit:,} bytes"})
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class PortalScrub:
    """Pure ASGI: a response to a portal key never carries a 16-digit number (a NIK could hide in
    any stored text or in the caller's own path); each one is masked to its last four digits.
    The mask keeps the length, so Content-Length stays right."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # the dict request.state writes the key into, shared below

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.body" and _is_portal(scope):
                message = {**message, "body": mask_sixteen_digits(message.get("body", b""))}
            await send(message)

        await self.app(scope, receive, sending)


def _is_portal(scope: dict) -> bool:
    key = (scope.get("state") or {}).get("key")
    return getattr(key, "role", None) == "portal"


_SIXTEEN = re.compile(rb"(?<![0-9.])[0-9]{16}(?![0-9])")


def mask_sixteen_digits(payload: bytes) -> bytes:
    """Sixteen digits in a row (not after a decimal point) become twelve stars and the last four."""
    return _SIXTEEN.sub(lambda m: b"*" * 12 + m.group()[-4:], payload)
