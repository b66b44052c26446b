"""The protocol-level student of the classroom benchmark: it sends what a real page sends and gets the new figure back."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lsn_explorer.apps.protocol_student import (
    ProtocolStudent, StudentError, message_kinds, page_kernel_id, request_kinds, run_students,
)
from lsn_explorer.apps.visit_probe import VISIT_PROBE, sent_messages

from harness import CLICKABLE_KERNELS, DETAIL_TITLE, SCATTER_TITLE, serve_voila, voila_kernels, wait_until

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "apps" / "kernel_explorer.ipynb"
STATE_ORDER = [("kernel_info_request",), ("comm_open", "jupyter.widget.control", ("version",)),
               ("comm_msg", "request_states"), ("comm_close",)]


def _run(coroutine):
    """Run a coroutine to its end in a thread of its own (the session's Playwright holds this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _first_kinds(messages, n: int) -> list[tuple]:
    """The kinds of the first ``n`` messages, in the order sent."""
    return [sorted(message_kinds([m]))[0] for m in messages[:n]]


def test_the_kinds_of_messages_and_requests():
    page = '<script id="jupyter-config-data" type="application/json">{"baseUrl": "/", "kernelId": ' \
           '"0b5e8f1c-3c1a-4d5e-9f00-123456789abc"}</script>'
    assert page_kernel_id(page) == "0b5e8f1c-3c1a-4d5e-9f00-123456789abc"
    with pytest.raises(StudentError, match="no kernel id"):
        page_kernel_id("<html>The server is full</html>")
    sent = [{"msg_type": "comm_open", "metadata": {"version": "1.0.0"},
             "content": {"target_name": "jupyter.widget.control"}},
            {"msg_type": "comm_msg", "content": {"data": {"method": "update", "state": {
                "value": 2, "_js2py_pointsCallback": {"event_type": "plotly_click"}}}}}]
    assert message_kinds(sent) == {("comm_open", "jupyter.widget.control", ("version",)),
                                   ("comm_msg", "update", "value"),
                                   ("comm_msg", "update", "_js2py_pointsCallback", "plotly_click")}
    requests = [("GET", "http://127.0.0.1:9/"), ("GET", "http://127.0.0.1:9/voila/static/voila.js"),
                ("POST", "http://127.0.0.1:9/voila/api/shutdown/0b5e8f1c-3c1a-4d5e-9f00-123456789abc"),
                ("GET", "https://cdn.example/x.css"), ("GET", "blob:http://127.0.0.1:9/abc")]
    assert request_kinds(requests, "http://127.0.0.1:9/") == {("GET", "/"), ("POST", "/voila/api/shutdown/{id}")}


def _browser_visit(browser, url: str) -> tuple[list[dict], list[tuple]]:
    """A Chromium visit: open, change the layer, click a kernel, close the tab; (messages sent, requests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1500})
    context.add_init_script(script=VISIT_PROBE)
    requests = []
    context.on("request", lambda r: requests.append((r.method, r.url)))
    page = context.new_page()
    page.on("websocket", lambda ws: requests.append(("GET", ws.url)))
    page.goto(url, timeout=120_000)
    page.wait_for_function("() => window.__lsnVisit.drawn !== null", timeout=120_000)
    page.locator(".kx-layer .noUi-handle").first.press("ArrowRight")
    page.wait_for_function(f"() => {SCATTER_TITLE}.startsWith('layer 2 (')", timeout=60_000)
    point = [p for p in page.evaluate(CLICKABLE_KERNELS) if p["gap"] > 8 and p["name"] != page.evaluate(DETAIL_TITLE)][0]
    page.wait_for_timeout(500)  # not a double click with the focus change
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(f"() => {DETAIL_TITLE}.startsWith({json.dumps(point['name'])})", timeout=60_000)
    page.wait_for_timeout(1000)  # the figure's acknowledgements of the redraw
    sent = sent_messages(page)
    page.close(run_before_unload=True)  # the page's shutdown beacon
    time.sleep(1.0)
    context.close()
    return sent, requests


@pytest.mark.browser
def test_a_protocol_student_sends_what_a_chromium_page_sends(browser, tmp_path):
    with serve_voila(APP, log_path=tmp_path / "voila.log") as url:
        assert wait_until(lambda: voila_kernels(url) == 1, 90), "the pool's pre-heated kernel did not start"
        browser_sent, browser_requests = _browser_visit(browser, url)
        assert wait_until(lambda: voila_kernels(url) == 1, 60), "the closed tab's kernel was not replaced"
        student = ProtocolStudent(url, timeout=60, seed=0)
        record = _run(student.visit())
    assert record["error"] is None, record["error"]
    assert message_kinds(student.channel.sent) == message_kinds(browser_sent)
    assert _first_kinds(browser_sent, 4) == _first_kinds(student.channel.sent, 4) == STATE_ORDER
    assert request_kinds(student.requests, url) == request_kinds(browser_requests, url) == {
        ("GET", "/"), ("GET", "/api/kernels/{id}"), ("GET", "/api/kernels/{id}/channels"),
        ("POST", "/voila/api/shutdown/{id}")}


def test_two_protocol_students_get_the_new_figure_and_close_their_kernels(tmp_path):
    with serve_voila(APP, log_path=tmp_path / "voila.log") as url:
        assert wait_until(lambda: voila_kernels(url) == 1, 90), "the pool's pre-heated kernel did not start"
        records = _run(run_students(url, [0.0, 0.5], timeout=60))
        closed = wait_until(lambda: voila_kernels(url) == 1, 30)
        left = voila_kernels(url)
    for record in records:
        assert record["error"] is None, record["error"]
        assert record["layer"] == 2 and record["layer_s"] > 0, "the reply did not carry the figure of layer 2"
        assert record["clicked"].startswith("layer 2 · ") and record["click_s"] > 0
        assert record["tti_s"] >= record["page_s"] > 0
    assert len({r["kernel_id"] for r in records}) == 2
    assert closed, f"{left} kernels left after both tabs closed (the pool keeps 1)"


def test_a_student_beyond_the_machines_ceiling_is_turned_away_with_the_reason(tmp_path):
    no_memory = ["--ClassroomKernelManager.kernel_memory_mib=1e9"]  # the formula leaves 1 kernel: the pool's
    with serve_voila(APP, log_path=tmp_path / "voila.log", args=no_memory) as url:
        assert wait_until(lambda: voila_kernels(url) == 1, 90)
        first, second = _run(run_students(url, [0.0, 1.0], timeout=60))  # the first stays until the second is done
    assert first["error"] is None and first["turned_away"] is False
    assert second["turned_away"] is True and "HTTP 503" in second["error"] and "server is full" in second["error"]
