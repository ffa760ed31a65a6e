"""Writing run files safely: atomic replacement, the umask, a full disk, one writer.

Every file a run leaves (checkpoints, ``metrics.json``, ``history.csv``,
``run.json``) is written here, so every one of them gets the same guarantees:

* atomic: the bytes go to a temporary file in the same folder, are flushed to
  disk, and the temporary file is renamed onto the target, so a reader (or a
  run killed at any moment) sees the old file or the new one, never a torn one;
* permissions follow the umask like any ``open(path, "w")`` (0644 under umask
  022), although :func:`tempfile.mkstemp` creates its files with mode 0600;
* a full disk (ENOSPC, EDQUOT) is a :class:`~hwr.errors.RunFolderError` that
  says "disk full" and names the file, and leaves the previous file in place;
* :class:`RunLock`: an exclusive OS lock (``fcntl.flock``) on a run folder, so
  two processes never write one run; the kernel drops it when the holder exits
  or is killed, so a stale lock cannot block a later run.

This module imports nothing heavy (no torch): the training records, the
checkpoints and the model files all build on it, and it on none of them.
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from pathlib import Path

from hwr.errors import ConfigError, RunFolderError

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def _umask() -> int:
    """The process umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (os.write may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def atomic_write_bytes(path: str | os.PathLike, data: bytes, keep_previous: str | os.PathLike | None = None) -> None:
    """Replace ``path`` by ``data`` atomically, with umask permissions.

    Args:
        path: the file to write (its folder must exist).
        data: the complete new content.
        keep_previous: when given and ``path`` exists, the old ``path`` is
            renamed to this name just before the new one takes its place, so
            an earlier complete file survives a new one that later proves
            unreadable (for example after a power cut before the disk flush).

    Raises:
        RunFolderError: "disk full" naming ``path`` (the old file is kept),
            or the folder of ``path`` cannot be written.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:
        raise RunFolderError(f"{path.parent}: no such folder, cannot write {path.name}") from None
    except PermissionError:
        raise RunFolderError(f"{path.parent}: folder not writable, cannot write {path.name}") from None
    except OSError as e:
        raise _os_error(path, e) from None
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
            os.fchmod(fd, 0o666 & ~_umask())
        finally:
            os.close(fd)
        if keep_previous is not None and path.exists():
            os.replace(path, keep_previous)
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _os_error(path, e) from None
        raise


def _os_error(path: Path, e: OSError) -> Exception:
    if e.errno in _DISK_FULL:
        return RunFolderError(f"{path}: disk full while writing it ({e.strerror}); free some space and run "
                              "again (a training run resumes from its last checkpoint)")
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return RunFolderError(f"{path}: cannot write ({e.strerror})")
    return e


def write_text(path: str | os.PathLike, text: str) -> None:
    """UTF-8 ``text`` to ``path`` through :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Pretty JSON, atomically; NaN and infinities become null."""
    write_text(path, json.dumps(clean(data), indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> dict | None:
    """The JSON object at ``path``, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def clean(value):
    """``value`` with non-finite floats as None and tuples as lists (JSON-safe)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def plain(value):
    """``value`` as it reads back from JSON (tuples -> lists), for comparisons."""
    return json.loads(json.dumps(clean(value)))


def prepare_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (and its parents) and check that files can be made in it.

    Raises:
        RunFolderError: naming the folder, when a part of its path is a file,
            or it cannot be created or written.
    """
    folder = Path(folder)
    for parent in [folder, *folder.parents]:
        if parent.exists() and not parent.is_dir():
            raise RunFolderError(f"{folder}: cannot be a run folder, {parent} is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise RunFolderError(f"{folder}: run folder not writable ({e.strerror or e})") from None
    return folder


class RunLock:
    """An exclusive lock on a run folder, held by one process at a time.

    ``fcntl.flock`` on ``<folder>/<name>``, which also records the holder's
    pid for the message a second writer gets. The lock file itself stays
    (deleting it would let two processes lock two different files); the lock
    goes with the process, so a killed run never leaves the folder locked.

    >>> with RunLock(out):
    ...     ...  # the only writer of ``out``
    """

    def __init__(self, folder: str | os.PathLike, name: str = "train.lock"):
        self.path = Path(folder) / name
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        """Take the lock or raise :class:`RunFolderError` naming the holder's pid."""
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise RunFolderError(f"{self.path}: cannot create the run's lock file ({e.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderError(f"{self.path.parent}: run folder in use by another process (pid {holder}); "
                                 "wait for it to finish or use another output folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (closing the descriptor releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def read_yaml(path: Path):
    """The parsed YAML file at ``path`` (safe loading), refusing a key given twice in one mapping.

    Plain YAML keeps the last of two equal keys without a word, so a config entry whose name line was lost
    merges silently into the entry above it. A merge key (``<<: *anchor``) is allowed: the keys written
    beside it override the merged ones, as YAML means.

    Raises:
        ConfigError: (a ValueError) naming the file and the line: a key given twice, or text that is not
            YAML (an unclosed bracket, a tab in the indentation, ...).
    """
    import yaml

    class UniqueKeys(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise ConfigError(f"{path}: key {key!r} given twice in one mapping "
                                      f"(line {key_node.start_mark.line + 1})")
                seen.add(key)
            return super().construct_mapping(node, deep)

    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=UniqueKeys)
    except yaml.YAMLError as e:  # its message spans several lines, with the offending text drawn below
        raise ConfigError(f"{path}: not valid YAML: {yaml_problem(e)}") from None


def yaml_problem(error) -> str:
    """One line for a YAML parse error: its problem and where (``line 3, column 5``)."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else problem
