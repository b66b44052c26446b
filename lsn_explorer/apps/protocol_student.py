"""A student of the kernel explorer at the protocol level: a Voila page's HTTP requests and kernel messages, no browser.

What the page does, recorded from Chromium (``tests/test_classroom_protocol.py`` compares the two):

1. ``GET /``: Voila streams the page (a pre-heated kernel has rendered it already, otherwise
   the notebook runs while the page streams); the HTML holds the kernel id and the response
   sets the ``_xsrf`` cookie. ``GET /api/kernels/<id>`` then reads the kernel's model.
2. The kernel websocket ``/api/kernels/<id>/channels`` in Jupyter's binary
   ``v1.kernel.websocket.jupyter.org`` format: ``kernel_info_request``; a ``comm_open`` to
   ``jupyter.widget.control`` (metadata ``{"version": "1.0.0"}``), ``request_states``, the
   ``update_states`` reply with every widget's state, ``comm_close``; then the figure's
   ``_view_count`` and, once plotly has drawn it, its ``_js2py_traceDeltas`` and
   ``_js2py_widget_layoutDelta``.
3. A layer change: an ``update`` of the layer slider's ``value``; the kernel answers with the
   figure's ``_py2js_update`` (the new layer's points and title), which the page acknowledges
   with trace and layout deltas.
4. A kernel click: plotly's ``_js2py_pointsCallback`` for ``plotly_hover`` then
   ``plotly_click`` on one point; the kernel answers with the detail view's new HTML.
5. Closing the tab: ``POST /voila/api/shutdown/<id>`` with the ``_xsrf`` form field (the page's
   ``sendBeacon`` on unload), then the websocket closes.

:class:`ProtocolStudent` does the same with tornado's HTTP and websocket clients and times the
replies. The deltas it sends name each trace (``uid``) without the defaults plotly.js computes,
and the static JavaScript the page loads (5 MB, cached by a browser) is not fetched.
"""

from __future__ import annotations

import asyncio
import html as html_lib
import json
import re
import time
import urllib.parse
import uuid
from datetime import datetime, timezone
from http.cookies import SimpleCookie

import numpy as np
from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1, serialize_msg_to_ws_v1
from tornado import httpclient, websocket

__all__ = ["SUBPROTOCOL", "ProtocolStudent", "StudentError", "message_kinds", "page_kernel_id", "request_kinds",
           "run_students"]

SUBPROTOCOL = "v1.kernel.websocket.jupyter.org"
_KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')
_POINT_DEVICE = {"alt": False, "ctrl": False, "meta": False, "shift": False, "button": 0}


class StudentError(RuntimeError):
    """A step of a visit failed: ``step`` names it (``page``, ``state``, ``layer``, ``click``)."""

    def __init__(self, step: str, message: str, *, turned_away: bool = False):
        super().__init__(f"{step}: {message}")
        self.step, self.turned_away = step, turned_away


def page_kernel_id(page_html: str) -> str:
    """The kernel id a Voila page names in its ``jupyter-config-data`` (``"kernelId": "..."``).

    Raises
    ------
    StudentError
        The page names none (an error page, or not a Voila page).
    """
    match = _KERNEL_ID.search(page_html)
    if match is None:
        raise StudentError("page", "the page names no kernel id")
    return match.group(1)


def message_kinds(messages) -> set[tuple]:
    """The kinds of kernel messages a client sent, for comparing a browser with a simulated one.

    A kind is ``(msg_type,)`` plus, for a ``comm_open``, its target and metadata keys; for a
    ``comm_msg``, its method and, for an ``update``, one kind per state key (with the event
    type of a plotly points callback).

    Parameters
    ----------
    messages : iterable of dict
        Messages with ``header`` (or ``msg_type``), ``metadata`` and ``content``.

    Returns
    -------
    set of tuple
    """
    kinds = set()
    for msg in messages:
        msg_type = msg.get("msg_type") or msg["header"]["msg_type"]
        content = msg.get("content") or {}
        if msg_type == "comm_open":
            kinds.add((msg_type, content.get("target_name"), tuple(sorted(msg.get("metadata") or {}))))
        elif msg_type == "comm_msg":
            data = content.get("data") or {}
            method = data.get("method")
            if method != "update":
                kinds.add((msg_type, method))
            for key, value in (data.get("state") or {}).items():
                event = value.get("event_type") if isinstance(value, dict) else None
                kinds.add((msg_type, method, key) + ((event,) if event else ()))
        else:
            kinds.add((msg_type,))
    return kinds


