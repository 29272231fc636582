"""Web pages for imports: upload a file of one kind, per-row errors, nothing written on any error, Excel templates."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
