"""JSON bodies take an integer as JSON Schema writes it: the outcome's optional ``shown_rank`` (added
to the contract later than the other whole-number fields) accepted ``2`` but answered 422 to
``2.0``, which the published schema allows (CI's schemathesis run found it). Known by construction:
the tiny market of ``api_fixtures`` (W1 in East Java, job order V1)."""

from __future__ import annotations

import pytest
from api_fixtures import make_api
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client_and_api(tmp_path_factory, fake_encoder):
    api = make_api(tmp_path_factory.mktemp("bodies"), fake_encoder)
    with TestClient(api.app) as client:
        yield client, api


@pytest.mark.parametrize(("rank", "status"), [(2, 201), (3.0, 201), (2.5, 422), ("4", 422), (True, 422), (0, 422)])
def test_an_outcome_takes_its_shown_rank_as_a_json_integer(client_and_api, rank, status):
    client, api = client_and_api
    body = {"worker_id": "W1", "vacancy_id": "V1", "stage": "shortlisted", "date": "2026-10-05", "shown_rank": rank}
    r = client.post("/v1/outcomes", json=body, headers=api.headers("admin"))
    if r.status_code == 409:  # the same outcome id from an earlier case: replace it
        r = client.put("/v1/outcomes/W1|V1|shortlisted", json=body, headers=api.headers("admin"))
        status = 200 if status == 201 else status
    assert r.status_code == status, r.text
    if status < 300:
        stored = client.get("/v1/outcomes/W1|V1|shortlisted", headers=api.headers("admin")).json()
        assert stored["shown_rank"] == int(rank), stored