def request_kinds(requests, server: str | None = None) -> set[tuple]:
    """``(method, path pattern)`` of a client's requests to the server, static files left out.

    Parameters
    ----------
    requests : iterable of (str, str)
        ``(method, url)``; kernel ids in the path become ``{id}``.
    server : str, optional
        Keep only requests to this server (its host and port, from any URL of it).

    Returns
    -------
    set of tuple
    """
    host = urllib.parse.urlsplit(server).netloc if server else None
    kinds = set()
    for method, url in requests:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss") or (host and parts.netloc != host):
            continue
        path = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", parts.path)
        if not path.startswith(("/voila/static/", "/voila/labextensions/", "/voila/templates/", "/static/")):
            kinds.add((method, path))
    return kinds


def _put_buffers(state: dict, paths, buffers) -> None:
    """Place binary buffers into a widget state at their paths (as the widget manager does)."""
    for path, buffer in zip(paths or [], buffers):
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = buffer


def _numbers(value) -> list:
    """Plot coordinates as a list: a plain list, or a plotly typed array ``{dtype, shape, buffer}``."""
    if isinstance(value, dict) and "dtype" in value:
        return np.frombuffer(bytes(value.get("buffer", value.get("value"))), dtype=value["dtype"]).tolist()
    return list(value or [])


