"""Write figures to files: HTML that opens offline, and PNG through kaleido."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

__all__ = ["write_figures"]


def write_figures(figs: dict, out: Path, *, png: bool = True, html: bool = True) -> list[Path]:
    """Write ``{stem: figure}`` as ``stem.html`` and ``stem.png`` (one kaleido batch).

    The HTML files share one ``plotly.min.js`` written beside them, so they open offline.

    Parameters
    ----------
    figs : dict of str -> go.Figure
    out : Path
        An existing folder.
    png : bool, optional
        Write PNGs (kaleido and a Chromium or Chrome browser; the slow part). Default True.
    html : bool, optional
        Write HTML. Default True.

    Returns
    -------
    list of Path
        The files written, HTML first.

    Raises
    ------
    InputError
        If PNG export fails (no kaleido, no browser); the message says how to skip it.
    """
    import plotly.io as pio

    out = Path(out)
    written = []
    if html:
        for stem, fig in figs.items():
            path = out / f"{stem}.html"
            fig.write_html(path, include_plotlyjs="directory")
            written.append(path)
    if png and figs:
        paths = [out / f"{stem}.png" for stem in figs]
        sizes = [(f.layout.width or 700, f.layout.height or 500) for f in figs.values()]
        try:
            pio.write_images(list(figs.values()), paths, width=[w for w, _ in sizes], height=[h for _, h in sizes])
        except (ImportError, RuntimeError, ValueError) as error:
            raise InputError(
                f"PNG export failed ({type(error).__name__}: {error}); it needs kaleido and a Chromium or Chrome "
                "browser (apt-get install chromium). Pass png=False (--no-png) for HTML figures only."
            ) from error
        written += paths
    return written
