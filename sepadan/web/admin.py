"""Web pages for admin: API keys (create shown once, list, revoke) and model versions (champion, promote, roll back, metrics, fairness).

Each page calls the functions behind the API's admin routes (:mod:`sepadan.api.routes_admin`): the
same policy (``list_keys``, ``create_key``, ... in POLICY), the same refusal of an admin key with a
region or agency scope, the same registry calls. A new key's token is shown once, by post/redirect/get:
the POST creates the key, keeps the token as a one-time flash of the session in the store
(:mod:`sepadan.store.web_flashes`: sealed with the session's cookie, shared by every server process)
and answers 303 to ``/admin/keys/{id}/created``; that page takes the flash and shows the token; a
reload (or any other session) finds it gone and says it was already shown. The token is never in a
URL or a log line; pages are ``no-store``. Revoking asks for confirmation on a page of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sepadan.api import routes_admin as api
from sepadan.api.deps import EngineDep
from sepadan.api.problems import ProblemError
from sepadan.engine import Engine
from sepadan.store.keys import ROLES, list_keys
from sepadan.store.web_flashes import put_flash, take_flash
from sepadan.web import i18n
from sepadan.web.deps import SESSION_COOKIE, CsrfForm, PageError, User, render, require, web_state

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
SYSTEMS = ("ranker", "transparent", "champion", "random")
KeyIdQ = Annotated[str | None, Query(max_length=16, pattern=r"^[0-9a-f]+$")]
FLASH_TTL = timedelta(minutes=10)  # a token not shown within this is never shown: revoke and create again

i18n.extend({
    "admin.title": ("Admin", "Admin"), "admin.keys": ("Kunci API", "API keys"),
    "admin.models": ("Versi model", "Model versions"),
    "admin.scoped": ("Hanya kunci admin tanpa batas wilayah atau agensi yang boleh mengelola kunci dan model.",
                     "Only an admin key without a region or agency scope may manage keys and models."),
    "admin.new_key": ("Buat kunci baru", "Create a key"), "admin.role": ("Peran", "Role"),
    "admin.regions": ("Wilayah (kode Kemendagri, pisahkan dengan koma; kosong: semua)",
                      "Regions (Kemendagri codes, comma-separated; empty: every region)"),
    "admin.agency": ("Agensi (nomor izin; kosong: bukan agensi)", "Agency (licence number; empty: none)"),
    "admin.label": ("Label (siapa pemegang kunci)", "Label (who holds the key)"),
    "admin.create": ("Buat kunci", "Create key"),
    "admin.created": ("Kunci {id} dibuat. Salin sekarang: kunci ini hanya ditampilkan sekali.",
                      "Key {id} created. Copy it now: it is shown only once."),
    "admin.token": ("Kunci API baru", "The new API key"),
    "admin.shown": ("Kunci {id} sudah ditampilkan sekali dan tidak akan ditampilkan lagi. Bila belum "
                    "tersalin, cabut kunci ini dan buat yang baru.",
                    "Key {id} was already shown once and is never shown again. If it was not copied, "
                    "revoke it and create another."),
    "admin.id": ("ID", "ID"), "admin.created_at": ("Dibuat", "Created"), "admin.revoked_at": ("Dicabut", "Revoked"),
    "admin.revoke": ("Cabut", "Revoke"), "admin.live": ("aktif", "live"),
    "admin.revoke_confirm": ("Cabut kunci {id}? Semua sesi web kunci ini langsung berakhir; panggilan API "
                             "berhenti dalam 10 detik. Tidak dapat dibatalkan.",
                             "Revoke key {id}? Its web sessions end at once; API calls stop within 10 seconds. "
                             "This cannot be undone."),
    "admin.revoke_own": ("Ini kunci yang sedang Anda pakai: Anda akan keluar.",
                         "This is the key you are signed in with: you will be signed out."),
    "admin.revoke_yes": ("Ya, cabut kunci ini", "Yes, revoke this key"), "admin.cancel": ("Batal", "Cancel"),
    "admin.revoked": ("Kunci {id} dicabut.", "Key {id} revoked."),
    "admin.no_models": ("Belum ada model ranker terdaftar (sepadan train).", "No ranker registered yet (sepadan train)."),
    "admin.version": ("Versi", "Version"), "admin.aliases": ("Alias", "Aliases"),
    "admin.ndcg": ("NDCG@10 (uji)", "NDCG@10 (held out)"), "admin.compared": ("Dibandingkan dengan", "Compared with"),
    "admin.decision": ("Keputusan", "Decision"), "admin.skew_gender": ("Skew@10 gender (maks)", "Skew@10 gender (max)"),
    "admin.skew_province": ("Skew@10 provinsi (maks)", "Skew@10 province (max)"),
    "admin.champion": ("Champion sekarang: versi {v}", "Champion now: version {v}"),
    "admin.no_champion": ("Belum ada champion: peringkat memakai penilai transparan.",
                          "No champion: ranking uses the transparent scorer."),
    "admin.history": ("Riwayat champion", "Champion history"),
    "admin.promote": ("Jadikan champion", "Promote to champion"),
    "admin.rollback": ("Kembalikan ke champion sebelumnya (versi {v})", "Roll back to the previous champion (version {v})"),
    "admin.promoted": ("Versi {v} sekarang champion.", "Version {v} is now the champion."),
    "admin.rolled_back": ("Champion dikembalikan ke versi {v}.", "Champion rolled back to version {v}."),
    "admin.no_previous": ("Tidak ada champion sebelumnya.", "There is no previous champion."),
    "admin.details": ("Rincian", "Details"), "admin.metrics": ("Hasil pada job order uji", "Held-out figures"),
    "admin.fairness": ("Keadilan: paparan di 10 teratas (Skew@10 per kelompok, NDKL@10; 0 = setara)",
                       "Fairness: exposure in the top 10 (Skew@10 per group, NDKL@10; 0 is parity)"),
    "admin.fairness_cv": ("Keadilan, validasi silang atas semua job order (yang dinilai aturan promosi)",
                          "Fairness, cross-validated over all vacancies (what the promotion rule judges)"),
    "admin.hire_rates": ("Tingkat penerimaan di antara kandidat yang ditampilkan", "Hire rate among shown candidates"),
    "admin.differences": ("Selisih dengan pembanding (interval 90%)", "Differences with the comparison (90% intervals)"),
    "admin.weights": ("Bobot fitur", "Feature weights"), "admin.figure": ("Angka", "Figure"),
    "admin.reason": ("Alasan keputusan", "Why"), "admin.digest": ("Sidik data latih", "Training data digest"),
    "admin.none": ("tidak ada", "none"),
})


def manager(operation: str) -> Callable[..., User]:
    """The user, if the policy admits their role to ``operation`` and their key has no scope."""
    allowed = require(operation)

    def dependency(user: User = Depends(allowed)) -> User:  # noqa: B008 - a closure: not resolvable as a string annotation
        if not api.may_manage(user.key):
            raise PageError(403, "admin.scoped")
        return user

    dependency.__name__ = f"manage_{operation}"
    return dependency


@contextmanager
def _as_page() -> Iterator[None]:
    """An API problem as an error page (404, 409, 422)."""
    try:
        yield
    except ProblemError as exc:
        key = {404: "not_found", 409: "admin.no_previous"}.get(exc.status, "bad_input")
        raise PageError(exc.status, key, None if exc.status == 409 else exc.detail) from exc


@router.get("/admin", name="web_admin")
def home(user: Annotated[User, Depends(manager("list_keys"))]) -> Response:
    return RedirectResponse("/admin/keys", status_code=303)


# -- API keys ---------------------------------------------------------------------------------------

@router.get("/admin/keys", name="web_admin_keys", response_class=HTMLResponse)
def keys(request: Request, user: Annotated[User, Depends(manager("list_keys"))], engine: EngineDep,
         revoked: KeyIdQ = None) -> Response:
    return _keys_page(request, user, engine, revoked=revoked)


def _keys_page(request: Request, user: User, engine: Engine, *, status: int = 200, **context: Any) -> HTMLResponse:
    items = [api.key_json(k) for k in reversed(list_keys(engine.store))]  # newest first
    base = {"items": items, "roles": ROLES, "created": None, "shown": None, "errors": None, "form": {},
            "revoked": None}
    return render(request, "admin_keys.html", base | context, user=user, status=status)


@router.post("/admin/keys", name="web_admin_create_key", response_class=HTMLResponse)
def create_key(request: Request, form: CsrfForm, user: Annotated[User, Depends(manager("create_key"))],
               engine: EngineDep) -> Response:
    values = {name: str(form.get(name) or "").strip() for name in ("role", "regions", "agency", "label")}
    try:
        body = api.KeyIn.model_validate({
            "role": values["role"], "regions": [r for r in values["regions"].replace(",", " ").split() if r],
            "agency": values["agency"] or None, "label": values["label"] or None})
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"])} for e in exc.errors()]
        return _keys_page(request, user, engine, status=422, errors=errors, form=values)
    with _as_page():
        made, token = api.new_key(engine, user.key, body)
    put_flash(engine.store, request.cookies.get(SESSION_COOKIE, ""), _flash_name(made.id), token,
              now=web_state(request).clock(), ttl=FLASH_TTL)
    return RedirectResponse(f"/admin/keys/{made.id}/created", status_code=303)  # the key's id, not its token


@router.get("/admin/keys/{id}/created", name="web_admin_key_created", response_class=HTMLResponse)
def key_created(request: Request, id: str, user: Annotated[User, Depends(manager("create_key"))],
                engine: EngineDep) -> Response:
    """The new key's token, once: the first visit takes the session's flash, a reload says it was shown."""
    key = next((k for k in list_keys(engine.store) if k.id == id), None)
    if key is None:
        raise PageError(404, "not_found")
    token = take_flash(engine.store, request.cookies.get(SESSION_COOKIE, ""), _flash_name(id),
                       now=web_state(request).clock())
    if token is None:
        return _keys_page(request, user, engine, shown=api.key_json(key))
    return _keys_page(request, user, engine, created={"key": api.key_json(key), "token": token})


def _flash_name(key_id: str) -> str:
    return f"new_key:{key_id}"


@router.get("/admin/keys/{id}/revoke", name="web_admin_revoke_confirm", response_class=HTMLResponse)
def revoke_confirm(request: Request, id: str, user: Annotated[User, Depends(manager("revoke_key"))],
                   engine: EngineDep) -> Response:
    key = next((k for k in list_keys(engine.store) if k.id == id and k.revoked_at is None), None)
    if key is None:
        raise PageError(404, "not_found")
    return render(request, "admin_revoke.html", {"key": api.key_json(key), "own": key.id == user.key.id}, user=user)


@router.post("/admin/keys/{id}/revoke", name="web_admin_revoke")
def revoke(id: str, form: CsrfForm, user: Annotated[User, Depends(manager("revoke_key"))],
           engine: EngineDep) -> Response:
    with _as_page():
        api.end_key(engine, user.key, id)
    return RedirectResponse(f"/admin/keys?revoked={id}", status_code=303)


# -- ranker versions ----------------------------------------------------------------------------------

@router.get("/admin/models", name="web_admin_models", response_class=HTMLResponse)
def models(request: Request, user: Annotated[User, Depends(manager("list_models"))], engine: EngineDep,
           promoted: Annotated[int | None, Query(ge=1)] = None,
           rolled_back: Annotated[int | None, Query(ge=1)] = None) -> Response:
    listing = api.models_json(api.registry_for(engine))
    history = listing["history"]
    return render(request, "admin_models.html", {
        "listing": listing, "promoted": promoted, "rolled_back": rolled_back,
        "previous": history[-2] if len(history) >= 2 else None}, user=user)


@router.get("/admin/models/{version:int}", name="web_admin_model", response_class=HTMLResponse)
def model(request: Request, version: int, user: Annotated[User, Depends(manager("get_model"))],
          engine: EngineDep) -> Response:
    with _as_page():
        report = api.version_json(engine, version)
    systems = [s for s in SYSTEMS if s in report["metrics"] or s in report["fairness"]
               or s in report.get("fairness_cv", {})]
    return render(request, "admin_model.html", {
        "report": report, "number": version, "systems": systems,
        "metric_rows": _rows(report["metrics"], systems, exclude=("vacancies", "pool")),
        "fairness_rows": _rows(report["fairness"], systems),
        "fairness_cv_rows": _rows(report.get("fairness_cv", {}), systems)}, user=user)


def _rows(by_system: dict[str, dict[str, float]], systems: list[str], exclude: tuple[str, ...] = ()
          ) -> list[tuple[str, list[float | None]]]:
    """(figure, value per system) for every figure any system has."""
    names = sorted({k for s in systems for k in by_system.get(s, {}) if not any(x in k for x in exclude)})
    return [(n, [by_system.get(s, {}).get(n) for s in systems]) for n in names]


@router.post("/admin/models/{version:int}/promote", name="web_admin_promote")
def promote(version: int, form: CsrfForm, user: Annotated[User, Depends(manager("promote_model"))],
            engine: EngineDep) -> Response:
    with _as_page():
        api.promote_version(engine, user.key, version)
    return RedirectResponse(f"/admin/models?promoted={version}", status_code=303)


@router.post("/admin/models/rollback", name="web_admin_rollback")
def rollback(form: CsrfForm, user: Annotated[User, Depends(manager("rollback_model"))],
             engine: EngineDep) -> Response:
    with _as_page():
        listing = api.roll_back(engine, user.key)
    return RedirectResponse(f"/admin/models?rolled_back={listing['champion']}", status_code=303)
