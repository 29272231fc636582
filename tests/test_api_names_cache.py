"""The names a shortlist shows are decrypted once and held in memory (issue 15), never stale: an
entry answers only while the store holds the ciphertext it was opened from, so a name written here
or by another process is seen by the next shortlist; erasure drops it; the cache is bounded.

Known by construction: the tiny market of ``api_fixtures`` (W1 and W2 in East Java, W3 in East Nusa
Tenggara; job order V1 shortlists all three for an officer of every region).
"""

from __future__ import annotations

import pytest
from api_fixtures import NAMES, make_api, market
from fastapi.testclient import TestClient

from sepadan.contract import WorkerIn
from sepadan.ingest.importer import to_stored
from sepadan.store.personal import NameCache, PersonalData


@pytest.fixture(scope="module")
def api(tmp_path_factory, fake_encoder):
    return make_api(tmp_path_factory.mktemp("names-cache"), fake_encoder)


def _names(client, api) -> dict[str, str]:
    r = client.get("/v1/vacancies/V1/shortlist", headers=api.headers("officer_all"))
    assert r.status_code == 200
    return {x["worker_id"]: x["name"] for x in r.json()["results"]}


def _body(worker_id: str, **changes) -> dict:
    body = next(w for w in market()["workers"] if w["id"] == worker_id)
    return {**body, **changes}


def test_a_name_is_decrypted_once_while_its_ciphertext_stays(api, monkeypatch):
    personal = PersonalData(api.engine.store, api.engine.vault)
    opened = []
    real = api.engine.vault.open
    monkeypatch.setattr(api.engine.vault, "open", lambda token: opened.append(token) or real(token))
    first = personal.names_of(["W1", "W2", "W-NONE"])
    second = personal.names_of(["W2", "W1"])
    assert first == {"W1": NAMES["W1"], "W2": NAMES["W2"]} and second == {"W2": NAMES["W2"], "W1": NAMES["W1"]}
    assert len(opened) == 2  # the second read opened nothing


def test_a_name_written_through_the_api_is_in_the_next_shortlist(api):
    with TestClient(api.app) as client:
        assert _names(client, api)["W2"] == NAMES["W2"]  # held in memory now
        r = client.put("/v1/workers/W2", json=_body("W2", name="Dewi Lestari Putri"), headers=api.headers("admin"))
        assert r.status_code == 200
        assert _names(client, api)["W2"] == "Dewi Lestari Putri"
        client.put("/v1/workers/W2", json=_body("W2"), headers=api.headers("admin"))
        assert _names(client, api)["W2"] == NAMES["W2"]


def test_a_name_written_by_another_process_is_in_the_next_shortlist(api):
    """Written to the store directly (as another server process or the CLI would), with no word
    to this process's cache: the new ciphertext alone makes the held name unusable."""
    engine = api.engine
    with TestClient(api.app) as client:
        assert _names(client, api)["W1"] == NAMES["W1"]
        row = to_stored("workers", WorkerIn.model_validate(_body("W1", name="Siti Aminah Rahayu")), engine.vault)
        engine.store.upsert("workers", [row])
        assert _names(client, api)["W1"] == "Siti Aminah Rahayu"
        engine.store.upsert("workers", [to_stored("workers", WorkerIn.model_validate(_body("W1")), engine.vault)])
        assert _names(client, api)["W1"] == NAMES["W1"]


def test_erasure_drops_the_held_name(tmp_path, fake_encoder):
    api = make_api(tmp_path, fake_encoder)
    names = api.engine.personal.names
    with TestClient(api.app) as client:
        assert set(_names(client, api)) == {"W1", "W2", "W3"} and len(names) == 3
        assert client.delete("/v1/workers/W2", headers=api.headers("admin")).status_code == 204
        assert names.get("W2", b"")[0] is False and len(names) == 2 and "W2" not in _names(client, api)
        # erased by another process: absent from the store, so left out and dropped when next read
        api.engine.store.erase_worker("W3", pseudonym=api.engine.vault.pseudonym("W3"))
        assert "W3" not in _names(client, api) and len(names) == 1


def test_the_cache_is_bounded_least_recently_read_first(api):
    cache = NameCache(2)
    cache.put("a", b"1", "A")
    cache.put("b", b"2", "B")
    assert cache.get("a", b"1") == (True, "A")  # a read more recently than b
    cache.put("c", b"3", "C")
    assert len(cache) == 2 and cache.get("b", b"2") == (False, None) and cache.get("a", b"1") == (True, "A")
    assert cache.get("a", b"other ciphertext") == (False, None)
    personal = PersonalData(api.engine.store, api.engine.vault, names_max=2)
    assert personal.names_of(["W1", "W2", "W3"]) == {"W1": NAMES["W1"], "W2": NAMES["W2"], "W3": NAMES["W3"]}
    assert len(personal.names) == 2
    assert len(PersonalData(api.engine.store, api.engine.vault, names_max=0).names_of(["W1"])) == 1
