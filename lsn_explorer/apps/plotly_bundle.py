"""A plotly ``FigureWidget`` whose browser code holds only the plotly.js traces the apps draw.

plotly's ``FigureWidget`` is an anywidget: its browser code (``_esm``) is part of the widget's
state, so every page that shows one receives it over the kernel's websocket and compiles it.
For plotly 7.1 that code is 4.96 MB, the widget's own code plus all of plotly.js, half the
JavaScript a Voila page of the kernel explorer compiles. The explorer draws ``scatter`` and
``scattergl`` traces only, which plotly.js' official partial bundle "gl2d" holds (with
``splom``, ``parcoords`` and the calendars): 1.49 MB instead of 4.82 MB.

:class:`ScatterFigureWidget` is a ``FigureWidget`` whose browser code is the installed plotly's
own widget code with its plotly.js replaced by that partial bundle of the same plotly.js
version (:data:`BUNDLE`, 1.6 MB, made by :func:`build_bundle`). Where the bundle does not fit
the installed plotly (another version) it falls back to plotly's own code, so a plotly upgrade
never breaks the apps, it only makes the page heavier until the bundle is rebuilt::

    python -m lsn_explorer.apps.plotly_bundle      # needs node and npm (the npm registry)

Setting ``LSN_EXPLORER_PLOTLY_BUNDLE=full`` in the server's environment also selects plotly's
own code (for measuring one against the other).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import plotly
import plotly.graph_objects as go

from ..errors import InputError

__all__ = ["BUNDLE", "TRACES", "ScatterFigureWidget", "bundle_info", "bundle_fits", "build_bundle", "esm_path"]

#: The browser code of :class:`ScatterFigureWidget`, shipped with the package.
BUNDLE = Path(__file__).resolve().parents[1] / "assets" / "plotly_gl2d_widget.js"
#: The plotly.js partial bundle used, and the trace types it can draw.
PARTIAL = "gl2d"
TRACES = frozenset({"scatter", "scattergl", "splom", "parcoords"})
#: The installed plotly's own widget code (widget + full plotly.js).
PLOTLY_BUNDLE = Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
_HEADER = re.compile(r"^/\*lsn_explorer (\{.*?\})\*/\n")

# Replaces the one top-level module of the widget bundle that is plotly.js (a UMD module
# wrapped as CommonJS by esbuild) by a partial plotly.js bundle, found with acorn's parser.
_SPLICE_JS = r"""
const fs = require("fs");
const [acornPath, bundlePath, partialPath, outPath] = process.argv.slice(2);
const acorn = require(acornPath);
const src = fs.readFileSync(bundlePath, "utf8");
const ast = acorn.parse(src, { ecmaVersion: "latest", sourceType: "module" });
const found = [];
for (const node of ast.body) {
  if (node.type !== "VariableDeclaration") continue;
  for (const d of node.declarations) {
    const call = d.init;
    if (!call || call.type !== "CallExpression" || call.arguments.length !== 1) continue;
    const fn = call.arguments[0];
    if (fn.type !== "ArrowFunctionExpression" || fn.params.length !== 2) continue;
    if (src.slice(fn.body.start, Math.min(fn.body.end, fn.body.start + 400)).includes(".moduleName=")) found.push(call);
  }
}
if (found.length !== 1) { console.error(`expected one plotly.js module, found ${found.length}`); process.exit(2); }
const call = found[0];
const partial = fs.readFileSync(partialPath, "utf8");
const wrapped = `${src.slice(call.callee.start, call.callee.end)}((exports,module)=>{${partial}\n})`;
const out = src.slice(0, call.start) + wrapped + src.slice(call.end);
acorn.parse(out, { ecmaVersion: "latest", sourceType: "module" });
fs.writeFileSync(outPath, out);
"""


def bundle_info(path: str | os.PathLike = BUNDLE) -> dict | None:
    """What a bundle written by :func:`build_bundle` was made from, or None for another file.

    Returns
    -------
    dict or None
        ``plotly`` (the plotly.py version whose widget code it holds), ``plotly.js``,
        ``partial`` (the partial bundle's name), ``traces`` (the trace types it draws).
    """
    path = Path(path)
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as stream:
        match = _HEADER.match(stream.readline())
    return json.loads(match.group(1)) if match else None


def bundle_fits(path: str | os.PathLike = BUNDLE) -> bool:
    """Whether the bundle at ``path`` holds the widget code of the installed plotly."""
    info = bundle_info(path)
    return bool(info) and info.get("plotly") == plotly.__version__


def esm_path() -> Path:
    """The browser code :class:`ScatterFigureWidget` sends: :data:`BUNDLE` where it fits, else plotly's own.

    ``LSN_EXPLORER_PLOTLY_BUNDLE=full`` in the environment selects plotly's own code.
    """
    if os.environ.get("LSN_EXPLORER_PLOTLY_BUNDLE", "") == "full" or not bundle_fits():
        return PLOTLY_BUNDLE
    return BUNDLE


class ScatterFigureWidget(go.FigureWidget):
    """A ``go.FigureWidget`` for figures of :data:`TRACES` only, with a third of the browser code.

    Parameters
    ----------
    data, layout, frames, skip_invalid, **kwargs
        As ``go.FigureWidget``.

    Raises
    ------
    InputError
        The figure has a trace type the bundle cannot draw (use ``go.FigureWidget`` for it).
    """

    _esm = esm_path()
    #: Whether the partial bundle is used (else plotly's own code, which draws every trace type).
    partial_bundle = _esm == BUNDLE

    def __init__(self, data=None, layout=None, frames=None, skip_invalid=False, **kwargs):
        super().__init__(data=data, layout=layout, frames=frames, skip_invalid=skip_invalid, **kwargs)
        other = sorted({trace.type for trace in self.data} - TRACES)
        if other and self.partial_bundle:
            raise InputError(f"ScatterFigureWidget draws {sorted(TRACES)} traces; this figure has {other}: "
                             "use plotly.graph_objects.FigureWidget")


def _npm_pack(spec: str, folder: Path) -> Path:
    """Download one npm package's tarball into ``folder`` with ``npm pack``; its path."""
    result = subprocess.run(["npm", "pack", spec, "--silent"], cwd=folder, capture_output=True, text=True,
                            timeout=600, check=True)
    return folder / result.stdout.strip().splitlines()[-1]


def _member(tarball: Path, name: str, folder: Path) -> Path:
    """Extract ``package/<name>`` of an npm tarball into ``folder``; its path."""
    with tarfile.open(tarball) as archive:
        member = archive.getmember(f"package/{name}")
        archive.extract(member, folder, filter="data")
    return folder / "package" / name


def build_bundle(out: str | os.PathLike = BUNDLE, *, plotly_js: str | None = None) -> dict:
    """Write the widget bundle of :class:`ScatterFigureWidget`: plotly's widget code, partial plotly.js.

    The installed plotly's ``widgetbundle.js`` is parsed (acorn), its plotly.js module is
    replaced by ``dist/plotly-gl2d.min.js`` of the plotly.js npm package of the same version,
    and the result is parsed again before it is written, headed by what it was made from.

    Parameters
    ----------
    out : path, optional
        Default :data:`BUNDLE`.
    plotly_js : str, optional
        The plotly.js version; default the one inside the installed plotly's widget bundle.

    Returns
    -------
    dict
        :func:`bundle_info` of the written file, with ``bytes`` and ``full_bytes`` (plotly's own).

    Raises
    ------
    FileNotFoundError
        ``node`` or ``npm`` is not on PATH.
    """
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"building the plotly bundle needs {tool!r} on PATH")
    source = PLOTLY_BUNDLE.read_text(encoding="utf-8")
    if plotly_js is None:
        plotly_js = re.search(r'"src/version\.js"\(\w+\)\{"use strict";\w+\.version="([^"]+)"', source).group(1)
    with tempfile.TemporaryDirectory(prefix="plotly-bundle-") as tmp:
        work = Path(tmp)
        partial = _member(_npm_pack(f"plotly.js@{plotly_js}", work), f"dist/plotly-{PARTIAL}.min.js", work / "plotly")
        acorn = _member(_npm_pack("acorn@8", work), "dist/acorn.js", work / "acorn")
        (work / "splice.js").write_text(_SPLICE_JS)
        spliced = work / "out.js"
        subprocess.run(["node", str(work / "splice.js"), str(acorn), str(PLOTLY_BUNDLE), str(partial), str(spliced)],
                       check=True, timeout=600)
        info = {"plotly": plotly.__version__, "plotly.js": plotly_js, "partial": PARTIAL, "traces": sorted(TRACES)}
        text = f"/*lsn_explorer {json.dumps(info)}*/\n" + spliced.read_text(encoding="utf-8")
    Path(out).write_text(text, encoding="utf-8")
    return {**info, "bytes": len(text.encode()), "full_bytes": PLOTLY_BUNDLE.stat().st_size}


def main(argv=None) -> None:
    """``python -m lsn_explorer.apps.plotly_bundle [--out PATH]``: build the bundle, print its sizes."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, default=BUNDLE)
    args = parser.parse_args(argv)
    info = build_bundle(args.out)
    print(f"wrote {args.out}: {info['bytes'] / 1e6:.2f} MB (plotly's own: {info['full_bytes'] / 1e6:.2f} MB), "
          f"plotly {info['plotly']}, plotly.js {info['plotly.js']} {info['partial']}: {', '.join(info['traces'])}")


if __name__ == "__main__":
    main()
