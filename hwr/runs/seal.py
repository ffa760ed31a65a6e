"""Records that check themselves: a finished run's manifest and the checks that read it.

A run's records are small text files, committed and read back by the book for
years. A truncated ``predictions.csv`` or a hand-edited ``metrics.json`` would
otherwise flow into a table without a sound. So a finished run carries a
``manifest.json``, written last::

    {"files": {"test.json": {"bytes": 512, "sha256": "..."}, ...},
     "counts": {"predictions": 800, "history": 20}}

and every load checks two things:

* *consistency*, which holds for any finished run, sealed or not: every JSON
  record parses to an object, ``predictions.csv`` has one row per test line
  that ``test.json`` counts, ``history.csv`` has a header and at least one row;
* *integrity*, for a sealed run: each file the manifest lists has its recorded
  size and SHA-256, and no sealed record was added after the seal.

A run that fails either is *damaged*: neither done nor missing. The sweep
lists it and trains nothing over it, a chapter refuses it with one line naming
the file, and ``hwr runs check`` verifies a whole store. ``analyses/`` is a
cache derived from the checkpoint on demand and stays outside the seal.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

from hwr.errors import DamagedRunError
from hwr.files import write_json

MANIFEST = "manifest.json"

#: the record files a seal covers, when present (``arrays.npz`` is optional)
SEALED = ("spec.json", "history.csv", "metrics.json", "run.json", "test.json", "predictions.csv", "arrays.npz")
REQUIRED = ("spec.json", "history.csv", "metrics.json", "run.json", "test.json", "predictions.csv")
JSON_RECORDS = ("spec.json", "metrics.json", "run.json", "test.json")

# verify() is called for every run a chapter or sweep looks at, often several
# times; its answer only changes when a file changes, so it is kept per folder
# under the (name, size, mtime) of its records
_VERIFIED: dict[str, tuple[tuple, list[str]]] = {}


def digest(path: Path) -> dict:
    """``{"bytes": size, "sha256": hex}`` of one file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}


def _csv_rows(path: Path) -> int:
    """Data rows of a CSV file (its header excluded; quoted newlines are one row).

    Raises:
        ValueError: no header, or a row whose field count differs from it.
    """
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise ValueError("no header")
        n = 0
        for row in reader:
            if len(row) != len(header):
                raise ValueError(f"row {n + 1} has {len(row)} fields, the header {len(header)}")
            n += 1
    return n


def consistency(folder: Path) -> list[str]:
    """What is wrong with a finished run's records whether or not it is sealed:
    one line per problem, each starting with the file's path (empty when sound)."""
    return _inspect(Path(folder))[0]


def _inspect(folder: Path) -> tuple[list[str], dict[str, int]]:
    """(:func:`consistency`'s problems, the row counts of the tables it read)."""
    problems, parsed = [], {}
    for name in REQUIRED:
        if not (folder / name).is_file():
            problems.append(f"{folder / name}: missing")
    for name in JSON_RECORDS:
        if (folder / name).is_file():
            try:
                value = json.loads((folder / name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as e:
                problems.append(f"{folder / name}: not valid JSON ({str(e).splitlines()[0]})")
                continue
            if not isinstance(value, dict):
                problems.append(f"{folder / name}: not a JSON object")
            else:
                parsed[name] = value
    counts = {}
    for name, key in (("predictions.csv", "predictions"), ("history.csv", "history")):
        if (folder / name).is_file():
            try:
                counts[key] = _csv_rows(folder / name)
            except (OSError, UnicodeDecodeError, ValueError, csv.Error) as e:
                problems.append(f"{folder / name}: not a readable CSV table ({e})")
    if counts.get("history") == 0:
        problems.append(f"{folder / 'history.csv'}: no validation rows")
    lines = parsed.get("test.json", {}).get("lines")
    if "test.json" in parsed and not isinstance(lines, int):
        problems.append(f"{folder / 'test.json'}: no line count ('lines')")
    elif "predictions" in counts and isinstance(lines, int) and counts["predictions"] != lines:
        problems.append(f"{folder / 'predictions.csv'}: {counts['predictions']} rows, but test.json scored "
                        f"{lines} lines")
    return problems, counts


def integrity(folder: Path) -> list[str]:
    """What differs from the run's manifest (empty for an unsealed run: see :func:`is_sealed`)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.exists():
        return []
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' is not an object")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        return [f"{path}: not a readable manifest ({e})"]
    problems = []
    for name, want in files.items():
        file = folder / name
        if not file.is_file():
            problems.append(f"{file}: missing (sealed in {MANIFEST})")
            continue
        got = digest(file)
        if not isinstance(want, dict) or got != {"bytes": want.get("bytes"), "sha256": want.get("sha256")}:
            what = (f"{got['bytes']} bytes, sealed with {want.get('bytes')}" if isinstance(want, dict)
                    and got["bytes"] != want.get("bytes") else "its content differs from the sealed digest")
            problems.append(f"{file}: changed after the run was sealed ({what})")
    for name in SEALED:
        if name not in files and (folder / name).exists():
            problems.append(f"{folder / name}: added after the run was sealed")
    return problems


def _signature(folder: Path) -> tuple:
    out = []
    for name in SEALED + (MANIFEST,):
        try:
            st = os.stat(folder / name)
            out.append((name, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


def verify(folder: str | os.PathLike) -> list[str]:
    """Every problem of a finished run's records (:func:`consistency`, then
    :func:`integrity`), one line each naming the file; empty when sound."""
    folder = Path(folder)
    key, sig = str(folder.resolve()), _signature(folder)
    cached = _VERIFIED.get(key)
    if cached and cached[0] == sig:
        return list(cached[1])
    problems = consistency(folder) + integrity(folder)
    _VERIFIED[key] = (sig, problems)
    return list(problems)


def is_sealed(folder: str | os.PathLike) -> bool:
    return (Path(folder) / MANIFEST).exists()


def seal(folder: str | os.PathLike) -> dict:
    """Write the run's manifest: the size and digest of each record and its
    row counts. The last write of a finished run.

    Raises:
        DamagedRunError: the records are not consistent (nothing is sealed).
    """
    folder = Path(folder)
    problems, counts = _inspect(folder)
    if problems:
        raise DamagedRunError(f"{problems[0]}; not sealed" + (f" (and {len(problems) - 1} more)"
                                                              if len(problems) > 1 else ""))
    manifest = {"files": {name: digest(folder / name) for name in SEALED if (folder / name).is_file()},
                "counts": counts}
    write_json(folder / MANIFEST, manifest)
    return manifest
