"""Parquet exports of line datasets (e.g. IAM lines as published on data hubs).

Columns: ``image`` (PNG/JPEG bytes, or a struct with a ``bytes`` field, the
common "Image" feature encoding) and ``text``; an ``id`` column is used when
present, and a ``split`` column (``train``, ``valid``/``validation``,
``test``) when present selects the rows of a split.

Which rows make a split:

* a folder: the files named ``<split>-*.parquet`` / ``<split>_*.parquet`` /
  ``<split>.parquet`` (or inside a ``<split>/`` folder) anywhere under it,
  ``valid`` finding ``validation`` files and the other way round; failing
  that, the files that have a ``split`` column. Rows are filtered by the
  ``split`` column wherever a file has one.
* one file: its ``split`` column when it has one; otherwise the file is one
  split, the one its name says (``train-0000.parquet``, ``test.parquet``),
  and is refused for any other, so that training, validation and test can
  never be the same rows. ``split=None`` reads every row.

Ids must be unique: a repeated ``id`` is refused naming the file and the ids
(``bad="skip"`` keeps the first). The image bytes of the split are held in
memory (IAM's largest split is a few hundred MB) and decoded one line at a time.
"""

from __future__ import annotations

from pathlib import Path

from hwr.datasets.base import DatasetError, LineDataset, Records, split_aliases

SPLIT_COLUMN = "split"


SPLITS = ("train", "valid", "test")


def _stem_says(f: Path, split: str) -> bool:
    return any(f.stem == a or f.stem.startswith((a + "-", a + "_", a + ".")) for a in split_aliases(split))


def _named(f: Path, split: str) -> bool:
    """Does the file's name say it holds ``split``, or, when its name names no
    split, its folder's?"""
    if _stem_says(f, split):
        return True
    if any(_stem_says(f, s) for s in SPLITS):  # its own name says another split, whatever its folder says
        return False
    return f.parent.name in split_aliases(split)


def _split_of_name(f: Path) -> str | None:
    return next((s for s in SPLITS if _named(f, s)), None)


def _refuse_mixed_folders(files: list[Path]) -> None:
    """A folder named for one split must hold only that split's files: a
    ``test/`` folder holding ``train.parquet`` would otherwise be scored whole."""
    for f in files:
        folder = next((s for s in SPLITS if f.parent.name in split_aliases(s)), None)
        own = next((s for s in SPLITS if _stem_says(f, s)), None)
        if folder and own and own != folder:
            raise DatasetError(f"{f}: a {own} file inside a folder named {f.parent.name!r}; a split folder must "
                               f"hold only its own split's files (move it, or give the file itself)")


