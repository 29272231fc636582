"""Screenshots of the web app on the demo data, at 1280 and 375 px, for the README and reviews.

    python experiments/ui_screenshots.py            # writes experiments/results/ui/demo-*.png

Imports the bundled demo data into a temporary home, serves the app on a free local port, signs in
with a fresh officer key of East Java (region 35) in Debian's chromium (Playwright), and saves the
top of each page: job orders, the shortlist of V-0042 in Indonesian and in English, a comparison,
worker W-000123 and the outcomes (and the sign-in page); then, as an admin, the import page with an
error table, the API keys and the model versions (the demo outcomes trained once); then, as a
planner, demand against supply in East Java and the training plan within Rp 50 juta (Indonesian and
English). The planner pages answer at once with a progress page that refreshes itself; each shot
waits for the result (a selector only the result has). Every page shot at 375 px is checked for
sideways scrolling (its document wider than the viewport); the widths go to
experiments/results/ui/demo-widths.txt and the script fails if any page scrolls sideways.

The demo home is built here, in a temporary folder: the bundled demo data (data/demo/*.jsonl)
imported into a fresh store, the real model (HF_HUB_OFFLINE=1). Run it niced: a few minutes on two
cores, most of it the import, the ranker training and the planner's first answers.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "experiments" / "results" / "ui"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SIZES = {1280: 1100, 375: 1400}  # width: height of the saved top of each page
RESULT_WAIT_MS = 600_000  # a planner answer worked out for the first time (the plan: seconds to minutes)
WIDTHS: dict[str, int] = {}  # shot name -> the document's scroll width


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import uvicorn
    from playwright.sync_api import sync_playwright

    from sepadan.api.app import create_app
    from sepadan.config import Settings
    from sepadan.engine import Engine
    from sepadan.features.taxonomy import default_data_dir
    from sepadan.store.keys import create_key

    with tempfile.TemporaryDirectory(prefix="sepadan-ui-") as tmp:
        settings = Settings(home=Path(tmp) / "home", api_rate_limit=0, api_auth_failures=0)
        engine = Engine(settings)
        for kind in ("agencies", "trainings", "workers", "vacancies", "outcomes"):
            engine.import_file(kind, default_data_dir() / "demo" / f"{kind}.jsonl")
        app = create_app(settings, engine=engine, background=False)
        _, token = create_key(engine.store, "officer", regions=("35",), label="Petugas Jawa Timur")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        top = [m.worker_id for m in engine.matcher.shortlist("V-0042", k=3, within=("35",)).results]
        pages = {"job-orders": "/job-orders", "job-order": "/job-orders/V-0042?k=10",
                 "job-order-en": "/job-orders/V-0042?k=10&lang=en",
                 "compare": f"/job-orders/V-0042/compare?w={top[0]}&w={top[1]}&w={top[2]}&lang=id",
                 "worker": "/workers/W-000123", "outcomes": "/outcomes"}
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for width, height in SIZES.items():
                page.set_viewport_size({"width": width, "height": 700})
                page.goto(base + "/signin")
                _save(page, f"signin-{width}")
            page.get_by_label("Kunci API").fill(token)
            page.get_by_role("button", name="Masuk").click()
            page.wait_for_url("**/job-orders")
            for width, height in SIZES.items():
                page.set_viewport_size({"width": width, "height": height})
                for name, path in pages.items():
                    page.goto(base + path)
                    _save(page, f"{name}-{width}")
            _admin_pages(browser, base, engine, Path(tmp))
            _planner_pages(browser, base, engine)
            browser.close()
        server.should_exit = True
    return _report_widths()


def _report_widths() -> int:
    """Each shot's document width; 1 if a page scrolls sideways at its viewport's width."""
    wide = {name: w for name, w in WIDTHS.items() if w > int(name.rsplit("-", 1)[1]) + 1}
    lines = [f"{name}\t{width}" for name, width in sorted(WIDTHS.items())]
    (OUT / "demo-widths.txt").write_text("shot\tscrollWidth (px)\n" + "\n".join(lines) + "\n", encoding="utf-8")
    for name, width in sorted(wide.items()):
        print(f"{name}: {width} px wide, scrolls sideways", file=sys.stderr)
    print(f"{len(WIDTHS)} shots, {len(wide)} wider than their viewport", file=sys.stderr)
    return 1 if wide else 0


def _admin_pages(browser, base: str, engine, tmp: Path) -> None:  # noqa: ANN001 - Playwright, Engine
    """The import page with an error table (a workers file whose second row has gender X), the keys
    list and the model versions (the demo outcomes trained once, as `sepadan train` does), as an admin."""
    from sepadan.ingest.importer import load_records
    from sepadan.models.registry import Registry
    from sepadan.models.training import TrainingConfig, train_and_register
    from sepadan.store.keys import create_key

    registry = Registry.for_home(engine.settings.home, engine.settings.mlflow_tracking_uri)
    train_and_register(engine.matcher, load_records(engine.store, "outcomes"), registry, engine.scorer.transparent,
                       TrainingConfig(cv_folds=0, bootstrap_rounds=500), params={"embedding_model": engine.encoder.name})
    _, token = create_key(engine.store, "admin", label="Admin Disnaker")
    bad = tmp / "pekerja-baru.csv"
    bad.write_text("id,name,gender,region,skills\nW-900001,Ani,F,35.08,menjahit\nW-900002,Budi,X,35.08,memasak\n",
                   encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/signin")
    page.get_by_label("Kunci API").fill(token)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/job-orders")
    for width, height in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(base + "/import")
        page.get_by_label("Berkas (Pekerja)").set_input_files(str(bad))
        page.get_by_role("button", name="Unggah dan impor").nth(2).click()  # agencies, trainings, workers
        page.wait_for_load_state()
        _save(page, f"import-errors-{width}")
        for name, path in (("admin-keys", "/admin/keys"), ("admin-models", "/admin/models"),
                           ("admin-model", f"/admin/models/{registry.versions()[0].version}")):
            page.goto(base + path)
            _save(page, f"{name}-{width}")
    page.close()


def _planner_pages(browser, base: str, engine) -> None:  # noqa: ANN001 - Playwright, Engine
    """The planner's overview of region 35 and its training plan within Rp 50.000.000, as a planner."""
    from sepadan.store.keys import create_key

    _, token = create_key(engine.store, "planner", label="Perencana pelatihan Jawa Timur")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/signin?next=/planner")
    page.get_by_label("Kunci API").fill(token)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/planner", wait_until="commit")  # a progress page may answer first
    for width, height in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for name, path, result in (("planner", "/planner?region=35&lang=id", "h2#p-gaps"),
                                   ("planner-plan", "/planner/plan?region=35&budget=50000000", "dl.planner-result"),
                                   ("planner-plan-en", "/planner/plan?region=35&budget=50000000&lang=en",
                                    "dl.planner-result")):
            page.goto(base + path)
            _wait_for_result(page, result)
            _save(page, f"{name}-{width}")
    page.close()


def _wait_for_result(page, selector: str) -> None:  # noqa: ANN001 - a Playwright page
    """Until the page that refreshes itself shows the result (``selector``), or says it failed."""
    page.wait_for_selector(f"{selector}, section.planner-wait div.alert", timeout=RESULT_WAIT_MS)
    if page.locator(selector).count() == 0:
        raise RuntimeError(f"{page.url}: the planner's answer failed: {page.locator('section.planner-wait').inner_text()}")


def _save(page, name: str) -> None:  # noqa: ANN001 - a Playwright page
    target = OUT / f"demo-{name}.png"
    page.screenshot(path=str(target))
    WIDTHS[name] = page.evaluate("document.documentElement.scrollWidth")
    print(f"{target.relative_to(REPO)}: {target.stat().st_size:,} bytes", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
