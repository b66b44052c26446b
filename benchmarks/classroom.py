"""A class on one machine: S students arrive over a start window, change a layer, click a kernel, close.

Voila serves ``apps/kernel_explorer.ipynb`` with the repository's ``voila.json`` (pre-heated
kernels, the kernel ceiling from the machine, culling of abandoned tabs). As JupyterHub's traffic
simulator hubtraf does for a hub, the students are simulated at the protocol level
(:class:`~lsn_explorer.apps.protocol_student.ProtocolStudent`: the page's HTTP requests and
the kernel websocket messages a real page sends, no browser), because in a class every browser
runs on its student's own laptop and the server pays only for the kernel. Beside them, one real
Chromium student (headless, Debian's, driven by Playwright) shows what a person sees.

S students arrive at times drawn uniformly over the start window W (seed 0; hubtraf's default
window is 60 s), or all at once; the Chromium student arrives mid-window. Each opens the page,
changes the layer, clicks a kernel, then keeps the tab open until the whole class has done so;
then every tab closes (the page's shutdown request). R rounds follow one another. Per run:

* time to interactive (TTI): protocol students, from the page request to the widget state
  received (all a browser needs from the server to draw); the Chromium student, from opening
  the page to the kernels drawn in the scatter;
* layer change: from the slider's new value sent (Chromium: the key press) to the figure of
  the new layer received (Chromium: drawn); kernel click: from the click to the clicked kernel's
  detail;
* failures: a step without an answer within the timeout, or a page that is not HTTP 200
  (``turned away``: the server was full);
* the server: peak kernels and resident memory (kernels and Voila, sampled every 0.5 s), kernels
  still running 10 s and 120 s after the last tab closed, and the CPU-seconds the server (Voila
  and every kernel it started) spent per visit.

Run (each run is merged into ``benchmarks/results/classroom.json`` under its own key)::

    python benchmarks/classroom.py --students 30 --window 60 --rounds 3          # the class
    python benchmarks/classroom.py --students 10 --all-at-once --rounds 3        # all at once
    python benchmarks/classroom.py --curve 1,5,10,20,30 --window 60 --rounds 3   # capacity curve + figure

The machine running this benchmark also runs the students: the protocol students cost little,
the Chromium student about 5 CPU-seconds per visit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from lsn_explorer.apps.protocol_student import run_students
from lsn_explorer.apps.serving import config_ceiling, serving_limits

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests")]
from classroom_report import curve_rows, markdown_table, must_show, write_curve_figure  # noqa: E402
from classroom_chromium import chromium_student  # noqa: E402
from harness import serve_voila, voila_kernel_processes, voila_kernels  # noqa: E402

NOTEBOOK = REPO / "apps" / "kernel_explorer.ipynb"
RESULTS = REPO / "benchmarks" / "results" / "classroom.json"


def voila_process(url: str) -> psutil.Process:
    """The Voila server listening on ``url``'s port (from :func:`serve_voila`)."""
    port = f"--port={url.rstrip('/').rsplit(':', 1)[1]}"
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "voila" in cmdline and port in cmdline:
            return process
    raise RuntimeError(f"no Voila server found with {port}")


class ServerSampler(threading.Thread):
    """Samples the Voila server's kernels (count, resident memory) and the server's own memory until stopped.

    The server's CPU time is read at start and stop: Voila's own, its finished children's
    (kernels shut down and reaped) and its running kernels'.
    """

    def __init__(self, url: str, interval: float = 0.5):
        super().__init__(daemon=True)
        self.url, self.interval = url, interval
        self.server = voila_process(url)
        self.peak_kernels, self.peak_kernel_mib, self.peak_total_mib, self.peak_server_mib = 0, 0.0, 0.0, 0.0
        self._halt = threading.Event()
        self.cpu_start = self.cpu_seconds()

    def cpu_seconds(self) -> float:
        """CPU-seconds of the server so far: Voila, its reaped children, its running kernels."""
        t = self.server.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for kernel in voila_kernel_processes(self.url):
            try:
                k = kernel.cpu_times()
                total += k.user + k.system
            except psutil.Error:
                pass
        return total

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            rss = []
            for kernel in voila_kernel_processes(self.url):
                try:
                    rss.append(kernel.memory_info().rss / 2**20)
                except psutil.Error:  # it ended between the listing and the reading
                    pass
            self.peak_kernels = max(self.peak_kernels, len(rss))
            self.peak_kernel_mib = max([self.peak_kernel_mib, *rss])
            self.peak_total_mib = max(self.peak_total_mib, sum(rss))
            self.peak_server_mib = max(self.peak_server_mib, self.server.memory_info().rss / 2**20)

    def stop(self) -> float:
        """Stop sampling; the server's CPU-seconds since the sampler was made."""
        self._halt.set()
        self.join()
        return self.cpu_seconds() - self.cpu_start


