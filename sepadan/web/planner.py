"""Web pages for training planners: demand against supply, gaps, charts, the plan within a budget, downloads."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
