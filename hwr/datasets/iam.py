"""The IAM Handwriting Database, official layout, with an IAM-B split folder.

Layout under ``root``::

    lines/a01/a01-000u/a01-000u-00.png    line images (writer/form/line)
    xml/a01-000u.xml                      page XML: <line id=... text=...>
    ascii/lines.txt                       or: the plain line list
    splits/train.txt valid.txt test.txt   IAM-B line ids, one per line

Transcriptions come from the XML ``text`` attribute (the thesis's source;
entities such as ``&quot;`` ``&#39;`` ``&amp;`` decoded) when ``xml/`` exists,
else from ``ascii/lines.txt``, whose last field writes spaces as ``|``. The
two differ slightly: lines.txt separates punctuation by spaces
("tomorrow . Mr."), so prefer the XML. Lines with segmentation status
``err`` are kept (thesis conditions). A split entry that is a form id
(``a01-000u``) stands for all its lines.

A ``lines.txt`` row has exactly nine space-separated fields (``id status
graylevel components x y w h text``, spaces inside the text written ``|``);
a row with more or fewer is malformed and its line is refused with
``lines.txt:<row number>`` (or left out with ``bad="skip"``), never merged
into the text. A line listed twice in a split file (directly or through its
form id) is refused the same way. Files may start with a UTF-8 byte-order mark.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from hwr.datasets.base import DatasetError, LineDataset, Records, split_aliases

_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|quot|amp|apos|lt|gt);")


def form_of(line_id: str) -> str:
    """``a01-000u-00`` -> ``a01-000u``."""
    return "-".join(line_id.split("-")[:2])


def _unescape(text: str) -> str:
    # ElementTree already decodes entities once; a second, strict pass catches
    # doubly escaped ones (``&amp;quot;``) without touching a bare "&".
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def read_xml_form(path: Path) -> dict[str, str]:
    """Line id -> text of one IAM page XML file."""
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        raise DatasetError(f"{path}: malformed XML ({e})") from None
    return {el.get("id"): _unescape(el.get("text", "")) for el in tree.iter("line") if el.get("id")}


def read_lines_txt(path: Path) -> "_Texts":
    """Line id -> text from ``ascii/lines.txt`` (``|`` -> space; ``#``
    comments). Malformed rows and ids given twice are kept out of the texts
    and listed in ``.bad`` (id -> ``"lines.txt:N: what"``), so only a split
    that uses them fails."""
    out = _Texts()
    rows = {}
    for n, row in enumerate(path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), 1):
        if not row.strip() or row.startswith("#"):
            continue
        fields = row.split()
        if len(fields) != 9:
            out.bad.setdefault(fields[0], f"{path}:{n}: expected 9 fields (id status graylevel components "
                                          f"x y w h text, spaces in the text written '|'), got {len(fields)}: {row!r}")
            continue
        if fields[0] in rows:
            out.bad.setdefault(fields[0], f"{path}:{n}: line id {fields[0]!r} given twice "
                                          f"(first on row {rows[fields[0]]})")
            continue
        rows[fields[0]] = n
        out[fields[0]] = fields[8].replace("|", " ")
    for line_id in out.bad:
        out.pop(line_id, None)
    return out


class IamDataset(LineDataset):
    """One IAM-B split of the official IAM line images.

    Args:
        root: the IAM folder (holding ``lines/``).
        split: ``"train"``, ``"valid"`` (``validation.txt`` / ``val.txt`` also
            accepted), ``"test"``, or another file name in the split folder.
        splits: the split folder (absolute, or relative to ``root``); default
            ``root/splits`` or ``root/iam-b``, whichever exists.
        text_source: ``"auto"`` (XML if ``xml/`` exists), ``"xml"``, ``"ascii"``.
        unknown, bad, table: see :class:`hwr.datasets.base.Records`.
    """

    def __init__(self, root: str | Path, split: str, splits: str | Path | None = None, text_source: str = "auto",
                 unknown: str = "error", bad: str = "error", table: dict | None = None, name: str = "iam"):
        root = Path(root)
        if not (root / "lines").is_dir():
            raise DatasetError(f"{root}: IAM folder not found (expected {root / 'lines'}/)")
        if split is None:
            raise DatasetError(f"{root}: an IAM split is required (train, valid or test)")
        ids, split_file = self._split_ids(root, split, splits)
        if text_source == "auto":
            text_source = "xml" if (root / "xml").is_dir() else "ascii"
        if text_source not in ("xml", "ascii"):
            raise ValueError(f"text_source must be 'auto', 'xml' or 'ascii', not {text_source!r}")
        texts = self._texts(root, ids, text_source)
        ids = self._expand_forms(ids, texts)
        records = Records(name, unknown, bad, table)
        records.refuse_duplicates(ids, split_file)
        self.root = root
        self._images: list[Path] = []
        for line_id in ids:
            if line_id in texts.bad:  # a malformed lines.txt row: its file:row says what is wrong
                path, _, detail = texts.bad[line_id].partition(": ")
                records.problem("malformed transcription row", path, detail)
                continue
            image = self._image_path(root, line_id)
            if image is None:
                records.problem("missing image", str(root / "lines"), f"no image for line {line_id!r} "
                                f"(expected {root / 'lines' / line_id.split('-')[0] / form_of(line_id) / line_id}.png)")
                continue
            # a line without text is reported with the reason (XML file missing or line absent)
            source = str(image) if line_id in texts else f"{image} ({texts.where(line_id)})"
            if records.add(line_id, texts.get(line_id), source):
                self._images.append(image)
        if not records.ids and not records.skipped:  # no score can be had over zero lines
            raise DatasetError(f"{split_file}: split {split!r} lists no lines")
        super().__init__(records, split)

    @staticmethod
    def _split_ids(root: Path, split: str, splits) -> tuple[list[str], Path]:
        if splits is None:
            candidates = [root / "splits", root / "iam-b"]
            folder = next((c for c in candidates if c.is_dir()), None)
            if folder is None:
                raise DatasetError(f"{root}: no IAM-B split folder (looked for {candidates[0]} and {candidates[1]}; "
                                   "pass splits=FOLDER)")
        else:
            folder = Path(splits) if Path(splits).is_absolute() else root / splits
            if not folder.is_dir():
                raise DatasetError(f"{folder}: split folder not found")
        for a in split_aliases(split):
            f = folder / f"{a}.txt"
            if f.is_file():
                rows = f.read_text(encoding="utf-8-sig").splitlines()
                return [Path(s.strip()).name.removesuffix(".png") for s in rows
                        if s.strip() and not s.startswith("#")], f
        raise DatasetError(f"{folder / (split + '.txt')}: split file not found")

    @staticmethod
    def _texts(root: Path, ids: list[str], source: str) -> "_Texts":
        texts = _Texts()
        if source == "ascii":
            path = root / "ascii" / "lines.txt"
            if not path.is_file():
                raise DatasetError(f"{path}: transcription list not found")
            return read_lines_txt(path)
        for form in sorted({form_of(i) for i in ids}):
            path = root / "xml" / f"{form}.xml"
            if path.is_file():
                texts.update(read_xml_form(path))
            else:
                texts.missing[form] = path
        return texts

    @staticmethod
    def _expand_forms(ids: list[str], texts: "_Texts") -> list[str]:
        """Form ids (one dash) in a split list stand for all their lines
        (malformed ones included, so that they are reported, not lost)."""
        known = set(texts) | set(texts.bad)
        out = []
        for i in ids:
            if i.count("-") == 1:
                out.extend(sorted(t for t in known if form_of(t) == i))
            else:
                out.append(i)
        return out

    @staticmethod
    def _image_path(root: Path, line_id: str) -> Path | None:
        nested = root / "lines" / line_id.split("-")[0] / form_of(line_id) / f"{line_id}.png"
        if nested.is_file():
            return nested
        flat = root / "lines" / f"{line_id}.png"  # some repackagings drop the folders
        return flat if flat.is_file() else None

    def _image_data(self, i: int) -> Path:
        return self._images[i]


class _Texts(dict):
    """Line id -> text, remembering XML files that were missing and malformed
    lines.txt rows (for messages)."""

    def __init__(self):
        super().__init__()
        self.missing: dict[str, Path] = {}
        self.bad: dict[str, str] = {}

    def where(self, line_id: str) -> str:
        path = self.missing.get(form_of(line_id))
        return f"XML file {path} not found" if path else "no such line in the transcriptions"
