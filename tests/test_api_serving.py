"""What ``sepadan serve`` runs on: uvloop and httptools where they are installed (issue 15: a
shortlist over HTTP is faster on them), the plain asyncio loop and h11 parser where they are not,
and the plain path still serves."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from test_api_e2e import _env, _free_port, _wait_ready

from sepadan.cli import api as cli_api


def test_auto_is_uvloop_and_httptools_where_installed_else_asyncio_and_h11(monkeypatch):
    import importlib.util

    assert importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools")  # declared dependencies
    assert cli_api.server_parts() == ("uvloop", "httptools")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)  # as where there are no wheels
    assert cli_api.server_parts() == ("asyncio", "h11")
    assert cli_api.server_parts("uvloop", "h11") == ("uvloop", "h11")  # asked for by name: as asked


@pytest.mark.slow
def test_the_plain_asyncio_and_h11_path_serves(tmp_path):
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sepadan.cli", "serve", "--home", str(tmp_path / "home"),
                                 "--port", str(port), "--loop", "asyncio", "--http", "h11"],
                                stdout=out, stderr=subprocess.STDOUT, env=_env())
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, proc, log)
        with httpx.Client(base_url=base, timeout=30) as client:  # keep-alive: two requests, one connection
            assert client.get("/v1/version").status_code == 200
            r = client.get("/v1/vacancies")
            assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        said = " ".join(log.read_text().split())
        assert re.search(r"docs: /docs; asyncio, h11\)", said), said[-2000:]
    finally:
        proc.terminate()
        proc.wait(30)
