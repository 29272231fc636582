"""The web app: server-rendered pages over the same Engine, policy and scoping as the API."""

from sepadan.web.app import mount_web

__all__ = ["mount_web"]
