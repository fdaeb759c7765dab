"""Browser tests: Playwright driving the machine's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("WEFT_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
# Where a failing browser test leaves what the browser showed (CI collects the folder).
ARTIFACTS_ENV = "WEFT_TEST_ARTIFACTS"

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# itself (creating users) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(params=["desktop", "phone"])
def viewport(request):
    return request.param, DESKTOP if request.param == "desktop" else PHONE


@pytest.fixture
def page(browser, viewport, request):
    name, size = viewport
    context = browser.new_context(
        viewport=size, is_mobile=name == "phone", has_touch=name == "phone", locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    # Pages run under the production Content-Security-Policy: a blocked script or style is a bug
    # (it usually means an inline script without the request's nonce).
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            violations.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield page
    if violations:
        # The test passed but the page broke the CSP: keep what it looked like, then fail.
        save_artifacts(request.node, [page], suffix="csp")
    context.close()
    assert violations == [], violations


@pytest.fixture
def demo_company():
    """The demo people, roles, data scopes, field policies, territories, pipelines and the
    approval templates, seeded by the demo's own functions (no bulk records)."""
    from apps.approvals import demo as approvals_demo
    from apps.customers import demo as customers_demo
    from apps.org import demo as org_demo
    from apps.org.demo import DemoContext
    from apps.org.scopes import clear_caches
    from apps.reports import demo as reports_demo
    from apps.sales.demo import contracts as contracts_demo
    from apps.sales.demo import deals as deals_demo
    from apps.sales.demo import leads as leads_demo

    ctx = DemoContext(log=lambda _msg: None)
    steps = [
        org_demo.seed_org,
        customers_demo.seed_roles,
        customers_demo.seed_territories,
        leads_demo.seed_roles,
        deals_demo.seed_permissions,
        lambda c: deals_demo.seed_pipelines(),
        approvals_demo.seed_templates,
        approvals_demo.seed_permissions,
        contracts_demo.seed_roles,
        reports_demo.seed_reports,
    ]
    for step in steps:
        step(ctx)
        for user in ctx.users.values():
            clear_caches(user)
    return ctx


def artifacts_dir(config) -> Path:
    return Path(os.environ.get(ARTIFACTS_ENV) or config.rootpath / "test-artifacts")


def save_artifacts(item, pages, *, suffix: str = "") -> list[Path]:
    """Screenshot (full page) and HTML of every page the test still has open, named after the
    test (``tests/e2e/test_x.py::test_y[phone]`` → ``test_x.py__test_y[phone].png``). Best
    effort: a page that has crashed or closed is skipped, never masking the test's own error."""
    folder = artifacts_dir(item.config)
    folder.mkdir(parents=True, exist_ok=True)
    base = re.sub(r"[^\w.\[\]-]+", "_", item.nodeid.split("tests/e2e/", 1)[-1]).strip("_")
    if suffix:
        base = f"{base}-{suffix}"
    saved: list[Path] = []
    for index, page in enumerate(pages):
        stem = base if index == 0 else f"{base}-{index}"
        try:
            if page.is_closed():
                continue
            png, html = folder / f"{stem}.png", folder / f"{stem}.html"
            page.screenshot(path=str(png), full_page=True, timeout=10_000)
            html.write_text(
                f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8", errors="replace"
            )
            saved += [png, html]
        except Exception:  # noqa: BLE001, S112 - the test's own failure is what matters
            continue
    return saved


def _open_pages(item) -> list:
    """Every page of every context of the session's browser (a test may open more than the
    ``page`` fixture's), the fixture's own page first."""
    browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    own = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    pages = [own] if own is not None else []
    if browser is not None:
        for context in browser.contexts:
            pages += [p for p in context.pages if p is not own]
    return pages


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
    # Every browser test: on a failure of the test body the browser is still open (fixtures
    # tear down later), so what the user would have seen is saved for CI to collect.
    if rep.when == "call" and rep.failed and item.get_closest_marker("e2e"):
        saved = save_artifacts(item, _open_pages(item))
        if saved:
            rep.sections.append(("browser artefacts", "\n".join(str(path) for path in saved)))


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
