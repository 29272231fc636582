"""The app uvicorn imports (``sepadan.api.main:app``): settings from the environment, loaded in the
lifespan. Kept apart from :mod:`sepadan.api.app` so importing the package builds nothing."""

from __future__ import annotations

import os
from datetime import date

from sepadan.api.app import create_app
from sepadan.config import Settings

_today = os.environ.get("SEPADAN_API_TODAY")
app = create_app(Settings(), today=date.fromisoformat(_today) if _today else None)