def arrivals(students: int, window: float, *, all_at_once: bool, seed: int) -> list[float]:
    """Arrival times (s): uniform over ``[0, window]`` (sorted, seeded), or all zero."""
    if all_at_once or window <= 0:
        return [0.0] * students
    return sorted(np.random.default_rng(seed).uniform(0.0, window, students).tolist())


async def one_round(url: str, args, r: int, browser) -> tuple[list[dict], dict | None]:
    """One round: the protocol students and, if ``browser``, the Chromium student mid-window."""
    offsets = arrivals(args.students, args.window, all_at_once=args.all_at_once, seed=r)
    done = asyncio.Event()
    protocol = asyncio.ensure_future(run_students(url, offsets, timeout=args.timeout, think=args.think,
                                                  seed=1000 * r))
    chromium = None
    if browser is not None:
        at = 0.0 if args.all_at_once else args.window / 2
        chromium = asyncio.ensure_future(chromium_student(browser, url, at, done, timeout_s=args.timeout))
        records = await protocol
        done.set()
        return records, await chromium
    return await protocol, None


async def classroom(url: str, args, pool: int) -> tuple[list[dict], list[dict], float]:
    """All rounds; the protocol records, the Chromium records and the monotonic time the last tab closed."""
    from playwright.async_api import async_playwright

    from harness import CHROMIUM_FLAGS, find_chromium

    protocol, chromium = [], []
    async with async_playwright() as pw:
        browser = None
        if args.chromium:
            browser = await pw.chromium.launch(executable_path=find_chromium(), headless=True, args=list(CHROMIUM_FLAGS))
        for r in range(args.rounds):
            if r:
                await _pool_refilled(url, pool)
            records, seen = await one_round(url, args, r, browser)
            protocol += [{"round": r, "student": s, **d} for s, d in enumerate(records)]
            if seen is not None:
                chromium.append({"round": r, **seen})
            _print_round(r, records, seen)
        closed = time.monotonic()
        if browser is not None:
            await browser.close()
    return protocol, chromium, closed


async def _pool_refilled(url: str, pool: int, timeout: float = 120.0) -> None:
    """Wait until only the pool's kernels run (the last round's are gone), then 5 s for it to render."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and voila_kernels(url) > pool:
        await asyncio.sleep(1.0)
    await asyncio.sleep(5.0)


def _print_round(r: int, records: list[dict], seen: dict | None) -> None:
    """One line per round, one more per failed student."""
    ok = [d for d in records if d["error"] is None]
    tti = [d["tti_s"] for d in records if d["tti_s"] is not None]
    line = (f"round {r + 1}: {len(ok)}/{len(records)} protocol students got through, TTI max "
            f"{max(tti, default=float('nan')):.1f} s")
    if seen is not None:
        line += f"; Chromium: TTI {seen['tti_s'] or float('nan'):.1f} s, layer {seen['layer_s'] or float('nan'):.3f} s"
        line += f" ({seen['error']})" if seen["error"] else ""
    print(line, flush=True)
    for s, d in enumerate(records):
        if d["error"]:
            print(f"  student {s + 1}: {d['error']}", flush=True)


def _percentiles(values: list) -> dict:
    """``n``, ``p50``, ``p95``, ``max`` of the values that are not None."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if not len(v):
        return {"n": 0}
    return {"n": int(len(v)), "p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95)),
            "max": float(v.max())}


def summarize(protocol: list[dict], chromium: list[dict], sampler: ServerSampler, cpu_s: float, alive: dict) -> dict:
    """The run's numbers (see the module's docstring)."""
    visits = len(protocol) + len(chromium)
    return {
        "protocol TTI s": _percentiles([r["tti_s"] for r in protocol]),
        "protocol page s": _percentiles([r["page_s"] for r in protocol]),
        "protocol layer change s": _percentiles([r["layer_s"] for r in protocol]),
        "protocol kernel click s": _percentiles([r["click_s"] for r in protocol]),
        "protocol failures": sum(r["error"] is not None for r in protocol),
        "protocol turned away": sum(bool(r["turned_away"]) for r in protocol),
        "Chromium TTI s": _percentiles([r["tti_s"] for r in chromium]),
        "Chromium layer change s": _percentiles([r["layer_s"] for r in chromium]),
        "Chromium kernel click s": _percentiles([r["click_s"] for r in chromium]),
        "Chromium failures": sum(r["error"] is not None for r in chromium),
        "peak kernels": sampler.peak_kernels,
        "peak kernel RSS MiB": round(sampler.peak_kernel_mib),
        "peak total kernel RSS MiB": round(sampler.peak_total_mib),
        "peak Voila server RSS MiB": round(sampler.peak_server_mib),
        "kernels alive after the last close": alive,
        "server CPU s": round(cpu_s, 1),
        "server CPU s per student visit": round(cpu_s / visits, 2) if visits else None,
    }


