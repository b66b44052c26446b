"""The course as one source tree, released and autograded with nbgrader's conventions.

``course/source/NN_name.ipynb`` holds each notebook once, with its solutions and hidden
tests marked in nbgrader's format (see :mod:`.markers`), so ``nbgrader generate_assignment``
and ``nbgrader autograde`` can use the tree as it is. These functions do the same on
nbformat and nbclient, without nbgrader's database:

======================  ===========================================================
``release_course``      write what students get: stubs for solutions, no hidden tests
``release_notebook``    the same for one notebook in memory
``grade_notebook``      run a student's notebook with the source's tests; points per test
``grade_course``        grade several notebooks
``format_scores``       the table of scores, per exercise, per notebook and in total
``write_slides``        reveal.js slides of the released notebooks
``check_notebook``      check a source notebook's nbgrader marking
======================  ===========================================================
"""

from __future__ import annotations

from .._lazy import stub_exports

__getattr__, __dir__ = stub_exports(__name__, __file__)
