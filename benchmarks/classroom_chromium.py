"""The real-browser student of ``classroom.py``: headless Chromium opens the kernel explorer, changes the layer, clicks a kernel.

Times are taken inside the page: the time to interactive by
:data:`~lsn_explorer.apps.visit_probe.VISIT_PROBE` (from the navigation's start to the kernels
drawn in the scatter, with its phases), the layer change and the kernel click by the stopwatch
of ``tests/harness.py`` (``ARM_TIMER``: from just before the key press or click to the
scatter's title naming the new layer, or the detail naming the clicked kernel).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from lsn_explorer.apps.visit_probe import COLLECT_VISIT, VISIT_PROBE, summarize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from harness import (  # noqa: E402
    ARM_TIMER, CLICKABLE_KERNELS, DETAIL_TITLE, SCATTER_TITLE, TIMER_DONE, TIMER_SECONDS,
)

DRAWN = "() => window.__lsnVisit && window.__lsnVisit.drawn !== null"


async def _timed(page, expression: str, prefix: str, action, timeout_ms: int) -> float:
    """Seconds from just before ``action()`` until the JS ``expression`` (a text) starts with ``prefix``."""
    await page.evaluate(ARM_TIMER, [expression, prefix])
    await action()
    await page.wait_for_function(TIMER_DONE, timeout=timeout_ms, polling=5)
    return await page.evaluate(TIMER_SECONDS)


async def _interact(page, record: dict, timeout_ms: int) -> None:
    """Change the layer with the slider's → key, then click the kernel farthest from the others."""
    layer = int((await page.evaluate(SCATTER_TITLE)).split()[1])
    handle = page.locator(".kx-layer .noUi-handle").first
    last = int(float(await handle.get_attribute("aria-valuemax")))
    key, new = ("ArrowRight", layer + 1) if layer < last else ("ArrowLeft", layer - 1)
    record["layer_s"] = await _timed(page, SCATTER_TITLE, f"layer {new} (", lambda: handle.press(key), timeout_ms)
    current = await page.evaluate(DETAIL_TITLE)
    points = [p for p in await page.evaluate(CLICKABLE_KERNELS) if p["gap"] > 8 and p["name"] != current]
    if not points:
        raise RuntimeError("no kernel to click")
    await page.wait_for_timeout(400)  # two clicks within plotly's 300 ms are a double click
    record["click_s"] = await _timed(page, DETAIL_TITLE, points[0]["name"],
                                     lambda: page.mouse.click(points[0]["x"], points[0]["y"]), timeout_ms)


async def _diagnose(page) -> dict | None:
    """What the page shows and last sent its kernel, for a failed step (None if the page cannot tell)."""
    try:
        return await page.evaluate("""() => {
          const slider = document.querySelector('.kx-layer .noUi-handle');
          const gd = document.querySelector('.kx-scatter.js-plotly-plot');
          const sent = (window.__lsnVisit || {sent: []}).sent.slice(-6).map(m => [m.msg_type,
            Object.keys(((m.content || {}).data || {}).state || {}).join(',')].join(' '));
          return {slider: slider && slider.getAttribute('aria-valuenow'), focused: document.activeElement &&
                  document.activeElement.className, title: gd && gd.layout && gd.layout.title.text,
                  detail: (document.querySelector('.kx-detail-title') || {}).innerText, last_sent: sent,
                  received_bytes: (window.__lsnVisit || {}).received_bytes};
        }""")
    except Exception:  # noqa: BLE001 - a closed or crashed page has nothing to say
        return None


async def chromium_student(browser, url: str, at: float, done: asyncio.Event, *, timeout_s: float = 120.0) -> dict:
    """One visit in a fresh browser context, arriving ``at`` seconds in and closing once ``done`` is set.

    Parameters
    ----------
    browser : playwright.async_api.Browser
    url : str
    at : float
        Seconds to wait before opening the page.
    done : asyncio.Event
        The tab stays open (idle) until it is set, as the rest of the class.
    timeout_s : float, optional
        Seconds each step may take.

    Returns
    -------
    dict
        ``arrival_s``, ``tti_s``, ``layer_s``, ``click_s``, ``error``, ``phases`` (s),
        ``javascript_bytes``.
    """
    await asyncio.sleep(at)
    timeout_ms = int(timeout_s * 1000)
    context = await browser.new_context(viewport={"width": 1280, "height": 1500})
    await context.add_init_script(script=VISIT_PROBE)
    page = await context.new_page()
    record = {"arrival_s": at, "tti_s": None, "layer_s": None, "click_s": None, "error": None, "phases": None,
              "javascript_bytes": None}
    try:
        response = await page.goto(url, timeout=timeout_ms)
        if response is None or response.status != 200:
            status = None if response is None else response.status
            raise RuntimeError(f"HTTP {status}: {(await page.inner_text('body'))[:160]}")
        await page.wait_for_function(DRAWN, timeout=timeout_ms, polling=50)
        visit = summarize(await page.evaluate(COLLECT_VISIT))
        record.update(tti_s=visit["tti_s"], phases=visit["phases"], javascript_bytes=visit["javascript_bytes"])
        await _interact(page, record, timeout_ms)
        await done.wait()
    except Exception as error:  # noqa: BLE001 - every failure a student sees is counted, whatever it is
        record["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
        record["diagnosis"] = await _diagnose(page)
    finally:
        await page.close(run_before_unload=True)  # as a closed tab: the page asks Voila to shut its kernel
        await asyncio.sleep(1.0)
        await context.close()
    return record
