"""The capacity curve, the checks the classroom issue asks for, and the curve's figure, from ``classroom.json``."""

from __future__ import annotations

import json
from pathlib import Path

TTI_P95_S = 10.0
LAYER_P95_S = 0.5
CHROMIUM_TTI_S = 12.0
SINGLE_VISIT_S = 3.0
SINGLE_VISIT = Path(__file__).resolve().parent / "results" / "single_visit.json"


def _p(summary: dict, key: str, which: str):
    """A percentile of a run's summary, or None where the run has none."""
    return (summary.get(key) or {}).get(which)


def curve_rows(runs: dict) -> list[dict]:
    """One row per run with spread arrivals and the repository's settings, by window then S: the curve."""
    rows = []
    for key, run in runs.items():
        if run["all_at_once"] or run.get("voila_args"):
            continue
        s = run["summary"]
        rows.append({
            "run": key, "students": run["students"], "window_s": run["window_s"], "rounds": run["rounds"],
            "chromium": run["chromium"],
            "protocol TTI p50 s": _p(s, "protocol TTI s", "p50"), "protocol TTI p95 s": _p(s, "protocol TTI s", "p95"),
            "layer change p95 s": _p(s, "protocol layer change s", "p95"),
            "kernel click p95 s": _p(s, "protocol kernel click s", "p95"),
            "Chromium TTI max s": _p(s, "Chromium TTI s", "max"),
            "failures": s["protocol failures"] + s.get("Chromium failures", 0),
            "peak kernels": s["peak kernels"], "peak total kernel RSS MiB": s["peak total kernel RSS MiB"],
            "server CPU s per student visit": s["server CPU s per student visit"],
        })
    return sorted(rows, key=lambda r: (r["window_s"], r["students"]))


def capacity(rows: list[dict], window_s: float = 60.0, cpus: int | None = None) -> dict:
    """From the curve at ``window_s``: the largest S served (TTI p95 within 10 s, no failure), the first S past it."""
    rows = [r for r in rows if r["window_s"] == window_s]
    good = [r["students"] for r in rows if r["protocol TTI p95 s"] is not None
            and r["protocol TTI p95 s"] <= TTI_P95_S and r["failures"] == 0]
    past = [r["students"] for r in rows if r["protocol TTI p95 s"] is None or r["protocol TTI p95 s"] > TTI_P95_S]
    served = max(good, default=None)
    return {"window_s": window_s, "measured S": [r["students"] for r in rows], "students served": served,
            "first S with TTI p95 over 10 s": min(past, default=None),
            "cores per student": round(cpus / served, 3) if served and cpus else None}


def _check(name: str, value, limit, ok: bool | None) -> dict:
    """One check: its measured value, its limit, passed (None where nothing was measured)."""
    return {"check": name, "measured": value, "limit": limit, "passed": None if value is None else ok}


def _class_checks(run: dict) -> list[dict]:
    """The class run's checks: failures, protocol TTI p95, layer change p95, Chromium TTI, kernels left."""
    s = run["summary"]
    failures = s["protocol failures"] + s.get("Chromium failures", 0)
    tti, layer = _p(s, "protocol TTI s", "p95"), _p(s, "protocol layer change s", "p95")
    chromium = _p(s, "Chromium TTI s", "max")
    after = s["kernels alive after the last close"].get("120 s")
    return [
        _check("failures (none turned away)", failures, 0, failures == 0),
        _check("protocol TTI p95 s", tti, TTI_P95_S, tti is not None and tti <= TTI_P95_S),
        _check("layer change p95 s", layer, LAYER_P95_S, layer is not None and layer <= LAYER_P95_S),
        _check("Chromium TTI s (worst round)", chromium, CHROMIUM_TTI_S, chromium is not None and chromium <= CHROMIUM_TTI_S),
        _check("kernels 120 s after the last close", after, run["pool"], after is not None and after <= run["pool"]),
    ]


def _single_visit_checks() -> list[dict]:
    """The pre-heated visit's checks, from ``single_visit.json`` (the second variant is the app's)."""
    if not SINGLE_VISIT.is_file():
        return [_check("single pre-heated visit s (median of 5)", None, SINGLE_VISIT_S, None)]
    summaries = json.loads(SINGLE_VISIT.read_text())["summaries"]
    before, after = list(summaries.values())[:2]
    tti = after["tti_s"]
    return [_check("single pre-heated visit s (median)", tti, SINGLE_VISIT_S, tti <= SINGLE_VISIT_S),
            _check("JavaScript MB before / after", [round(before["javascript_bytes"] / 1e6, 2),
                                                    round(after["javascript_bytes"] / 1e6, 2)], None, None)]