def _columns(f: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(f).names
    except Exception as e:  # noqa: BLE001 - a damaged file names itself
        raise DatasetError(f"{f}: not a readable Parquet file ({type(e).__name__}: {e})") from None


def check_text_column(f: Path, column: str) -> None:
    """Refuse a transcription column that does not hold strings (numbers, say):
    every line would fail alike, deep in the text normalisation, with a Python error.

    Raises:
        DatasetError: naming the file, the column and its type.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = pq.read_schema(f).field(column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
        raise DatasetError(f"{f}: column {column!r} holds {kind} values, not text: transcriptions are strings")


def split_files(root: Path, split: str | None, split_column: str = SPLIT_COLUMN) -> list[Path]:
    """The Parquet files holding ``split`` under ``root`` (a file: itself,
    when its ``split`` column or its name allows it).

    Raises:
        DatasetError: no file for the split; or one file that has no split
            column and whose name says another split (or none).
    """
    if root.is_file():
        if split is None or split_column in _columns(root) or _named(root, split):
            return [root]
        said = _split_of_name(root)
        what = f"its name says it holds {said!r}" if said else "its name names no split"
        raise DatasetError(f"{root}: cannot give split {split!r}: one Parquet file without a {split_column!r} "
                           f"column, and {what} (give the folder of all splits, the {split} file, or add a "
                           f"{split_column!r} column)")
    files = sorted(root.rglob("*.parquet"))
    _refuse_mixed_folders(files)
    if split is None:
        return files
    for a in split_aliases(split):
        found = [f for f in files if _named(f, a)]
        if found:
            return found
    found = [f for f in files if split_column in _columns(f)]
    if found:
        return found
    names = ", ".join(str(f.relative_to(root)) for f in files[:10]) or "none"
    raise DatasetError(f"{root}: no Parquet file for split {split!r} (expected {split}-*.parquet or a "
                       f"{split_column!r} column; found: {names})")


def _image_bytes(value, where: str) -> bytes | None:
    if isinstance(value, dict):
        value = value.get("bytes")
    if value is None or isinstance(value, (bytes, bytearray)):
        return value
    raise DatasetError(f"{where}: image cell is {type(value).__name__}, expected bytes or a struct with 'bytes'")


class ParquetDataset(LineDataset):
    """One split of a Parquet export.

    Args:
        root: a folder of Parquet files, or one file.
        split: ``"train"``, ``"valid"``/``"validation"``, ``"test"``; None for all rows.
        image_column, text_column, id_column, split_column: column names.
        unknown, bad, table: see :class:`hwr.datasets.base.Records`.
    """

    def __init__(self, root: str | Path, split: str | None, image_column: str = "image", text_column: str = "text",
                 id_column: str = "id", unknown: str = "error", bad: str = "error", table: dict | None = None,
                 name: str | None = None, split_column: str = SPLIT_COLUMN):
        import pyarrow.parquet as pq  # lazy: only this layout needs it

        root = Path(root)
        if not root.exists():
            raise DatasetError(f"{root}: Parquet path not found")
        self.root = root
        records = Records(name or root.stem, unknown, bad, table)
        self._bytes: list[bytes] = []
        files = split_files(root, split, split_column)
        # ids without an id column: <file stem>:<row>, or the path under root where stems repeat
        # (train/0.parquet and test/0.parquet), so that ids stay unique
        unique_stems = len({f.stem for f in files}) == len(files)
        for f in files:
            names = _columns(f)
            missing = [c for c in (image_column, text_column) if c not in names]
            if missing:
                raise DatasetError(f"{f}: missing column(s) {missing}; columns are {names} "
                                   "(pass image_column= / text_column=)")
            check_text_column(f, text_column)
            by_column = split is not None and split_column in names
            columns = ([image_column, text_column] + ([id_column] if id_column in names else [])
                       + ([split_column] if by_column else []))
            tab = pq.read_table(f, columns=columns).to_pydict()
            rows = range(len(tab[text_column]))
            if by_column:
                wanted = set(split_aliases(split))
                rows = [k for k in rows if str(tab[split_column][k]).strip().lower() in wanted]
                if not rows and root.is_file():
                    values = sorted({str(v) for v in tab[split_column]})[:10]
                    raise DatasetError(f"{f}: no row of split {split!r} in column {split_column!r} "
                                       f"(values: {', '.join(values) or 'none'})")
            if id_column in names:
                ids = [str(i) for i in tab[id_column]]
                records.refuse_duplicates([ids[k] for k in rows], f)
            else:
                label = f.stem if unique_stems else f.relative_to(root).with_suffix("").as_posix()
                ids = [f"{label}:{k}" for k in range(len(tab[text_column]))]
            for k in rows:
                where = f"{f}#row{k}"
                data = _image_bytes(tab[image_column][k], where)
                if not data:
                    records.problem("missing image", where, "empty image cell")
                    continue
                if records.add(ids[k], tab[text_column][k], where):
                    self._bytes.append(data)
        if not records.ids and not records.skipped:  # no score can be had over zero lines
            raise DatasetError(f"{root}: split {split!r} holds no rows")
        super().__init__(records, split)

    def _image_data(self, i: int) -> bytes:
        return self._bytes[i]
