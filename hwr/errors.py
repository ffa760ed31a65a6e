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


class ConfigError(HwrError, ValueError):
    """A configuration that cannot be used: a YAML file that does not parse or
    has the wrong shape, a setting of the wrong type or out of range. Also a
    ValueError, so that code catching the ValueError raised here before still does."""


class RunnerError(HwrError):
    """A chapter, profile or parameter that cannot be run as asked (one line, exit 2)."""


class UnknownNameError(HwrError, KeyError):
    """A name that names nothing known (a synthetic preset, a task, a chapter's
    study); the message lists the known names. Also a KeyError, so that code
    catching the KeyError raised here before still does."""

    def __str__(self) -> str:
        # KeyError quotes its message (meant for a bare key); this one is a sentence
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()