def must_show(results: dict) -> dict:
    """The issue's checks on the runs present (``passed`` None where a run is missing or nothing is limited)."""
    runs = results["runs"]
    out = {}
    main = runs.get("S=30 W=60s R=3 +Chromium")
    out["30 students + Chromium, W = 60 s, 3 rounds"] = _class_checks(main) if main else "not measured yet"
    at_once = {k: v["summary"] for k, v in runs.items() if v["all_at_once"] and v["students"] == 10}
    out["10 students all at once"] = next(iter(at_once.values())) if at_once else "not measured yet"
    out["capacity (W = 60 s)"] = capacity(results.get("curve") or [], 60.0, results.get("cpus"))
    out["single visit"] = _single_visit_checks()
    return out


def markdown_table(results: dict) -> str:
    """The curve at every window, and the all-at-once runs, as the Markdown table of ``docs/teaching.md``."""
    head = ("| students | arrivals | TTI p50 / p95 (protocol) | Chromium TTI (worst) | layer change p95 | "
            "kernel click p95 | failures | peak kernels, RSS | server CPU-s per visit |\n|" + "---|" * 9)
    lines = [head]
    for key, run in sorted(results["runs"].items(), key=lambda kv: (kv[1]["all_at_once"], kv[1]["students"])):
        s = run["summary"]
        fmt = lambda v, scale=1, unit="s": "-" if v is None else f"{v * scale:.{0 if unit == 'ms' else 1}f} {unit}"  # noqa: E731
        arrival = "all at once" if run["all_at_once"] else f"over {run['window_s']:g} s"
        lines.append(
            f"| {run['students']} | {arrival}, {run['rounds']} rounds | {fmt(_p(s, 'protocol TTI s', 'p50'))} / "
            f"{fmt(_p(s, 'protocol TTI s', 'p95'))} | {fmt(_p(s, 'Chromium TTI s', 'max'))} | "
            f"{fmt(_p(s, 'protocol layer change s', 'p95'), 1000, 'ms')} | {fmt(_p(s, 'protocol kernel click s', 'p95'), 1000, 'ms')} | "
            f"{s['protocol failures'] + s.get('Chromium failures', 0)} | {s['peak kernels']}, "
            f"{s['peak total kernel RSS MiB'] / 1024:.1f} GiB | {s['server CPU s per student visit']} |")
    return "\n".join(lines)


def write_curve_figure(results: dict, stem: Path) -> list[str]:
    """The capacity curve at W = 60 s as ``stem.html`` (plotly.js from its CDN) and ``stem.png``; lines to print."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = [r for r in results.get("curve") or [] if r["window_s"] == 60.0]
    if not rows:
        return ["no spread-arrival runs at W = 60 s: no figure"]
    S = [r["students"] for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("time to interactive", "layer change and kernel click"))
    for name, key, dash in (("protocol TTI p50", "protocol TTI p50 s", "dot"), ("protocol TTI p95", "protocol TTI p95 s", None),
                            ("Chromium student TTI (worst round)", "Chromium TTI max s", "dash")):
        fig.add_trace(go.Scatter(x=S, y=[r[key] for r in rows], name=name, mode="lines+markers", line_dash=dash), 1, 1)
    for name, key in (("layer change p95", "layer change p95 s"), ("kernel click p95", "kernel click p95 s")):
        fig.add_trace(go.Scatter(x=S, y=[None if r[key] is None else 1000 * r[key] for r in rows], name=name,
                                 mode="lines+markers"), 1, 2)
    fig.add_hline(y=TTI_P95_S, line_dash="dash", line_color="gray", annotation_text="10 s", row=1, col=1)
    fig.add_hline(y=1000 * LAYER_P95_S, line_dash="dash", line_color="gray", annotation_text="500 ms", row=1, col=2)
    fig.update_xaxes(title_text="students arriving over 60 s")
    fig.update_yaxes(title_text="seconds", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="milliseconds", rangemode="tozero", row=1, col=2)
    fig.update_layout(width=1000, height=420, title=f"Kernel explorer on one {results.get('cpus')}-core machine "
                      "(protocol students + 1 Chromium student)", legend=dict(orientation="h", y=-0.25))
    stem = Path(stem)
    fig.write_html(stem.with_suffix(".html"), include_plotlyjs="cdn")
    lines = [f"wrote {stem.with_suffix('.html')}"]
    try:
        fig.write_image(stem.with_suffix(".png"), width=1000, height=420)
        lines.append(f"wrote {stem.with_suffix('.png')}")
    except Exception as error:  # noqa: BLE001 - kaleido needs a browser; the HTML stands without the PNG
        lines.append(f"no PNG ({type(error).__name__}: {error})")
    return lines


def main() -> None:
    """``python benchmarks/classroom_report.py [classroom.json]``: the table for ``docs/teaching.md`` and the checks."""
    import sys

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results" / "classroom.json"
    results = json.loads(path.read_text())
    print(markdown_table(results))
    print(json.dumps(must_show(results), indent=2))


if __name__ == "__main__":
    main()
