"""Parquet exports of line datasets (e.g. IAM lines as published on data hubs).

Columns: ``image`` (PNG/JPEG bytes, or a struct with a ``bytes`` field, the
common "Image" feature encoding) and ``text``; an ``id`` column is used when
present. Splits are files named ``<split>-*.parquet`` / ``<split>_*.parquet``
/ ``<split>.parquet`` (or inside a ``<split>/`` folder) anywhere under the
root; ``valid`` finds ``validation`` files and the other way round.

The image bytes of the split are held in memory (IAM's largest split is a few
hundred MB) and decoded one line at a time.
"""

from __future__ import annotations

from pathlib import Path

from hwr.datasets.base import DatasetError, LineDataset, Records, split_aliases


def split_files(root: Path, split: str | None) -> list[Path]:
    """The Parquet files of ``split`` under ``root`` (a file: itself)."""
    if root.is_file():
        return [root]
    files = sorted(root.rglob("*.parquet"))
    if split is None:
        return files
    for a in split_aliases(split):
        found = [f for f in files if f.stem == a or f.stem.startswith((a + "-", a + "_", a + ".")) or f.parent.name == a]
        if found:
            return found
    names = ", ".join(str(f.relative_to(root)) for f in files[:10]) or "none"
    raise DatasetError(f"{root}: no Parquet file for split {split!r} (expected {split}-*.parquet; found: {names})")


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
        split: ``"train"``, ``"valid"``/``"validation"``, ``"test"``; None for all files.
        image_column, text_column, id_column: column names.
        unknown, bad, table: see :class:`hwr.datasets.base.Records`.
    """

    def __init__(self, root: str | Path, split: str | None, image_column: str = "image", text_column: str = "text",
                 id_column: str = "id", unknown: str = "error", bad: str = "error", table: dict | None = None,
                 name: str | None = None):
        import pyarrow.parquet as pq  # lazy: only this layout needs it

        root = Path(root)
        if not root.exists():
            raise DatasetError(f"{root}: Parquet path not found")
        records = Records(name or root.stem, unknown, bad, table)
        self._bytes: list[bytes] = []
        for f in split_files(root, split):
            schema = pq.read_schema(f)
            missing = [c for c in (image_column, text_column) if c not in schema.names]
            if missing:
                raise DatasetError(f"{f}: missing column(s) {missing}; columns are {schema.names} "
                                   "(pass image_column= / text_column=)")
            columns = [image_column, text_column] + ([id_column] if id_column in schema.names else [])
            tab = pq.read_table(f, columns=columns).to_pydict()
            ids = tab.get(id_column) or [f"{f.stem}:{k}" for k in range(len(tab[text_column]))]
            for k, (img, text, line_id) in enumerate(zip(tab[image_column], tab[text_column], ids)):
                where = f"{f}#row{k}"
                data = _image_bytes(img, where)
                if not data:
                    records.problem("missing image", f"{where}: empty image cell")
                    continue
                if records.add(str(line_id), text, where):
                    self._bytes.append(data)
        super().__init__(records, split)

    def _image_data(self, i: int) -> bytes:
        return self._bytes[i]
