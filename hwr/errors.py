"""The one exception family a person can act on.

Every problem caused by the input, the files or the way a command was called
(a bad dataset, an unreadable checkpoint, a busy run folder, a full disk) is
raised as a :class:`HwrError` subclass whose message is one line naming the
file and the cause. The ``hwr`` command prints that line and exits with code
2; a Python traceback appears only with ``--debug`` or ``HWR_DEBUG=1``.
Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class HwrError(Exception):
    """A problem with the input or the call, reported as one line (exit code 2)."""

    exit_code = 2


class RunFolderError(HwrError):
    """A run folder that cannot be used: busy (locked), unwritable, or holding another run."""


class DamagedRunError(HwrError):
    """A finished run whose records contradict themselves or their manifest
    (:mod:`hwr.runs.seal`): a truncated table, an unparsable record, a changed file."""


class CheckpointError(HwrError):
    """A checkpoint that is missing, truncated, foreign or built for another configuration."""


class EmptyScoreError(HwrError):
    """A score asked for over zero lines, or over too many skipped lines."""
