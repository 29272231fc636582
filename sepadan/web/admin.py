"""Web pages for admin: API keys (create shown once, list, revoke) and model versions (champion, promote, roll back, metrics, fairness)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
