# The public names of lsn_explorer.course, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .release import (
    release_course as release_course,
    release_notebook as release_notebook,
)
from .grade import (
    grade_notebook as grade_notebook,
    grade_course as grade_course,
)
from .scores import (
    ExerciseScore as ExerciseScore,
    NotebookScore as NotebookScore,
    format_scores as format_scores,
)
from .slides import write_slides as write_slides
from .markers import check_notebook as check_notebook
