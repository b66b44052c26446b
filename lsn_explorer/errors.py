"""The exceptions a user of lsn_explorer can meet.

Every error that a user's input can cause is raised as one of these, with a
message that names the file or argument, what was found and what was expected.
Each class also subclasses the built-in exception that fits, so callers may
catch ``ValueError`` or ``FileNotFoundError`` as usual.
"""

from __future__ import annotations

__all__ = [
    "LsnExplorerError",
    "InputError",
    "DataFileError",
    "MissingDataError",
    "CheckpointError",
]


class LsnExplorerError(Exception):
    """Base class of every error raised on purpose by lsn_explorer."""


class InputError(LsnExplorerError, ValueError):
    """An argument has a value, type or shape the function cannot use."""


class DataFileError(LsnExplorerError, ValueError):
    """A data file exists but its content is not what was expected."""


class MissingDataError(LsnExplorerError, FileNotFoundError):
    """A file or folder that the call needs does not exist."""


class CheckpointError(LsnExplorerError, ValueError):
    """A checkpoint file cannot be read safely or does not fit the model."""
