"""Drive the Voila apps in a real browser: serve a notebook, open it in headless Chromium.

The harness of the browser tests and of the app benchmarks (``benchmarks/app_latency.py``,
``classroom.py``, ``classroom_chromium.py``, ``single_visit.py``), which put ``tests/`` on
``sys.path`` to import it; it is not part of the installed package. Playwright is a test
dependency and is imported only when a browser is launched. Chromium comes from the
system (Debian's ``chromium`` package); Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from collections.abc import Iterator, Sequence

__all__ = [
    "CHROMIUM_FLAGS", "find_chromium", "free_port", "serve_voila", "voila_kernels", "voila_kernel_processes", "wait_until",
    "launch_chromium",
    "SCATTER", "DETAIL_TITLE", "SCATTER_TITLE", "SCATTER_DRAWN", "APP_DRAWN", "CLICKABLE_KERNELS", "select_real_ct",
    "ARM_TIMER", "TIMER_DONE", "TIMER_SECONDS",
]

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> str | None:
    """Path of the system Chromium (``$CHROMIUM``, then ``chromium`` on PATH), or None."""
    candidate = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return candidate if candidate and Path(candidate).exists() else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_voila(notebook: str | os.PathLike, *, port: int | None = None, timeout: float = 120.0,
                env: dict | None = None, log_path: str | os.PathLike | None = None,
                args: Sequence[str] = ()) -> Iterator[str]:
    """Serve ``notebook`` with Voila on 127.0.0.1 and yield its URL once ``/api`` answers.

    Parameters
    ----------
    notebook : path
        The notebook to serve.
    port : int, optional
        Default: a free port.
    timeout : float
        Seconds to wait for the server before raising ``TimeoutError``.
    env : dict, optional
        Extra environment variables for the server.
    log_path : path, optional
        File that receives the server's output (default: discarded).
    args : sequence of str, optional
        Extra command-line options for Voila, e.g. ``["--ClassroomKernelManager.max_kernels=2"]``
        over the repository's ``voila.json``.

    Yields
    ------
    str
        ``http://127.0.0.1:<port>/``. The server is stopped (by its PID) on exit.
    """
    port = port or free_port()
    command = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
               *args]
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url + "api", process, timeout)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if log_path:
            log.close()


def voila_kernel_processes(url: str) -> list:
    """The kernel processes of the Voila server at ``url`` (from :func:`serve_voila`), as ``psutil.Process``.

    Voila does not expose Jupyter's kernels API, so these are found as the children of the
    server listening on ``url``'s port.

    Raises
    ------
    RuntimeError
        No Voila server listens on that port.
    """
    import psutil

    port = f"--port={urllib.parse.urlsplit(url).port}"
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "voila" in cmdline and port in cmdline:
            kernels = []
            for child in process.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):  # a kernel that ended meanwhile
                    if "ipykernel_launcher" in " ".join(child.cmdline()):
                        kernels.append(child)
            return kernels
    raise RuntimeError(f"no Voila server found with {port}")


def voila_kernels(url: str) -> int:
    """How many kernels the Voila server at ``url`` runs now (see :func:`voila_kernel_processes`)."""
    return len(voila_kernel_processes(url))


def wait_until(condition, timeout: float, interval: float = 0.5) -> bool:
    """Poll ``condition()`` every ``interval`` seconds for up to ``timeout``; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def _wait_for(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Poll ``url`` until the server answers with any HTTP status (Voila redirects ``/api``)."""
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voila exited with status {process.returncode} before {url} answered")
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
        try:
            connection.request("GET", parts.path)
            connection.getresponse()
            return
        except (ConnectionError, TimeoutError, http.client.HTTPException, OSError):
            time.sleep(0.2)
        finally:
            connection.close()
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def launch_chromium(playwright, *, executable_path: str | None = None):
    """Launch the system Chromium headless through a Playwright instance.

    Parameters
    ----------
    playwright : playwright.sync_api.Playwright
        From ``sync_playwright().start()`` or the context manager.
    executable_path : str, optional
        Default :func:`find_chromium`.
    """
    executable_path = executable_path or find_chromium()
    if executable_path is None:
        raise FileNotFoundError("no Chromium found: install Debian's 'chromium' package or set $CHROMIUM")
    return playwright.chromium.launch(executable_path=executable_path, headless=True, args=list(CHROMIUM_FLAGS))


# Page probes of the kernel explorer (selectors and JavaScript), shared by its browser
# tests and its latency benchmark.
# A stopwatch inside the page, so a browser driver's round trips do not count: evaluate
# ARM_TIMER with [JS expression giving a text, prefix], act, wait for TIMER_DONE, read TIMER_SECONDS
# (seconds from arming until the text started with the prefix; polled every 2 ms).
ARM_TIMER = """([expression, prefix]) => {
  const text = new Function('return ' + expression);
  window.__done = null;
  window.__t0 = performance.now();
  const iv = setInterval(() => {
    let t = null;
    try { t = text(); } catch (e) {}
    if (t && t.startsWith(prefix)) { window.__done = performance.now(); clearInterval(iv); }
  }, 2);
}"""
TIMER_DONE = "window.__done !== null"
TIMER_SECONDS = "(window.__done - window.__t0) / 1000"

SCATTER = ".kx-scatter.js-plotly-plot"
DETAIL_TITLE = "document.querySelector('.kx-detail-title').innerText"
SCATTER_TITLE = "document.querySelector('.kx-scatter.js-plotly-plot').layout.title.text"
# the kernels are drawn: plotly has laid the points out, as SVG markers or on a WebGL canvas
SCATTER_DRAWN = """() => { const gd = document.querySelector('.kx-scatter.js-plotly-plot');
  return !!(gd && gd._fullData && gd._fullData.length && gd._fullData[0].x && gd._fullData[0].x.length > 0
            && (gd.querySelector('.scatterlayer .point') || gd.querySelector('canvas.gl-canvas-context'))); }"""
# the scatter is drawn, and the HTML views beside and below it are there
APP_DRAWN = """() => { const gd = document.querySelector('.kx-scatter.js-plotly-plot');
  return !!(gd && gd._fullLayout && gd._fullData) && ['.kx-detail table', '.kx-centroids table', '.kx-fractions table']
    .every(s => !!document.querySelector(s)); }"""
# every kernel of the scatter in page pixels, farthest from any other marker first
CLICKABLE_KERNELS = """() => {
  const gd = document.querySelector('%s');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const px = (t, i) => [box.left + xa._offset + xa.l2p(t.x[i]), box.top + ya._offset + ya.l2p(t.y[i])];
  const kern = gd.data[0], others = [], out = [];
  gd.data.slice(1).forEach(t => (t.x || []).forEach((v, i) => { if (v !== null) others.push(px(t, i)); }));
  for (let i = 0; i < kern.x.length; i++) {
    const p = px(kern, i);
    if (p[0] < box.left + xa._offset + 10 || p[0] > box.left + xa._offset + xa._length - 10) continue;
    if (p[1] < box.top + ya._offset + 10 || p[1] > box.top + ya._offset + ya._length - 10) continue;
    let gap = Infinity;
    for (let j = 0; j < kern.x.length; j++) if (j !== i) { const q = px(kern, j); gap = Math.min(gap, Math.hypot(p[0] - q[0], p[1] - q[1])); }
    for (const q of others) gap = Math.min(gap, Math.hypot(p[0] - q[0], p[1] - q[1]));
    out.push({i, x: p[0], y: p[1], gap, name: String(kern.text[i]).split('<br>')[0]});
  }
  return out.sort((a, b) => b.gap - a.gap);
}""" % SCATTER


def select_real_ct(page, *, timeout_ms: int = 240_000) -> None:
    """Choose the real CT in an app's "Data" menu and wait until it is shown (fetched on first use).

    Parameters
    ----------
    page : playwright.sync_api.Page
        A page showing a served app with a :class:`~lsn_explorer.apps.sources.SourcePicker`;
        the first "Data" dropdown on it is used.
    timeout_ms : int
        Milliseconds to wait for the real CT's note
        (:data:`~lsn_explorer.apps.sources.SAMPLE_NOTE`) in the status line, which
        appears once the sample is loaded and shown. Default 240 000 (a first fetch
        downloads about 38 MB).

    Raises
    ------
    playwright.sync_api.TimeoutError
        The page has no "Data" dropdown, or the note did not appear in time (for
        example, the sample could not be fetched and the status line says why).
    """
    from lsn_explorer.apps.sources import SAMPLE_NOTE, SOURCES

    page.locator(".source-picker select").first.select_option(label=SOURCES["sample"])
    page.wait_for_selector(f"text={SAMPLE_NOTE[:40]}", timeout=timeout_ms)
