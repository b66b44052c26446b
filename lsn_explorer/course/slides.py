"""Lecture slides from the course notebooks, through nbconvert's reveal.js exporter.

Only notebooks that say how to cut them into slides (a cell with
``metadata.slideshow.slide_type``) become slides. The slides are made from the released
notebook, so they never show a solution or a hidden test; nothing is executed, and the
release clears outputs, so the slides show code and text only.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._files import atomic_path
from .notebooks import read_notebook, source_notebooks
from .release import release_notebook

__all__ = ["has_slides", "notebook_slides", "write_slides"]


def has_slides(nb) -> bool:
    """Whether any cell of ``nb`` has ``metadata.slideshow.slide_type``."""
    return any((cell.get("metadata", {}).get("slideshow") or {}).get("slide_type") for cell in nb.cells)


def notebook_slides(nb, *, name: str = "<notebook>") -> str:
    """The reveal.js HTML of the released version of the source notebook ``nb``.

    Cells are grouped as nbconvert does: ``slide``, ``subslide``, ``fragment``,
    ``skip`` and ``notes``; a cell without the metadata (or ``-``) continues the slide
    before it.
    """
    from nbconvert import SlidesExporter

    body, _ = SlidesExporter().from_notebook_node(release_notebook(nb, name=name))
    return body


def write_slides(source_dir: str | os.PathLike, out_dir: str | os.PathLike) -> list[Path]:
    """Write ``out_dir/<name>.slides.html`` for every source notebook that has slide metadata.

    Parameters
    ----------
    source_dir : str or Path
        The course source folder.
    out_dir : str or Path
        Created if missing; files are written atomically.

    Returns
    -------
    list of Path
        The written files, in notebook-name order; notebooks without slide metadata are
        left out.

    Raises
    ------
    MissingDataError
        ``source_dir`` does not exist.
    InputError
        A notebook's marking is wrong (see :func:`~.markers.check_notebook`).
    """
    written = []
    for path in source_notebooks(source_dir):
        nb = read_notebook(path)
        if not has_slides(nb):
            continue
        target = Path(out_dir) / f"{path.stem}.slides.html"
        html = notebook_slides(nb, name=str(path))
        with atomic_path(target) as tmp:
            tmp.write_text(html, encoding="utf-8")
        written.append(target)
    return written
