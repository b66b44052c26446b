"""Where a browser's visit of the kernel explorer spends its time, and what the page sends its kernel.

:data:`VISIT_PROBE` is a script a browser runs before the page's own (Playwright's
``context.add_init_script``). On the page's clock (milliseconds from the navigation's start)
it notes when the kernel websocket opened, when the page asked for the widgets' state and when
the state arrived, when the figure's browser code was handed to the browser (the anywidget
module, as a ``blob:`` script), when that code had run (plotly's widget sets
``window.PlotlyConfig`` right after plotly.js has run) and when the kernels were drawn. It
also keeps every message the page sent to its kernel (decoded from Jupyter's binary websocket
format), for comparison with :class:`~lsn_explorer.apps.protocol_student.ProtocolStudent`.

:func:`read_visit` collects it, with the navigation and script timings of the page:
``phases`` (seconds) and ``javascript_bytes`` (scripts fetched, plus the figure's module).
"""

from __future__ import annotations

__all__ = ["VISIT_PROBE", "COLLECT_VISIT", "PHASES", "read_visit", "summarize", "sent_messages"]

VISIT_PROBE = r"""
(() => {
  const marks = window.__lsnVisit = {ws_open: null, state_requested: null, state_received: null,
    figure_code: null, figure_ready: null, drawn: null, module_bytes: 0, received_bytes: 0, sent: []};
  const now = () => performance.now();
  const text = new TextDecoder();
  function parts(buffer) {
    const view = new DataView(buffer), n = Number(view.getBigUint64(0, true)), offsets = [];
    for (let i = 0; i < n; i++) offsets.push(Number(view.getBigUint64(8 * (i + 1), true)));
    return (i, limit) => text.decode(new Uint8Array(buffer, offsets[i],
      Math.min(offsets[i + 1] - offsets[i], limit || Infinity)));
  }
  function decodeSent(data) {
    if (typeof data === 'string') { const m = JSON.parse(data); return {msg_type: m.header.msg_type, metadata: m.metadata, content: m.content}; }
    const part = parts(data instanceof ArrayBuffer ? data : data.buffer);
    return {msg_type: JSON.parse(part(1)).msg_type, metadata: JSON.parse(part(3)), content: JSON.parse(part(4))};
  }
  function isState(data) {
    if (typeof data === 'string') return data.includes('"update_states"');
    if (!(data instanceof ArrayBuffer)) return false;
    return parts(data)(4, 400).includes('"update_states"');
  }
  const Native = window.WebSocket;
  class Probed extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes('/channels')) return;
      this.addEventListener('open', () => { if (marks.ws_open === null) marks.ws_open = now(); });
      this.addEventListener('message', (event) => {
        const data = event.data;
        marks.received_bytes += data.byteLength || data.length || data.size || 0;
        try { if (marks.state_received === null && isState(data)) marks.state_received = now(); } catch (e) {}
      });
      this.__probed = true;
    }
    send(data) {
      if (this.__probed) {
        try {
          const msg = decodeSent(data);
          marks.sent.push(msg);
          if (marks.state_requested === null && msg.content && msg.content.data
              && msg.content.data.method === 'request_states') marks.state_requested = now();
        } catch (e) {}
      }
      return super.send(data);
    }
  }
  window.WebSocket = Probed;
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = function (object) {
    if (object instanceof Blob && /javascript/.test(object.type)) {
      marks.module_bytes += object.size;
      if (marks.figure_code === null) marks.figure_code = now();
    }
    return createObjectURL.call(URL, object);
  };
  let plotlyConfig;
  Object.defineProperty(window, 'PlotlyConfig', {configurable: true, get: () => plotlyConfig, set: (value) => {
    plotlyConfig = value;
    if (marks.figure_ready === null) marks.figure_ready = now();
  }});
  const poll = setInterval(() => {
    const gd = document.querySelector('.kx-scatter.js-plotly-plot');
    if (gd && gd._fullData && gd._fullData.length && gd._fullData[0].x && gd._fullData[0].x.length > 0
        && (gd.querySelector('.scatterlayer .point') || gd.querySelector('canvas.gl-canvas-context'))) {
      marks.drawn = now();
      clearInterval(poll);
    }
  }, 10);
})();
"""

#: A page function returning the raw marks of :data:`VISIT_PROBE` and the page's timings (ms).
COLLECT_VISIT = r"""() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const scripts = performance.getEntriesByType('resource').filter(
    e => e.initiatorType === 'script' || /\.js(\?|$)/.test(e.name));
  const m = window.__lsnVisit;
  return {html: nav ? nav.responseEnd : null, dom_ready: nav ? nav.domContentLoadedEventEnd : null,
          scripts_end: Math.max(0, ...scripts.filter(e => m.ws_open === null || e.responseEnd <= m.ws_open).map(e => e.responseEnd)),
          script_bytes: scripts.reduce((a, e) => a + (e.decodedBodySize || 0), 0), script_files: scripts.length,
          ws_open: m.ws_open, state_requested: m.state_requested, state_received: m.state_received,
          figure_code: m.figure_code, figure_ready: m.figure_ready, drawn: m.drawn,
          module_bytes: m.module_bytes, received_bytes: m.received_bytes};
}"""

#: The phases of a visit, in order: (name, from mark, to mark); a mark of None is the navigation's start.
PHASES = (
    ("page HTML", None, "html"),
    ("page code (Voila, widget manager)", "html", "ws_open"),
    ("kernel connected, state asked", "ws_open", "state_requested"),
    ("widget state from the kernel", "state_requested", "state_received"),
    ("widget models built", "state_received", "figure_code"),
    ("figure code compiled and run", "figure_code", "figure_ready"),
    ("first draw of the kernels", "figure_ready", "drawn"),
)


def read_visit(page) -> dict:
    """What :data:`VISIT_PROBE` and the page's timings say about a visit (after the kernels are drawn).

    Parameters
    ----------
    page : playwright.sync_api.Page
        A page whose context ran :data:`VISIT_PROBE` before navigating.

    Returns
    -------
    dict
        ``tti_s`` (navigation start to the kernels drawn), ``phases`` (name -> seconds, see
        :data:`PHASES`), ``javascript_bytes`` (scripts fetched plus the figure's module),
        ``script_bytes``, ``module_bytes``, ``script_files``, ``received_bytes`` (kernel
        websocket), and ``marks`` (the raw marks, ms).
    """
    marks = page.evaluate(COLLECT_VISIT)
    return summarize(marks)


def summarize(marks: dict) -> dict:
    """:func:`read_visit`'s summary of the raw marks (ms on the page's clock)."""
    phases = {}
    for name, start, end in PHASES:
        a = 0.0 if start is None else marks.get(start)
        b = marks.get(end)
        phases[name] = None if a is None or b is None else (b - a) / 1000
    drawn = marks.get("drawn")
    return {"tti_s": None if drawn is None else drawn / 1000, "phases": phases,
            "javascript_bytes": int(marks["script_bytes"] + marks["module_bytes"]),
            "script_bytes": int(marks["script_bytes"]), "module_bytes": int(marks["module_bytes"]),
            "script_files": int(marks["script_files"]), "received_bytes": int(marks["received_bytes"]),
            "marks": marks}


def sent_messages(page) -> list[dict]:
    """The messages the page sent to its kernel so far (``msg_type``, ``metadata``, ``content``)."""
    return page.evaluate("() => window.__lsnVisit.sent")
