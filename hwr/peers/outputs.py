"""What each recogniser wrote, read back line by line, and scored with hwr's own metrics.

Every system is scored by :func:`score` on the same test lines with
:func:`hwr.metrics.cer` and :func:`hwr.metrics.wer`, never with ``ketos test`` or
``lstmeval``, whose text normalisation differs. A line the tool wrote nothing
for counts as an empty hypothesis (all its characters deleted), not as skipped.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from hwr.metrics import cer, edit_distance, wer


def clean(text: str) -> str:
    """One recognised line as text: NFC, form feeds and surrounding white space
    (Tesseract ends a page with a newline and a form feed) removed, inner runs of
    white space kept as they are (a doubled space is an error like any other)."""
    return unicodedata.normalize("NFC", text.replace("\f", "")).strip()


def read_references(images: list[Path]) -> list[str]:
    """The transcription beside each image (``NAME.gt.txt``), as written by ``hwr data export``."""
    return [clean(Path(str(p)[: -len(p.suffix)] + ".gt.txt").read_text(encoding="utf-8")) for p in images]


def kraken_outputs(images: list[Path], folder: Path, suffix: str = ".kraken.txt") -> list[str]:
    """kraken's batch output: ``folder/NAME<suffix>`` per image (missing file: nothing recognised)."""
    out = []
    for p in images:
        f = folder / (p.stem + suffix)
        out.append(clean(f.read_text(encoding="utf-8")) if f.exists() else "")
    return out


def tesseract_pages(text: str, n: int) -> list[str]:
    """Tesseract's output for a list of ``n`` images: the pages' texts with a form feed between
    two pages (Tesseract 5 writes it before every page but the first; an empty page is empty text).

    Raises:
        ValueError: the number of pages is not ``n`` (the lines would be scored against the wrong references).
    """
    pages = text.split("\f")
    if len(pages) == n + 1 and not pages[-1].strip():
        pages = pages[:-1]  # a form feed after the last page too (other versions' habit)
    if len(pages) != n:
        raise ValueError(f"tesseract wrote {len(pages)} pages for {n} images")
    return [clean(p) for p in pages]


def hwr_outputs(images: list[Path], jsonl: str) -> list[str]:
    """``hwr recognize --json`` output: one object per image, matched by file name."""
    by_name = {}
    for line in jsonl.splitlines():
        line = line.strip()
        if line.startswith("{"):
            row = json.loads(line)
            by_name[Path(row["file"]).name] = row["text"]
    return [clean(by_name.get(p.name, "")) for p in images]


def score(ids: list[str], references: list[str], hypotheses: list[str]) -> tuple[dict, list[dict]]:
    """Corpus CER and WER (fractions) and one row per line (id, reference, hypothesis, distance).

    Raises:
        ValueError: different numbers of ids, references and hypotheses.
    """
    if not len(ids) == len(references) == len(hypotheses):
        raise ValueError(f"{len(ids)} ids, {len(references)} references, {len(hypotheses)} hypotheses")
    rows = [{"id": i, "reference": r, "hypothesis": h, "distance": edit_distance(r, h)}
            for i, r, h in zip(ids, references, hypotheses)]
    metrics = {"cer": cer(references, hypotheses), "wer": wer(references, hypotheses), "lines": len(ids),
               "empty": sum(1 for h in hypotheses if not h)}
    return metrics, rows
