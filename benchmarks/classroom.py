"""A class on one machine: S students open the kernel explorer at once, change a layer, click a kernel, close.

Voila serves ``apps/kernel_explorer.ipynb`` with the repository's ``voila.json`` (pre-heated
kernels, a kernel ceiling, culling of closed tabs). Each student is a browser context of one
headless Chromium (Debian's), driven by Playwright; all S arrive together, R rounds one after
the other. Per student and round:

* time to interactive: from opening the page to the first kernel drawn in the scatter;
* layer change: from pressing → on the layer slider to the scatter showing the next layer;
* kernel click: from the click on a kernel to its heatmap;
* a failure: any of these not happening within the timeout, or a page that is not HTTP 200
  (the ceiling's "server is full" page counts as a failure).

Interaction times are taken inside the page (see ``ARM_TIMER``). The kernels' resident memory
is sampled every 0.5 s (peak of their total, and of one kernel), and the kernels still alive
are counted 10 s and 120 s after the last tab closed. Run::

    python benchmarks/classroom.py [--students 10] [--rounds 3]

Prints a summary and writes ``benchmarks/results/classroom.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from lsn_explorer.apps.serving import serving_limits
from lsn_explorer.apps.testing import (
    ARM_TIMER, CLICKABLE_KERNELS, DETAIL_TITLE, SCATTER_DRAWN, SCATTER_TITLE, TIMER_DONE, TIMER_SECONDS,
    launch_chromium, serve_voila, voila_kernel_processes, voila_kernels,
)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "apps" / "kernel_explorer.ipynb"
RESULTS = REPO / "benchmarks" / "results" / "classroom.json"
TARGETS = {"time to interactive p95": 15.0, "layer change p95": 0.500, "kernel RSS max MiB": 300}


class KernelMemory(threading.Thread):
    """Samples the resident memory of the Voila server's kernels until stopped."""

    def __init__(self, url: str, interval: float = 0.5):
        super().__init__(daemon=True)
        self.url, self.interval = url, interval
        self.peak_total_mib = self.peak_kernel_mib = 0.0
        self.peak_kernels = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            rss = []
            for kernel in voila_kernel_processes(self.url):
                try:
                    rss.append(kernel.memory_info().rss / 2**20)
                except psutil.Error:  # it ended between the listing and the reading
                    pass
            self.peak_total_mib = max(self.peak_total_mib, sum(rss))
            self.peak_kernel_mib = max([self.peak_kernel_mib, *rss])
            self.peak_kernels = max(self.peak_kernels, len(rss))

    def stop(self) -> None:
        self._halt.set()
        self.join()


async def _timed(page, expression: str, prefix: str, action) -> float:
    await page.evaluate(ARM_TIMER, [expression, prefix])
    await action()
    await page.wait_for_function(TIMER_DONE, timeout=60_000, polling=5)
    return await page.evaluate(TIMER_SECONDS)


async def _student(browser, url: str, timeout_ms: int) -> dict:
    context = await browser.new_context(viewport={"width": 1280, "height": 1500})
    page = await context.new_page()
    record = {"tti_s": None, "layer_s": None, "click_s": None, "error": None}
    try:
        start = time.perf_counter()
        response = await page.goto(url, timeout=timeout_ms)
        if response is None or response.status != 200:
            raise RuntimeError(f"HTTP {None if response is None else response.status}: {await page.inner_text('body')}")
        await page.wait_for_function(SCATTER_DRAWN, timeout=timeout_ms, polling=50)
        record["tti_s"] = time.perf_counter() - start
        layer = int((await page.evaluate(SCATTER_TITLE)).split()[1])
        handle = page.locator(".kx-layer .noUi-handle").first
        record["layer_s"] = await _timed(page, SCATTER_TITLE, f"layer {layer + 1} (",
                                         lambda: handle.press("ArrowRight"))  # focuses the handle, then the key
        current = await page.evaluate(DETAIL_TITLE)
        points = [p for p in await page.evaluate(CLICKABLE_KERNELS) if p["gap"] > 8 and p["name"] != current]
        if not points:
            raise RuntimeError("no kernel to click")
        await page.wait_for_timeout(400)  # not a double click with the focus change
        record["click_s"] = await _timed(page, DETAIL_TITLE, points[0]["name"],
                                         lambda: page.mouse.click(points[0]["x"], points[0]["y"]))
    except Exception as error:  # noqa: BLE001 - every failure a student sees is counted, whatever it is
        record["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    finally:
        await page.close(run_before_unload=True)  # as a closed tab: the page asks Voila to shut its kernel
        await asyncio.sleep(1.0)
        await context.close()
    return record


async def _classroom(url: str, students: int, rounds: int, timeout_s: float) -> tuple[list[dict], float]:
    from playwright.async_api import async_playwright

    records = []
    async with async_playwright() as pw:
        browser = await launch_chromium(pw)
        for r in range(rounds):
            done = await asyncio.gather(*(_student(browser, url, int(timeout_s * 1000)) for _ in range(students)))
            records += [{"round": r, "student": s, **d} for s, d in enumerate(done)]
            ok = [d for d in done if d["error"] is None]
            print(f"round {r + 1}: {len(ok)}/{students} students got through, time to interactive max "
                  f"{max((d['tti_s'] for d in done if d['tti_s'] is not None), default=float('nan')):.1f} s", flush=True)
            for s, d in enumerate(done):
                if d["error"]:
                    print(f"  student {s + 1}: {d['error']}", flush=True)
        closed = time.monotonic()
        await browser.close()
    return records, closed


def _percentiles(values: list[float]) -> dict:
    v = np.asarray(values, dtype=float)
    if not len(v):
        return {"n": 0}
    return {"n": len(v), "p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a student waits for each step")
    parser.add_argument("--warm", type=float, default=30.0, help="seconds the server gets before the class arrives")
    args = parser.parse_args()

    config = json.loads((REPO / "voila.json").read_text())
    log = Path(tempfile.mkdtemp(prefix="classroom-")) / "voila.log"
    with serve_voila(NOTEBOOK, timeout=180, log_path=log) as url:
        memory = KernelMemory(url)
        memory.start()
        time.sleep(args.warm)
        records, closed = asyncio.run(_classroom(url, args.students, args.rounds, args.timeout))
        alive = {}
        for after in (10, 120):
            time.sleep(max(0.0, closed + after - time.monotonic()))
            alive[f"{after} s"] = voila_kernels(url)
        memory.stop()

    ok = [r for r in records if r["error"] is None]
    summary = {
        "time to interactive s": _percentiles([r["tti_s"] for r in records if r["tti_s"] is not None]),
        "layer change s": _percentiles([r["layer_s"] for r in records if r["layer_s"] is not None]),
        "kernel click s": _percentiles([r["click_s"] for r in records if r["click_s"] is not None]),
        "failures": len(records) - len(ok),
        "peak total kernel RSS MiB": round(memory.peak_total_mib),
        "peak kernel RSS MiB": round(memory.peak_kernel_mib),
        "peak kernels": memory.peak_kernels,
        "kernels alive after the last close": alive,
    }
    print(f"\n{args.students} students x {args.rounds} rounds ({platform.node()}, {os.cpu_count()} CPUs); "
          f"{serving_limits(config)}")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(dict(
        benchmark="classroom", machine=platform.node(), cpus=os.cpu_count(), students=args.students,
        rounds=args.rounds, warm_s=args.warm, voila_config=config, targets=TARGETS, summary=summary,
        records=records,
    ), indent=2) + "\n")
    print(f"wrote {RESULTS} (server log: {log})")


if __name__ == "__main__":
    main()