def run_key(args) -> str:
    """The key of a run in the results: students, window (or all at once), rounds, Chromium or not."""
    arrival = "all at once" if args.all_at_once else f"W={args.window:g}s"
    extra = "".join(f" {a}" for a in args.voila_arg)
    return f"S={args.students} {arrival} R={args.rounds}" + (" +Chromium" if args.chromium else "") + extra


def measure(args) -> dict:
    """Serve the app, play the class, wait for the kernels to go; the run's summary and records."""
    config = json.loads((REPO / "voila.json").read_text())
    pool = config["VoilaConfiguration"].get("default_pool_size", 1) if config["VoilaConfiguration"].get("preheat_kernel") else 0
    for option in args.voila_arg:
        if option.startswith("--VoilaConfiguration.default_pool_size="):
            pool = int(option.split("=", 1)[1])
    log = Path(tempfile.mkdtemp(prefix="classroom-")) / "voila.log"
    load_before = os.getloadavg()
    with serve_voila(NOTEBOOK, timeout=240, log_path=log, args=args.voila_arg) as url:
        deadline = time.monotonic() + 180
        while voila_kernels(url) < pool and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(args.warm)
        sampler = ServerSampler(url)
        sampler.start()
        protocol, chromium, closed = asyncio.run(classroom(url, args, pool))
        alive = {}
        for after in args.after:
            time.sleep(max(0.0, closed + after - time.monotonic()))
            alive[f"{after:g} s"] = voila_kernels(url)
        cpu_s = sampler.stop()
    summary = summarize(protocol, chromium, sampler, cpu_s, alive)
    print(f"\n{run_key(args)} ({platform.node()}, {os.cpu_count()} CPUs, load {load_before[0]:.2f} before): "
          f"{serving_limits(config)}")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    return dict(students=args.students, window_s=0.0 if args.all_at_once else args.window, all_at_once=args.all_at_once,
                rounds=args.rounds, chromium=args.chromium, voila_args=args.voila_arg, think_s=args.think, timeout_s=args.timeout,
                pool=pool, ceiling=str(config_ceiling(config)), load_average_before=load_before,
                load_average_after=os.getloadavg(), server_log=str(log), summary=summary,
                protocol_records=protocol, chromium_records=chromium)


def save(runs: dict, out: Path) -> dict:
    """Merge ``runs`` into the results file (same keys replaced); add the curve and the must-show checks."""
    results = json.loads(out.read_text()) if out.is_file() else {}
    if "runs" not in results:
        results = {"benchmark": "classroom", "runs": {}}
    config = json.loads((REPO / "voila.json").read_text())
    results.update(machine=platform.node(), cpus=os.cpu_count(), memory_gib=round(psutil.virtual_memory().total / 2**30, 1),
                   voila_config=config)
    results["runs"].update(runs)
    results["curve"] = curve_rows(results["runs"])
    results["must_show"] = must_show(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30, help="protocol students S")
    parser.add_argument("--window", type=float, default=60.0, help="start window W, seconds (hubtraf: 60)")
    parser.add_argument("--all-at-once", action="store_true", help="every student arrives at 0 s")
    parser.add_argument("--rounds", type=int, default=3, help="rounds R, one after the other")
    parser.add_argument("--chromium", action=argparse.BooleanOptionalAction, default=True,
                        help="one real Chromium student beside the protocol students (default: yes)")
    parser.add_argument("--curve", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="a capacity curve: comma-separated S, one fresh server each (e.g. 1,5,10,20,30)")
    parser.add_argument("--think", type=float, default=1.0, help="seconds a student pauses between steps")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a student waits for each step")
    parser.add_argument("--warm", type=float, default=20.0, help="seconds the server gets before the class")
    parser.add_argument("--after", type=float, nargs="+", default=[10.0, 120.0],
                        help="count the kernels this many seconds after the last tab closed")
    parser.add_argument("--voila-arg", action="append", default=[],
                        help="an extra Voila option for the run, e.g. --voila-arg=--VoilaConfiguration.default_pool_size=2")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--figure", type=Path, default=RESULTS.with_name("classroom_capacity"),
                        help="stem of the capacity figure (.html and .png)")
    args = parser.parse_args()

    runs = {}
    for students in args.curve or [args.students]:
        args.students = students
        runs[run_key(args)] = measure(args)
        save(runs, args.out)
    results = save(runs, args.out)
    if args.curve:
        print("\n".join(write_curve_figure(results, args.figure)))
    print(markdown_table(results))
    print(json.dumps(results["must_show"], indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
