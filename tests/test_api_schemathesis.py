"""The HTTP API against its own OpenAPI schema, with schemathesis 4 (property-based, both ways).

Every operation in ``/openapi.json`` is called with inputs generated from the schema: its examples,
the coverage phase's boundary values, and fuzzed inputs that are valid (positive mode) or break the
schema on purpose (negative mode). Every response goes through every default check of schemathesis:
no 5xx (``not_a_server_error``), only documented statuses, content types and headers, bodies that
match their schema, invalid input rejected with a 4xx (``negative_data_rejection``), valid input
not rejected (``positive_data_acceptance``, narrowed below to what a JSON Schema cannot state),
auth enforced (``ignored_auth``: the same request without the key, and with a wrong one), an
unsupported method answered 405 with a true ``Allow`` header.

The app runs in-process over tiny data, with the fake encoder and an admin key (admin may call every
route) and no rate limit. Fuzzed requests that are valid are steered, half of the time, to records
that exist (so that a read, an update, a delete or a shortlist is not always a 404) and to values
from the reference tables (countries, regions, language tests), so that writes are also accepted
and their 2xx bodies checked. Writes and deletes change the tiny data as the run goes; the records
that deletes aim at are kept apart from those that the other operations read.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from conftest import load_engine, make_settings
from schemathesis.python import asgi as schemathesis_asgi

from sepadan.api.app import create_app
from sepadan.engine import Engine
from sepadan.store.keys import create_key

# The same inputs on every run, so that a failure can be replayed; a deeper or another run:
# SEPADAN_FUZZ_SEED=7 SEPADAN_FUZZ_EXAMPLES=200 pytest tests/test_api_schemathesis.py
SEED = int(os.environ.get("SEPADAN_FUZZ_SEED", "20261101"))
MAX_EXAMPLES = int(os.environ.get("SEPADAN_FUZZ_EXAMPLES", "30"))

# -- tiny data ------------------------------------------------------------------------------------

DOCUMENTS = {"passport": True, "medical": True, "police_clearance": True}


def _worker(id_: str) -> dict[str, Any]:
    return {"id": id_, "name": f"Pekerja {id_}", "nik": "9271014101900003", "birth_date": "1995-03-03",
            "gender": "F", "region": "35.08", "education": "SMA", "skills": ["merawat lansia", "memasak"],
            "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}], "documents": DOCUMENTS,
            "preferences": {"countries": ["JP", "TW"], "domestic": True}, "available": True}


def _vacancy(id_: str) -> dict[str, Any]:
    return {"id": id_, "title": "Caregiver (kaigo)", "employer": "Sakura Care",
            "agency_licence": "P3MI-001", "country": "JP", "sector": "caregiving",
            "skills_required": ["elderly care"],
            "languages": [{"language": "ja", "test": "JLPT", "min_level": "N4"}],
            "age_min": 18, "age_max": 40, "positions": 5, "deadline": "2027-06-30", "open": True}


def _outcome(id_: str) -> dict[str, Any]:
    worker, vacancy, stage = id_.split("|")
    return {"worker_id": worker, "vacancy_id": vacancy, "stage": stage, "date": "2026-02-14"}


# Records the fuzzer reads, updates and matches on (the ids of the schema's examples) ...
KEPT: dict[str, tuple[str, ...]] = {
    "agencies": ("P3MI-001", "P3MI-002"),
    "trainings": ("T-01", "T-02"),
    "workers": ("W-000123", "W-000124"),
    "vacancies": ("V-0042", "V-0043"),
    "outcomes": ("W-000123|V-0042|hired", "W-000124|V-0043|shortlisted"),
}
# ... and records that DELETE may aim at.
DISPOSABLE: dict[str, tuple[str, ...]] = {
    "agencies": ("P3MI-DEL-1", "P3MI-DEL-2", "P3MI-DEL-3"),
    "trainings": ("T-DEL-1", "T-DEL-2", "T-DEL-3"),
    "workers": ("W-DEL-1", "W-DEL-2", "W-DEL-3"),
    "vacancies": ("V-DEL-1", "V-DEL-2", "V-DEL-3"),
    "outcomes": ("W-000123|V-0043|interviewed", "W-000124|V-0042|rejected", "W-DEL-1|V-DEL-1|hired"),
}
ROWS: dict[str, list[dict[str, Any]]] = {
    "agencies": [{"licence": i, "name": "PT Contoh Jaya", "status": "active", "valid_until": "2028-01-31"}
                 for i in KEPT["agencies"] + DISPOSABLE["agencies"]],
    "trainings": [{"id": i, "title": "Bahasa Jepang N4", "provider": "LPK Sakura", "region": "35.08",
                   "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}],
                   "hours": 400, "seats": 20}
                  for i in KEPT["trainings"] + DISPOSABLE["trainings"]],
    "workers": [_worker(i) for i in KEPT["workers"] + DISPOSABLE["workers"]],
    "vacancies": [_vacancy(i) for i in KEPT["vacancies"] + DISPOSABLE["vacancies"]],
    "outcomes": [_outcome(i) for i in KEPT["outcomes"] + DISPOSABLE["outcomes"]],
}
IMPORT_ORDER = ("agencies", "trainings", "workers", "vacancies", "outcomes")

# -- the schema and the app -------------------------------------------------------------------------
# schemathesis parametrizes at collection, so the schema is taken from the code at import (it does
# not depend on data); the app itself is built by the module fixture and plugged into LateApp.
# (schemathesis.pytest.from_fixture would defer it all, but it fails under pytest 9.2: it writes
# `request.node._nodeid`, which pytest no longer has.)


def _openapi() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sepadan-openapi-") as home:
        settings = make_settings(Path(home))
        engine = Engine(settings)
        spec = create_app(settings, engine=engine).openapi()
        if "store" in engine.__dict__:
            engine.store.engine.dispose()
        return spec


class LateApp:
    """The ASGI app the schema targets; the ``api`` fixture plugs the real app in, and out."""

    app: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert self.app is not None, "the app is built by the `api` fixture"
        await self.app(scope, receive, send)


CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    # these depend on the machine's speed and on the size of the bodies, not on the API
    "suppress-health-check": ["too_slow", "data_too_large", "large_base_example"],
    "generation": {
        "mode": "all",  # positive and negative
        "max-examples": MAX_EXAMPLES,
        "database": "none",
        # the key is sent by the test; ignored_auth still tries each operation without a key and
        # with a wrong one
        "with-security-parameters": False,
    },
    "phases": {"stateful": {"enabled": False}},
})
APP = LateApp()
schema = schemathesis.openapi.from_dict(_openapi(), config=CONFIG)
schema.app = APP  # as from_asgi does: requests, and the probes some checks send, go to the app in-process


class Api:
    def __init__(self, engine: Engine, token: str) -> None:
        self.engine, self.headers = engine, {"X-API-Key": token}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, fake_encoder: Any) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("schemathesis")
    engine = load_engine(folder, ROWS, encoder=fake_encoder, api_rate_limit=0, api_auth_failures=0)
    settings = engine.settings
    _, token = create_key(engine.store, "admin")
    APP.app = create_app(settings, engine=engine, background=False)
    try:
        # entering schemathesis's ASGI client runs the lifespan (loaded there, as background=False),
        # which then runs until shut down
        with schemathesis_asgi.get_client(APP) as client:
            health = client.get("/v1/health")
            assert health.status_code == 200, health.text
        yield Api(engine, token)
    finally:
        schemathesis_asgi.shutdown_lifespans()  # every app schemathesis started: only this one
        APP.app = None


# -- steering valid inputs to existing records and to the reference tables ---------------------------

KINDS = ("workers", "vacancies", "trainings", "agencies", "outcomes")
VALID = {
    "country": st.sampled_from(["JP", "TW", "KR", "hk", "Jepang", None]),
    "region": st.sampled_from(["35", "35.08", "3508", "32.04.01", None]),
    "gender": st.sampled_from(["F", "M", "perempuan", None]),
    "education": st.sampled_from(["SD", "SMA", "SMK", "D3", "S1", None]),
    # a birth date is checked against the day of the import (adult, not in the future): no schema says so
    "birth_date": st.sampled_from(["1975-06-30", "1990-01-01", "1999-04-04", "2004-02-29", None]),
}
LANGUAGES = st.sampled_from([("ja", "JLPT", "N4"), ("ja", "JFT-Basic", "A2"), ("ko", "EPS-TOPIK", "pass"),
                             ("zh", "HSK", "3"), ("en", "IELTS", "5.5"), ("en", "self", "basic")])


def _kind(path: str) -> str | None:
    match = re.match(r"^/v1/([a-z]+)", path)
    return match.group(1) if match and match.group(1) in KINDS else None


def _is_positive(case: schemathesis.Case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _repaired(value: Any, draw: Any) -> Any:
    """A copy of a JSON body with every reference-table field set to a value from that table."""
    if isinstance(value, list):
        return [_repaired(v, draw) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, v in value.items():
        if key in ("country", "region", "gender", "birth_date") and (v is None or isinstance(v, str)):
            out[key] = draw(VALID[key])
        elif key in ("education", "education_min") and (v is None or isinstance(v, str)):
            out[key] = draw(VALID["education"])
        elif key == "countries" and isinstance(v, list):
            out[key] = [c for c in (draw(VALID["country"]) for _ in v) if c]
        elif key == "languages" and isinstance(v, list):
            out[key] = [_language(item, draw(LANGUAGES)) for item in v]
        elif key in ("worker_id", "vacancy_id") and isinstance(v, str):
            out[key] = draw(st.sampled_from(KEPT["workers" if key == "worker_id" else "vacancies"]))
        else:
            out[key] = _repaired(v, draw)
    if isinstance(out.get("age_min"), int) and isinstance(out.get("age_max"), int):
        out["age_min"], out["age_max"] = sorted((out["age_min"], out["age_max"]))
    return out


def _language(item: Any, choice: tuple[str, str, str]) -> Any:
    if not isinstance(item, dict):
        return item
    level_key = "min_level" if "min_level" in item else "level"
    return {**item, "language": choice[0], "test": choice[1], level_key: choice[2]}


def _sample_file(kind: str, n: int) -> str:
    """JSON Lines of existing rows (text: what the schema's `string` admits, so the case stays valid)."""
    return "".join(json.dumps(row) + "\n" for row in ROWS[kind][:n])


@schema.hook("flatmap_case")
def steer_valid_cases(context: Any, case: schemathesis.Case) -> Any:
    """Half of the valid cases keep what was generated; the other half aim at existing records and
    take their reference values from the tables (they stay valid: only valid values are put in)."""
    kind = _kind(case.path)
    if not _is_positive(case) or kind is None:
        return st.just(case)

    @st.composite
    def steered(draw: Any) -> schemathesis.Case:
        params = dict(case.path_parameters or {})
        pool = DISPOSABLE if case.method.upper() == "DELETE" else KEPT
        if "id" in params:
            params["id"] = draw(st.sampled_from(pool[kind]))
        if "vacancy_id" in params:
            params["vacancy_id"] = draw(st.sampled_from(KEPT["vacancies"]))
        if params:
            case.path_parameters = params
        if isinstance(case.body, dict) and case.path.endswith("/bulk"):
            case.body = {**case.body, "file": _sample_file(kind, draw(st.integers(1, 3)))}
        elif isinstance(case.body, dict):
            body = _repaired(case.body, draw)
            if case.method.upper() == "PUT" and kind != "outcomes":
                body["licence" if kind == "agencies" else "id"] = params["id"]
            case.body = body
        return case

    return st.one_of(st.just(case), steered())


def _align_put(case: schemathesis.Case) -> None:
    """PUT /v1/{kind}/{id} requires the body's id to be the path's; a JSON Schema cannot say so, so a
    valid case gets the body's id as its path id (whatever the phase that made it).

    An id may contain '/' (the contract allows it: job order numbers do), but such an id has no URL
    of its own (``%2F`` is decoded before routing), so PUT cannot address it: the '/' is replaced."""
    kind = _kind(case.path)
    if case.method.upper() != "PUT" or not _is_positive(case) or not isinstance(case.body, dict):
        return
    id_keys = {"outcomes": ("worker_id", "vacancy_id"), "agencies": ("licence",)}.get(kind or "", ("id",))
    body = {k: v.replace("/", "-") if k in id_keys and isinstance(v, str) else v
            for k, v in case.body.items()}
    if kind == "outcomes":
        parts = [body.get("worker_id"), body.get("vacancy_id"), body.get("stage")]
        id_ = "|".join(parts) if all(isinstance(p, str) for p in parts) else None
    else:
        id_ = body.get(id_keys[0])
    if isinstance(id_, str):
        if body != case.body:
            case.body = body
        case.path_parameters = {**case.path_parameters, "id": id_}


# -- positive data acceptance, narrowed to what a JSON Schema cannot state ----------------------

# A valid request may still be refused (422) for a rule the schema cannot express; each error must
# name such a rule, or the check fails as usual:
#  - values checked against reference tables: country codes and names, Kemendagri regions, gender
#    spellings, the education ladder, the known languages, language tests and each test's levels;
#  - a vacancy's age_min above its age_max (a rule across two fields);
#  - a birth date checked against the day of the request (not in the future, not before 1900, an
#    age the law allows: sepadan.contract.birth_date_problem);
#  - an outcome's worker or vacancy that is not in the store (a reference to data);
#  - the content of an uploaded file (the schema says only "a file"; the rows must be in the contract).
_TABLE_FIELD = re.compile(
    r"^body(\.[A-Za-z_]+|\.\d+)*\.(country|countries(\.\d+)?|region|gender|education|education_min|"
    r"language|test|level|min_level)$")


def _unstatable(case: schemathesis.Case, error: dict[str, Any]) -> bool:
    field, message = str(error.get("field", "")), str(error.get("message", ""))
    if case.path.endswith("/bulk"):
        return True
    if _TABLE_FIELD.match(field):
        return True
    if field == "body" and re.search(r"age_min \d+ is above age_max \d+", message):
        return True
    if field.endswith("birth_date") and re.match(r"(is in the future|is before 1900|gives an age under)", message):
        return True
    return field in ("body.worker_id", "body.vacancy_id") and message.endswith("is not in the store")


def positive_data_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    if _is_positive(case) and response.status_code == 422:
        errors = (response.json() or {}).get("errors") or []
        if errors and all(_unstatable(case, e) for e in errors):
            return None
    return schemathesis.checks.positive_data_acceptance(ctx, response, case)


# -- the property test ---------------------------------------------------------------------------


@schema.parametrize()
def test_api_conforms_to_its_schema(case: schemathesis.Case, api: Api) -> None:
    _align_put(case)
    case.call_and_validate(headers=api.headers,
                           excluded_checks=[schemathesis.checks.positive_data_acceptance],
                           additional_checks=[positive_data_accepted])


# -- the schema itself, and uploads the fuzzer cannot make ------------------------------------------


def test_schema_documents_examples_and_problems() -> None:
    """Every request body has an example; every /v1 operation that needs a key documents its 401,
    422 and 429, and every other 4xx and 5xx it lists, as problem+json (RFC 9457)."""
    spec = _openapi()

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    missing_examples, missing_problems, keyed = [], [], 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            label = f"{method.upper()} {path}"
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                body_schema = resolve(content.get("schema", {}))
                if not any(k in content for k in ("example", "examples")) and not any(
                        k in body_schema for k in ("example", "examples")):
                    missing_examples.append(f"{label} ({media})")
            if not path.startswith("/v1/") or not op.get("security"):
                continue
            keyed += 1
            errors = {"401", "422", "429"} | {s for s in op["responses"] if s[0] in "45"}
            for status in sorted(errors):
                response = op["responses"].get(status, {})
                media = response.get("content", {}).get("application/problem+json", {})
                if media.get("schema", {}).get("$ref") != "#/components/schemas/Problem":
                    missing_problems.append(f"{label} {status}")
    assert keyed >= 30, "the keyed /v1 operations were not found"
    assert not missing_examples, f"request bodies without an example: {missing_examples}"
    assert not missing_problems, f"keyed operations without a problem+json response: {missing_problems}"


@pytest.mark.parametrize(("name", "content", "field"), [
    ("outcomes.jsonl", b"\x00\xff\xfe{}", "(line)"),           # not UTF-8: the line is named
    ("outcomes.csv", b"worker_id\n\xff\xfe\n", "(line)"),      # not UTF-8
    ("outcomes.xlsx", b"not a workbook", "body.file"),            # not a zip
    ("outcomes.xlsx", b"PK\x03\x04\x14\x00broken", "body.file"),  # a broken zip
])
def test_an_unreadable_upload_is_a_problem_not_a_server_error(api: Api, name: str,
                                                               content: bytes, field: str) -> None:
    """The fuzzer sends text under the schema's file name (.jsonl); bytes no reader can parse, in
    each format, are the client's fault: 422, nothing written."""
    before = api.engine.store.count("outcomes")
    with schemathesis_asgi.get_client(APP) as client:
        response = client.post("/v1/outcomes/bulk", headers=api.headers,
                               files={"file": (name, content)})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert api.engine.store.count("outcomes") == before
