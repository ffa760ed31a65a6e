"""The common shape of every line dataset: items, reports, lazy image reads.

A dataset is opened by listing its lines (ids, normalised transcriptions,
image sources) without decoding any image; images are read one at a time in
:meth:`LineDataset.__getitem__`. Problems found while listing (a missing
image, an empty transcription, a character outside the alphabet, a line id
listed twice, two images for one line) raise a :class:`DatasetError` naming
the file, or with ``bad="skip"`` are counted in the dataset's
:class:`DatasetReport`, logged, and listed, never dropped silently.

Skipped lines, for whoever reports a score::

    ds = open_dataset(path, "test", bad="skip")
    ds.skipped        # list[Skipped(source, reason)], one per line left out
    len(ds.skipped)   # the count; ds.report.dropped counts them by cause

``skipped`` holds the lines left out while listing and, with ``bad="skip"``,
every line whose image turned out unreadable when it was read (an image is
decoded only in ``ds[i]``, which still raises :class:`DatasetError` naming the
file, since an index must give an item or nothing; the line is recorded once
however often it is read). A read in a DataLoader worker process records into
that worker's copy of the dataset: a loader that catches such failures in the
main process passes them on with :meth:`LineDataset.record_skip`. A subset
shares its parent's list. With ``bad="error"`` the list stays empty because
the first problem raises.

Duplicates: with ``bad="error"`` a line id listed twice (in a split list, an
IAM split file, a Parquet id column, ...) raises one error naming the file and
every duplicated id; with ``bad="skip"`` the first occurrence is kept and each
later one is skipped, with the source of the first in its reason.

Every error here is a :class:`hwr.errors.HwrError`: the ``hwr`` command prints
its one line and exits with code 2.
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import numpy as np
from PIL import Image, ImageOps

from hwr.codec import NormalisationReport, UnknownCharacterError, normalise_text
from hwr.errors import HwrError

log = logging.getLogger("hwr.datasets")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SPLIT_ALIASES = {
    "train": ("train", "training"),
    "valid": ("valid", "validation", "val", "dev"),
    "validation": ("validation", "valid", "val", "dev"),
    "test": ("test",),
}


class DatasetError(HwrError, ValueError):
    """A dataset cannot be opened or one of its lines cannot be read; the
    message is one line naming the file at fault."""


class Skipped(NamedTuple):
    """A line left out of a dataset opened with ``bad="skip"``.

    Attributes:
        source: the file (or ``file#rowN``) of the line.
        reason: why it was left out, one line.
    """

    source: str
    reason: str


@dataclass
class LineItem:
    """One text line.

    Attributes:
        id: line id, unique within its dataset.
        image: H x W uint8 grey, ink dark on white, as stored (not preprocessed).
        text: normalised transcription (every character in the alphabet).
        boxes: N x 2 int x-ranges ``[x0, x1)`` per character of ``text`` in the
            image's columns, or None where unknown (real data).
        source: the file (or file#row) the line comes from.
    """

    id: str
    image: np.ndarray
    text: str
    boxes: np.ndarray | None = None
    source: str = ""


@dataclass
class DatasetReport(NormalisationReport):
    """Normalisation counts plus the lines left out, by reason."""

    dropped: Counter = field(default_factory=Counter)  # reason -> lines
    examples: list = field(default_factory=list)       # first messages, for the log
    boxes_dropped: int = 0  # lines whose boxes no longer match a normalised text

    def __bool__(self) -> bool:
        return bool(self.mapped or self.skipped or self.dropped or self.boxes_dropped)

    def summary(self) -> str:
        dropped = ", ".join(f"{k}: {v}" for k, v in self.dropped.most_common()) or "none"
        return f"{super().summary()}; lines dropped: {dropped}"


def split_aliases(split: str) -> tuple[str, ...]:
    return SPLIT_ALIASES.get(split, (split,))


def _float_to_grey(arr: np.ndarray, source: str) -> np.ndarray:
    """H x W float (a mode "F" TIFF) -> H x W uint8. Values within 0..1 are
    taken as fractions of white (scaled by 255), values within 0..255 as grey
    levels; anything else has no unambiguous reading and is refused."""
    if not np.isfinite(arr).all():
        raise DatasetError(f"{source}: float image holds NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0 or hi > 255:
        raise DatasetError(f"{source}: float image values span {lo:g}..{hi:g}; expected 0..1 or 0..255 "
                           "(dark ink on white)")
    if hi <= 1.0:  # 0..1 floats: 1.0 is white (a 0..255 image this dark would be all ink)
        arr = arr * 255.0
    return np.rint(arr).astype(np.uint8)


#: the EXIF tag saying how a camera's stored pixels must be turned for display
ORIENTATION = 0x0112


def _upright(im: Image.Image) -> Image.Image:
    """The image as a viewer shows it: a phone stores a photo's pixels as the
    sensor read them and an EXIF Orientation tag saying how to turn them, so a
    line photographed in portrait would otherwise be read sideways."""
    try:
        orientation = im.getexif().get(ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block is no orientation, not an unreadable image
        return im
    return ImageOps.exif_transpose(im) if orientation not in (None, 1) else im


def read_grey(data: str | Path | bytes, source: str) -> np.ndarray:
    """Decode an image file (path or bytes) to H x W uint8 grey; 16-bit
    images are rescaled, float images (0..1 or 0..255) converted,
    transparency becomes white, and an EXIF orientation is applied.

    Raises:
        DatasetError: naming ``source`` when the file is missing, unreadable,
            empty, or a float image with NaN or values outside 0..255.
    """
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data) as opened:
            im = _upright(opened)
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit scans: scale to 8 bits, not clip
                arr = np.asarray(im, dtype=np.float64)
                arr = (arr * 255.0 / max(arr.max(), 1.0)).astype(np.uint8)
            elif im.mode == "F":  # float TIFFs: convert("L") would clip 0..1 to near-black
                arr = _float_to_grey(np.asarray(im, dtype=np.float64), source)
            else:
                if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                    # transparent paper is white paper, not black
                    rgba = im.convert("RGBA")
                    im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
                arr = np.asarray(im.convert("L"))
    except FileNotFoundError:
        raise DatasetError(f"{source}: image file not found") from None
    except DatasetError:
        raise
    except Exception as e:  # noqa: BLE001 - any decoding failure names the file
        raise DatasetError(f"{source}: cannot read image ({type(e).__name__}: {e})") from None
    if arr.size == 0:
        raise DatasetError(f"{source}: empty image ({arr.shape[0]} x {arr.shape[1]})")
    return arr


def header_size(data: str | Path | bytes) -> tuple[int, int]:
    """(H, W) from an image header, without decoding pixels, as displayed
    (EXIF orientations 5 to 8 turn the image by a quarter)."""
    with Image.open(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data) as im:
        w, h = im.size
        try:
            quarter = im.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8)
        except Exception:  # noqa: BLE001 - see _upright
            quarter = False
    return (w, h) if quarter else (h, w)


class Records:
    """Collects a dataset's lines while it is listed, applying the rules for
    bad lines (``bad="error"`` raises, ``"skip"`` counts, logs and lists them
    in ``skipped``) and text normalisation (``unknown="error"|"skip"``,
    optional ``table``)."""

    def __init__(self, name: str, unknown: str = "error", bad: str = "error", table: dict | None = None):
        if unknown not in ("error", "skip"):
            raise ValueError(f"unknown must be 'error' or 'skip', not {unknown!r}")
        if bad not in ("error", "skip"):
            raise ValueError(f"bad must be 'error' or 'skip', not {bad!r}")
        self.name, self.unknown, self.bad, self.table = name, unknown, bad, table
        self.report = DatasetReport()
        self.skipped: list[Skipped] = []
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.sources: list[str] = []
        self.raw_changed: list[bool] = []  # normalisation changed the text (boxes invalid)
        self._first: dict[str, str] = {}   # id -> source of its first occurrence

    def problem(self, reason: str, source: str, detail: str) -> None:
        """Line ``source`` cannot be used because of ``detail``: raise, or
        count, log and list it (``reason`` is the category counted)."""
        message = f"{source}: {detail}"
        if self.bad == "error":
            raise DatasetError(message + " (--bad skip, or bad='skip' in Python, leaves such lines out with a count)")
        self.report.dropped[reason] += 1
        self.skipped.append(Skipped(str(source), detail))
        if len(self.report.examples) < 20:
            self.report.examples.append(message)
        log.warning("%s: line left out: %s", self.name, message)

    def refuse_duplicates(self, ids: Iterable[str], where: str | Path) -> None:
        """With ``bad="error"``, raise naming ``where`` and every id that
        occurs more than once in ``ids``; with ``"skip"`` do nothing here
        (:meth:`add` keeps the first occurrence and skips the others)."""
        if self.bad != "error":
            return
        dups = [i for i, n in Counter(ids).items() if n > 1]
        if dups:
            shown = ", ".join(repr(d) for d in dups[:5]) + (f" and {len(dups) - 5} more" if len(dups) > 5 else "")
            raise DatasetError(f"{where}: line id(s) listed more than once: {shown} (each line must occur once; "
                               "open with bad='skip' to keep the first)")

    def add(self, id: str, text: str | None, source: str) -> bool:
        """Normalise ``text`` and keep the line, or report why not."""
        if id in self._first:
            self.problem("duplicate id", source, f"line id {id!r} occurs twice (first in {self._first[id]})")
            return False
        if text is None:
            self.problem("missing transcription", source, f"no transcription for line {id!r}")
            return False
        text = text.removeprefix("\ufeff")  # a byte-order mark is an encoding artefact, not text
        local = NormalisationReport()
        try:
            norm = normalise_text(text, self.table, self.unknown, local)
        except UnknownCharacterError as e:
            self.problem("unknown character", source, f"{e} (--unknown skip, or unknown='skip' in Python, removes such characters with a count)")
            return False
        if not norm:
            what = "empty transcription" if not text.strip() else f"transcription {text!r} is empty after normalisation"
            self.problem("empty transcription", source, what)
            return False
        self.report.update(local)
        self._first[id] = source
        self.ids.append(id)
        self.texts.append(norm)
        self.sources.append(source)
        self.raw_changed.append(norm != text.strip("\r\n"))
        return True


class LineDataset:
    """Base class: a list of lines whose images are read on demand.

    Subclasses fill ``ids``, ``texts``, ``sources`` (through :class:`Records`)
    and override :meth:`_image_data` (path or bytes of line ``i``) and, when
    they have character boxes, :meth:`_boxes`.

    Attributes:
        name: dataset name (for logs and tables).
        split: split name.
        ids, texts, sources: per line, without decoding images.
        report: :class:`DatasetReport` of the listing.
        skipped: list of :class:`Skipped` (see the module docstring).
        bad: ``"error"`` or ``"skip"``, as opened.
        root: the file or folder the dataset was read from (None in memory).
    """

    root: Path | None = None

    def __init__(self, records: Records, split: str | None):
        self.name = records.name
        self.split = split
        self.bad = records.bad
        self.ids = records.ids
        self.texts = records.texts
        self.sources = records.sources
        self.report = records.report
        self.skipped = records.skipped
        self._changed = records.raw_changed
        self._sizes: list[tuple[int, int]] | None = None
        if self.report:
            log.info("%s %s: %s", self.name, split, self.report.summary())

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, lines={len(self)})"

    def _image_data(self, i: int) -> str | Path | bytes:
        return self.sources[i]

    def _boxes(self, i: int) -> np.ndarray | None:
        return None

    def record_skip(self, source: str, reason: str) -> None:
        """List a line found unusable after listing (once per source); a
        no-op for datasets opened with ``bad="error"``."""
        if self.bad == "skip" and all(s.source != source for s in self.skipped):
            self.skipped.append(Skipped(str(source), reason))
            self.report.dropped["unreadable image"] += 1

    def __getitem__(self, i: int) -> LineItem:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"line {i} out of range for {self!r}")
        source = self.sources[i]
        try:
            image = read_grey(self._image_data(i), source)
        except DatasetError as e:  # found only now: listed for the score's report, then raised
            self.record_skip(source, str(e).removeprefix(f"{source}: "))
            raise
        boxes = None if self._changed[i] else self._boxes(i)
        return LineItem(self.ids[i], image, self.texts[i], boxes, source)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def sizes(self) -> list[tuple[int, int]]:
        """Per line (H, W) from image headers (no pixel decoding; cached).
        An unreadable header gives (0, 0) and a warning naming the file."""
        if self._sizes is None:
            sizes = []
            for i in range(len(self)):
                try:
                    sizes.append(header_size(self._image_data(i)))
                except Exception as e:  # noqa: BLE001 - reported, then skipped by the loader
                    log.warning("%s: cannot read the image size (%s: %s)", self.sources[i], type(e).__name__, e)
                    sizes.append((0, 0))
            self._sizes = sizes
        return self._sizes

    def subset(self, indices: Sequence[int]) -> "LineDataset":
        """A view of some lines, in the given order (e.g. a fixed validation subset)."""
        return SubsetDataset(self, indices)


class SubsetDataset(LineDataset):
    """Lines ``indices`` of another dataset, in that order. Reads go through
    the parent, so a late unreadable image lands in the parent's ``skipped``
    list, which the subset shares."""

    def __init__(self, parent: LineDataset, indices: Sequence[int]):
        self.parent, self.indices = parent, [int(i) for i in indices]
        self.name, self.split, self.report = parent.name, parent.split, parent.report
        self.bad, self.skipped, self.root = parent.bad, parent.skipped, parent.root
        self.ids = [parent.ids[i] for i in self.indices]
        self.texts = [parent.texts[i] for i in self.indices]
        self.sources = [parent.sources[i] for i in self.indices]
        self._sizes = None

    def __getitem__(self, i: int) -> LineItem:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"line {i} out of range for {self!r}")
        return self.parent[self.indices[i]]

    def record_skip(self, source: str, reason: str) -> None:
        self.parent.record_skip(source, reason)

    def sizes(self) -> list[tuple[int, int]]:
        parent = self.parent.sizes()
        return [parent[i] for i in self.indices]


def read_boxes(path: Path, n_chars: int) -> np.ndarray | None:
    """Character x-ranges from a ``<id>.boxes.json`` (key ``chars``), or None
    when the file is absent or does not match the text length."""
    if not path.exists():
        return None
    try:
        chars = json.loads(path.read_text())["chars"]
    except Exception as e:  # noqa: BLE001
        log.warning("%s: unreadable boxes file (%s: %s); boxes ignored", path, type(e).__name__, e)
        return None
    boxes = np.asarray(chars, dtype=np.int64).reshape(-1, 2)
    if len(boxes) != n_chars:
        log.warning("%s: %d boxes for %d characters; boxes ignored", path, len(boxes), n_chars)
        return None
    return boxes