class KernelChannel:
    """One websocket to a kernel (Jupyter's v1 binary format, or JSON text if the server offers no v1)."""

    def __init__(self, connection, session: str):
        self.connection, self.session = connection, session
        self.binary = connection.selected_subprotocol == SUBPROTOCOL
        self.sent: list[dict] = []
        self.received_bytes = 0

    def send(self, msg_type: str, content: dict, *, metadata: dict | None = None, buffers=()) -> dict:
        """Send one shell message; it is returned (and kept in :attr:`sent`)."""
        header = {"msg_id": uuid.uuid4().hex, "username": "", "session": self.session, "msg_type": msg_type,
                  "version": "5.2", "date": datetime.now(timezone.utc).isoformat()}
        msg = {"header": header, "parent_header": {}, "metadata": metadata or {}, "content": content,
               "channel": "shell"}
        if self.binary:
            parts = [json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata", "content")]
            frame = serialize_msg_to_ws_v1(parts + list(buffers), "shell")
        else:
            frame = json.dumps({**msg, "buffers": []})
        self.sent.append(msg)
        self.connection.write_message(frame, binary=self.binary)
        return msg

    async def receive(self, deadline: float) -> dict:
        """The next message (header, content, buffers), or ``TimeoutError`` past ``deadline`` (monotonic)."""
        frame = await asyncio.wait_for(self.connection.read_message(), max(0.0, deadline - time.monotonic()))
        if frame is None:
            raise ConnectionError("the kernel websocket closed")
        self.received_bytes += len(frame)
        if not self.binary:
            msg = json.loads(frame)
            return {**msg, "msg_type": msg["header"]["msg_type"]}
        channel, parts = deserialize_msg_from_ws_v1(frame)
        header = json.loads(parts[0])
        return {"channel": channel, "header": header, "msg_type": header["msg_type"], "raw_content": parts[3],
                "buffers": parts[4:]}

    @staticmethod
    def content(msg: dict) -> dict:
        """The message's content (decoded on first use)."""
        if "content" not in msg:
            msg["content"] = json.loads(msg.pop("raw_content"))
        return msg["content"]


class ProtocolStudent:
    """One student's visit of the kernel explorer: page, widget state, a layer change, a kernel click, close.

    Parameters
    ----------
    url : str
        The Voila server's page, e.g. ``http://127.0.0.1:8866/``.
    timeout : float, optional
        Seconds each step may take. Default 120.
    think : float, optional
        Seconds between the steps a student takes (reading the page). Default 0.
    seed : int, optional
        Chooses the kernel clicked.

    Attributes
    ----------
    record : dict
        Filled by :meth:`visit`: ``page_s`` (page received), ``tti_s`` (page + widget state:
        the moment a browser has all it needs from the server to draw), ``layer_s`` (slider
        change to the figure of the next layer), ``click_s`` (click to the clicked kernel's
        detail), ``error``, ``turned_away`` (HTTP 503: the server was full), ``kernel_id``,
        ``state_bytes``, ``layer`` (the layer the new figure shows, 1-based) and ``clicked``
        (the name of the kernel whose detail came back).
    requests : list of (str, str)
        The HTTP requests made, ``(method, url)``; the websocket as ``("GET", ws URL)``.
    """

    def __init__(self, url: str, *, timeout: float = 120.0, think: float = 0.0, seed: int | None = None):
        self.url, self.timeout, self.think = url.rstrip("/") + "/", float(timeout), float(think)
        self.rng = np.random.default_rng(seed)
        self.cookies: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.record: dict = {"page_s": None, "tti_s": None, "layer_s": None, "click_s": None, "error": None,
                             "turned_away": False, "kernel_id": None, "state_bytes": None, "layer": None,
                             "clicked": None}
        self.channel: KernelChannel | None = None

    # ------------------------------------------------------------------ HTTP
    def _headers(self, **extra) -> dict:
        """A browser's headers for this server: its cookies and its origin."""
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**({"Cookie": cookie} if cookie else {}), "Origin": self.url.rstrip("/"), **extra}

    async def _fetch(self, client, method: str, url: str, **kwargs):
        """One HTTP request (noted in :attr:`requests`); the cookies it sets are kept."""
        self.requests.append((method, url))
        request = httpclient.HTTPRequest(url, method=method, headers=self._headers(**kwargs.pop("headers", {})),
                                         request_timeout=self.timeout, follow_redirects=False, **kwargs)
        response = await client.fetch(request, raise_error=False)
        for line in response.headers.get_list("Set-Cookie"):
            jar = SimpleCookie()
            jar.load(line)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return response

    async def _open_page(self, client) -> str:
        """``GET`` the page (timed), then the kernel model as the page does; the kernel id."""
        start = time.monotonic()
        response = await self._fetch(client, "GET", self.url, headers={"Accept": "text/html"})
        if response.code != 200:
            body = response.body.decode(errors="replace") if response.body else str(response.error)
            text = re.sub(r"<(style|script)[^>]*>.*?</\1>|<[^>]+>|\s+", " ", body, flags=re.S)[:160].strip()
            raise StudentError("page", f"HTTP {response.code} ({response.reason}): {text}",
                               turned_away=response.code == 503)
        self.record["page_s"] = time.monotonic() - start
        kernel_id = page_kernel_id(response.body.decode())
        self.record["kernel_id"] = kernel_id
        await self._fetch(client, "GET", f"{self.url}api/kernels/{kernel_id}?{int(time.time() * 1000)}")
        return kernel_id

    async def _connect(self, kernel_id: str) -> KernelChannel:
        """Open the kernel's websocket as the page does (new session id, cookies, v1 subprotocol)."""
        session = str(uuid.uuid4())
        ws_url = self.url.replace("http", "ws", 1) + f"api/kernels/{kernel_id}/channels?session_id={session}"
        self.requests.append(("GET", ws_url))
        request = httpclient.HTTPRequest(ws_url, headers=self._headers(), request_timeout=self.timeout)
        connection = await websocket.websocket_connect(request, subprotocols=[SUBPROTOCOL],
                                                       max_message_size=256 * 2**20)
        return KernelChannel(connection, session)

    async def _close(self, client, kernel_id: str | None) -> None:
        """Close as a tab does: the page's shutdown beacon (multipart form with ``_xsrf``), then the websocket."""
        if kernel_id is not None:
            boundary = uuid.uuid4().hex
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"_xsrf\"\r\n\r\n"
                    f"{self.cookies.get('_xsrf', '')}\r\n--{boundary}--\r\n").encode()
            await self._fetch(client, "POST", f"{self.url}voila/api/shutdown/{kernel_id}", body=body,
                              headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        if self.channel is not None:
            self.channel.connection.close()

    # ------------------------------------------------------------------ widgets
    async def _expect(self, step: str, predicate, deadline: float) -> dict:
        """Read messages until ``predicate(msg)`` holds; acknowledge figure updates on the way."""
        while True:
            try:
                msg = await self.channel.receive(deadline)
            except (asyncio.TimeoutError, TimeoutError):
                raise StudentError(step, f"no answer within {self.timeout:.0f} s") from None
            if msg["msg_type"] == "comm_msg":
                self._acknowledge(msg)
            if predicate(msg):
                return msg

    @staticmethod
    def _state_of(msg: dict) -> dict:
        """The widget state a ``comm_msg`` carries ({} for any other message)."""
        if msg["msg_type"] != "comm_msg":
            return {}
        return (KernelChannel.content(msg).get("data") or {}).get("state") or {}

    def _acknowledge(self, msg: dict) -> None:
        """After a figure update, send the deltas plotly's widget sends once it has redrawn."""
        content = KernelChannel.content(msg)
        if content.get("comm_id") != getattr(self, "figure_id", None):
            return
        data = content.get("data") or {}
        _put_buffers(data.get("state") or {}, data.get("buffer_paths"), msg.get("buffers") or ())
        update = (data.get("state") or {}).get("_py2js_update")
        if update:
            self._send_deltas(update.get("trace_edit_id"), update.get("layout_edit_id"))
            self.figure_update = update

    def _send_deltas(self, trace_edit_id, layout_edit_id) -> None:
        """The figure's acknowledgement of a redraw: trace deltas (one per trace, by uid) and a layout delta."""
        deltas = [{"uid": uid} for uid in self.trace_uids]
        self._update(self.figure_id, {"_js2py_traceDeltas": {"trace_deltas": deltas, "trace_edit_id": trace_edit_id}})
        self._update(self.figure_id, {"_js2py_widget_layoutDelta": {"layout_delta": {}, "layout_edit_id": layout_edit_id}})

    def _update(self, comm_id: str, state: dict) -> dict:
        """Send a widget state change, as the widget manager does for a change made in the page."""
        return self.channel.send("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": state,
                                                                          "buffer_paths": []}})

    async def _widget_state(self, start: float) -> None:
        """Ask for every widget's state as the widget manager does; find the figure, the layer slider, the detail."""
        deadline = time.monotonic() + self.timeout
        self.channel.send("kernel_info_request", {})
        await self._expect("state", lambda m: m["msg_type"] == "kernel_info_reply", deadline)
        comm_id = str(uuid.uuid4())
        self.channel.send("comm_open", {"comm_id": comm_id, "target_name": "jupyter.widget.control", "data": {}},
                          metadata={"version": "1.0.0"})
        self.channel.send("comm_msg", {"comm_id": comm_id, "data": {"method": "request_states"}})
        reply = await self._expect("state", lambda m: m["msg_type"] == "comm_msg" and (
            KernelChannel.content(m).get("data") or {}).get("method") == "update_states", deadline)
        self.record["tti_s"] = time.monotonic() - start
        self.record["state_bytes"] = len(json.dumps(reply["content"])) + sum(len(b) for b in reply["buffers"])
        self.channel.send("comm_close", {"comm_id": comm_id, "data": {}})
        data = reply["content"]["data"]
        _put_buffers(data["states"], data.get("buffer_paths"), reply["buffers"])
        self._find_widgets(data["states"])

    def _find_widgets(self, states: dict) -> None:
        """Find the figure, the layer slider and the detail by their CSS classes; show the figure."""
        def with_class(name):
            found = [i for i, s in states.items() if name in (s.get("state") or {}).get("_dom_classes", ())]
            if len(found) != 1:
                raise StudentError("state", f"{len(found)} widgets of class {name!r} in the page's state")
            return found[0], states[found[0]]["state"]

        self.figure_id, figure = with_class("kx-scatter")
        self.slider_id, slider = with_class("kx-layer")
        self.detail_id, _ = with_class("kx-detail")
        self.layer, self.layers = int(slider["value"]), int(slider["max"])
        traces = figure["_widget_data"]
        self.trace_uids = [t.get("uid") for t in traces]
        self.points = {"text": list(traces[0].get("text") or []), "x": _numbers(traces[0].get("x")),
                       "y": _numbers(traces[0].get("y"))}
        self._update(self.figure_id, {"_view_count": 1})
        self._send_deltas(0, 0)

    async def _change_layer(self) -> None:
        """Move the layer slider one step; wait for the figure's update titled with the new layer."""
        new = self.layer + 1 if self.layer < self.layers else self.layer - 1
        prefix = f"layer {new} ("

        def new_figure(msg):
            update = self._state_of(msg).get("_py2js_update") or {}
            return any(isinstance(v, str) and v.startswith(prefix) for v in (update.get("layout_data") or {}).values())

        start = time.monotonic()
        self._update(self.slider_id, {"value": new})
        msg = await self._expect("layer", new_figure, start + self.timeout)
        self.record["layer_s"] = time.monotonic() - start
        self.layer = self.record["layer"] = new
        style = msg["content"]["data"]["state"]["_py2js_update"].get("style_data") or {}
        for key in ("text", "x", "y"):
            if style.get(key):
                self.points[key] = list(style[key][0]) if isinstance(style[key][0], list) else _numbers(style[key][0])

    async def _click_kernel(self) -> None:
        """Hover and click one kernel of the layer (not the first, shown already); wait for its detail."""
        n = len(self.points["text"])
        if n < 2:
            raise StudentError("click", f"{n} kernels in layer {self.layer}: none to click")
        i = int(self.rng.integers(1, n))
        name = str(self.points["text"][i]).split("<br>")[0]
        at = {"trace_indexes": [0], "point_indexes": [i], "xs": [self._coordinate("x", i)],
              "ys": [self._coordinate("y", i)]}
        self._update(self.figure_id, {"_js2py_pointsCallback": {"event_type": "plotly_hover", "points": at,
                                                                "device_state": {**_POINT_DEVICE, "buttons": 0},
                                                                "selector": None}})
        start = time.monotonic()
        self._update(self.figure_id, {"_js2py_pointsCallback": {"event_type": "plotly_click", "points": at,
                                                                "device_state": {**_POINT_DEVICE, "buttons": 1},
                                                                "selector": None}})
        wanted = html_lib.escape(name)

        def detail(msg):
            value = self._state_of(msg).get("value")
            return isinstance(value, str) and msg["content"].get("comm_id") == self.detail_id and wanted in value

        await self._expect("click", detail, start + self.timeout)
        self.record["click_s"] = time.monotonic() - start
        self.record["clicked"] = name

    def _coordinate(self, axis: str, i: int) -> float:
        """Point ``i``'s coordinate on ``axis`` as the figure has it (0 where unknown)."""
        values = self.points[axis]
        return float(values[i]) if i < len(values) and values[i] is not None else 0.0

    # ------------------------------------------------------------------ the visit
    async def visit(self, *, linger: asyncio.Event | None = None) -> dict:
        """Open the page, load the widgets, change the layer, click a kernel, close; :attr:`record`.

        Parameters
        ----------
        linger : asyncio.Event, optional
            Keep the tab open (idle) until it is set, as a student who keeps the app open.

        Returns
        -------
        dict
            :attr:`record`; a failed step is named in ``error`` and the later ones are skipped.
        """
        client = httpclient.AsyncHTTPClient(force_instance=True, max_body_size=256 * 2**20)
        kernel_id = None
        try:
            start = time.monotonic()
            kernel_id = await self._open_page(client)
            self.channel = await self._connect(kernel_id)
            await self._widget_state(start)
            for step in (self._change_layer, self._click_kernel):
                await asyncio.sleep(self.think)
                await step()
            if linger is not None:
                await linger.wait()
        except StudentError as error:
            self.record.update(error=str(error), turned_away=error.turned_away)
        except Exception as error:  # noqa: BLE001 - whatever breaks a visit is a failure the student sees
            self.record["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
        finally:
            try:
                await self._close(client, kernel_id)
            finally:
                client.close()
        return self.record


async def run_students(url: str, offsets, *, linger: bool = True, seed: int = 0, **kwargs) -> list[dict]:
    """Visits of ``len(offsets)`` :class:`ProtocolStudent`, student ``i`` arriving ``offsets[i]`` seconds in.

    Parameters
    ----------
    url : str
    offsets : sequence of float
        Arrival times (seconds from now).
    linger : bool, optional
        Every tab stays open until the last student has finished (a class with the app open),
        then all close. Default True.
    seed : int, optional
        Student ``i`` gets ``seed + i`` (which kernel it clicks).
    **kwargs
        For :class:`ProtocolStudent` (``timeout``, ``think``).

    Returns
    -------
    list of dict
        The students' records, in the order of ``offsets``, each with ``arrival_s``.
    """
    event = asyncio.Event() if linger else None
    remaining = [len(offsets)]

    async def one(i: int, offset: float) -> dict:
        await asyncio.sleep(offset)
        student = ProtocolStudent(url, seed=seed + i, **kwargs)
        waiting = asyncio.ensure_future(student.visit(linger=event))
        while not waiting.done() and event is not None and not _finished(student):
            await asyncio.sleep(0.05)
        remaining[0] -= 1
        if event is not None and remaining[0] == 0:
            event.set()
        return {"arrival_s": float(offset), **(await waiting)}

    return list(await asyncio.gather(*(one(i, o) for i, o in enumerate(offsets))))


def _finished(student: ProtocolStudent) -> bool:
    """Whether a student has done all it came to do (or failed), so only lingering is left."""
    record = student.record
    return record["error"] is not None or record["click_s"] is not None
