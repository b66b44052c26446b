"""One pre-heated visit of the kernel explorer in Chromium: where the time goes, with plotly's own figure code and with the partial bundle.

Two Voila servers run side by side with the repository's ``voila.json``: one sends plotly's own
``FigureWidget`` code (``LSN_EXPLORER_PLOTLY_BUNDLE=full``: the widget and all of plotly.js,
4.96 MB), the other the app's default, :class:`~lsn_explorer.apps.plotly_bundle.ScatterFigureWidget`
(the widget with plotly.js' "gl2d" partial bundle, 1.6 MB). Visits alternate between the two,
each in a fresh browser context (nothing cached) once the server's pool holds a pre-heated kernel
again, so a change of the machine's load falls on both alike.

Per visit, on the page's clock (:mod:`lsn_explorer.apps.visit_probe`): the time from opening the
page to the kernels drawn in the scatter, its phases (page HTML, Voila's code, the widget state
from the kernel, the figure's code compiled and run, the first draw), the JavaScript bytes (the
scripts fetched plus the figure's module) and Chromium's own counters (``Performance.getMetrics``:
script time, all main-thread tasks). Run::

    python benchmarks/single_visit.py [--visits 5] [--warm 20]

Prints medians and writes ``benchmarks/results/single_visit.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from lsn_explorer.apps.visit_probe import PHASES, VISIT_PROBE, read_visit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from harness import launch_chromium, serve_voila, voila_kernels  # noqa: E402

NOTEBOOK = REPO / "apps" / "kernel_explorer.ipynb"
RESULTS = REPO / "benchmarks" / "results" / "single_visit.json"
TARGET_S = 3.0
VARIANTS = {"plotly's own FigureWidget code": {"LSN_EXPLORER_PLOTLY_BUNDLE": "full"},
            "partial plotly.js bundle (gl2d)": {}}


def wait_for_pool(url: str, pool: int, warm: float, timeout: float = 180.0) -> None:
    """Until the server runs ``pool`` kernels (the used one gone, a new one started), then ``warm`` s more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and voila_kernels(url) != pool:
        time.sleep(0.5)
    time.sleep(warm)


def visit(browser, url: str, timeout_s: float = 120.0) -> dict:
    """One visit in a fresh context: :func:`~lsn_explorer.apps.visit_probe.read_visit` plus Chromium's counters."""
    context = browser.new_context(viewport={"width": 1280, "height": 1500})
    context.add_init_script(script=VISIT_PROBE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    try:
        page.goto(url, timeout=timeout_s * 1000)
        page.wait_for_function("() => window.__lsnVisit && window.__lsnVisit.drawn !== null",
                               timeout=timeout_s * 1000, polling=50)
        result = read_visit(page)
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        result["chromium_s"] = {"script": metrics.get("ScriptDuration"), "tasks": metrics.get("TaskDuration"),
                                "layout": metrics.get("LayoutDuration"), "style": metrics.get("RecalcStyleDuration")}
    finally:
        page.close(run_before_unload=True)
        context.close()
    return result


def _median(values):
    """The median of the values that are not None, or None."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(visits: list[dict]) -> dict:
    """Medians over the visits of one variant."""
    return {
        "tti_s": _median([v["tti_s"] for v in visits]),
        "tti_values_s": [v["tti_s"] for v in visits],
        "phases_s": {name: _median([v["phases"][name] for v in visits]) for name, _, _ in PHASES},
        "javascript_bytes": _median([v["javascript_bytes"] for v in visits]),
        "script_bytes": _median([v["script_bytes"] for v in visits]),
        "module_bytes": _median([v["module_bytes"] for v in visits]),
        "websocket_bytes": _median([v["received_bytes"] for v in visits]),
        "chromium_script_s": _median([v["chromium_s"]["script"] for v in visits]),
        "chromium_tasks_s": _median([v["chromium_s"]["tasks"] for v in visits]),
    }


def report(summaries: dict) -> None:
    """Print the medians side by side, with the ratio of the partial bundle to plotly's own."""
    names = list(summaries)
    print(f"\n{'median of the visits':<40}" + "".join(f"{n[:28]:>30}" for n in names) + f"{'ratio':>8}")
    rows = [("time to the kernels drawn, s", "tti_s", 1)] + [(f"  {p}", ("phases_s", p), 1) for p, _, _ in PHASES]
    rows += [("JavaScript, MB", "javascript_bytes", 1e-6), ("  of which the figure's module, MB", "module_bytes", 1e-6),
             ("kernel websocket received, MB", "websocket_bytes", 1e-6),
             ("Chromium script time, s", "chromium_script_s", 1), ("Chromium main-thread tasks, s", "chromium_tasks_s", 1)]
    for label, key, scale in rows:
        values = [s[key[0]][key[1]] if isinstance(key, tuple) else s[key] for s in summaries.values()]
        cells = "".join(f"{v * scale:>30.2f}" if v is not None else f"{'-':>30}" for v in values)
        ratio = values[1] / values[0] if None not in values[:2] and values[0] else float("nan")
        print(f"{label:<40}{cells}{ratio:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=5, help="visits per variant (median reported)")
    parser.add_argument("--warm", type=float, default=20.0, help="seconds after the pool's kernel is back")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    config = json.loads((REPO / "voila.json").read_text())
    pool = config["VoilaConfiguration"].get("default_pool_size", 1)
    load_before = os.getloadavg()
    visits = {name: [] for name in VARIANTS}
    with contextlib.ExitStack() as stack, sync_playwright() as pw:
        urls = {name: stack.enter_context(serve_voila(NOTEBOOK, timeout=240, env=env)) for name, env in VARIANTS.items()}
        browser = launch_chromium(pw)
        for n in range(args.visits):
            for name, url in urls.items():
                wait_for_pool(url, pool, args.warm)
                visits[name].append(visit(browser, url))
                print(f"visit {n + 1}, {name}: {visits[name][-1]['tti_s']:.2f} s, "
                      f"{visits[name][-1]['javascript_bytes'] / 1e6:.2f} MB of JavaScript", flush=True)
        browser.close()
    summaries = {name: summarize(v) for name, v in visits.items()}
    report(summaries)
    after = summaries[list(VARIANTS)[-1]]
    print(f"\npre-heated visit: {after['tti_s']:.2f} s median (target {TARGET_S:.0f} s): "
          f"{'pass' if after['tti_s'] <= TARGET_S else 'FAIL'}; load average {load_before[0]:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(
        benchmark="single_visit", machine=platform.node(), cpus=os.cpu_count(), target_s=TARGET_S,
        load_average_before=load_before, load_average_after=os.getloadavg(), summaries=summaries, visits=visits,
    ), indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
