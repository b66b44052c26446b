"""Shared fixtures: an isolated data cache, and the real browser for the app tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import find_chromium, launch_chromium

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture(scope="session", autouse=True)
def _data_cache(tmp_path_factory):
    """Keep every test's cached data out of the user's cache (CI passes its own folder)."""
    if not os.environ.get("LSN_EXPLORER_DATA"):
        os.environ["LSN_EXPLORER_DATA"] = str(tmp_path_factory.mktemp("lsn_explorer_cache"))
    yield


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium; a missing one skips browser tests, or fails them when
    ``LSN_EXPLORER_REQUIRE_BROWSER=1`` (as CI sets)."""
    path = find_chromium()
    if path is None:
        message = "no Chromium on this machine (apt-get install chromium)"
        if os.environ.get("LSN_EXPLORER_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and LSN_EXPLORER_REQUIRE_BROWSER=1")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    """A headless Chromium driven by Playwright, shared by the browser tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, executable_path=chromium_path)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records uncaught page errors in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots the browser tests save."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
