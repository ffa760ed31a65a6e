"""Who wrote each line: the writer labels that :mod:`hwr.stats` resamples.

Test lines are not independent draws: the lines of one hand share its
difficulty, so the statistics resample *writers* and then lines within them
(:func:`hwr.stats.hierarchical_interval`). :func:`line_writers` gives the
writer of every line of a split, reading only small text files (no image is
decoded):

* **synthetic sets** (``manifest.json`` + ``<id>.boxes.json``): each line's
  boxes file names its font (``"writer": "caveat-500"``); the label is the
  font's *family* (``"caveat"``, from the manifest's ``fonts`` list), because
  the family is the unit of the font split (:func:`hwr.synth.fonts.split_writers`):
  the weights of one family are one hand in bolder ink, never an independent
  writer. The test split of a preset holds 8 families.
* **IAM** (official layout): the ``writer-id`` attribute of the form's page
  XML (``xml/<form>.xml``), else the writer column of ``ascii/forms.txt``;
  where neither is present, the form id (``a01-000u``): one form is one
  writer's page, so the form is the finest cluster that is certainly one
  hand (a writer of several forms is then counted as several clusters, which
  narrows the interval less than ignoring clusters does).
* **anything else** (png + gt.txt folders, Parquet, in-memory sets): no writer
  is recorded, so each line is its own cluster (label = the line id), and the
  hierarchical bootstrap reduces to the line bootstrap. Guessing writers from
  id prefixes is not done: a prefix that is not a hand would claim a
  clustering the data does not have.

A synthetic line whose boxes file is missing or names no writer is likewise
its own cluster.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable

from hwr import paths
from hwr.datasets import detect_layout, open_dataset
from hwr.datasets.base import DatasetError, LineDataset, split_aliases
from hwr.datasets.iam import IamDataset
from hwr.synth.config import PRESETS, plan

BOXES_SUFFIX = ".boxes.json"


def line_writers(source: str | Path | LineDataset, split: str = "test",
                 ids: Iterable[str] | None = None) -> dict[str, str]:
    """The writer (cluster) label of every line of a split.

    Args:
        source: a run's data source (``"synth"``, ``"synth:<preset>"``, a
            dataset path) or an opened :class:`~hwr.datasets.LineDataset`.
            A synthetic preset is read where it lies (``data/synth/<preset>``);
            one that is not on disk is labelled from the generator's plan
            (the same fonts, nothing rendered).
        split: ``"train"``, ``"valid"`` or ``"test"``.
        ids: the line ids to label (e.g. a run's prediction ids); default
            every line of the split.

    Returns:
        line id -> writer label (see the module docstring for what a label
        is in each layout, and the fallback of one cluster per line).

    Raises:
        FileNotFoundError: an unknown synthetic preset.
        DatasetError: a path that is no dataset.
    """
    if isinstance(source, LineDataset) and source.split is not None:
        split = source.split  # an opened dataset is one split already
    root, layout, known_ids = _locate(source)
    ids = known_ids if ids is None else [str(i) for i in ids]
    if layout == "synth":
        return _synth_writers(root, split, ids)
    if layout == "synth-plan":
        return _planned_writers(str(root), split, ids)
    if ids is None:
        ids = _open_ids(root, split, layout)
    if layout == "iam":
        return _iam_writers(root, ids)
    return {i: i for i in ids}  # no writer recorded: each line its own cluster


def _locate(source) -> tuple[Path | None, str, list[str] | None]:
    """(root, layout, ids already known) of a source; layout is one of
    ``synth``, ``iam``, ``gt-txt``, ``parquet``, ``other`` (an opened dataset
    of another layout) or ``memory``."""
    if isinstance(source, LineDataset):
        root = getattr(source, "root", None)
        ids = [str(i) for i in source.ids]
        if root is None:
            return None, "memory", ids
        root = Path(root)
        if root.is_dir() and (root / "manifest.json").is_file():
            return root, "synth", ids

        return root, ("iam" if isinstance(source, IamDataset) else "other"), ids
    if isinstance(source, str) and (source == "synth" or source.startswith("synth:")):
        preset = source.partition(":")[2] or "default"
        root = paths.SYNTH / preset
        if not (root / "manifest.json").is_file():
            # not rendered here (a fresh clone renders the book from records): the generator's plan
            # names the same font for every line without drawing one, so the labels do not depend
            # on which data a machine happens to hold
            return Path(preset), "synth-plan", None
        return root, "synth", None

    return Path(source), detect_layout(source), None


def _open_ids(root: Path, split: str, layout: str) -> list[str]:
    """The line ids of a split, from the dataset's listing (no image decoded)."""
    return [str(i) for i in open_dataset(root, split, layout=layout, bad="skip", unknown="skip").ids]


# ---------------------------------------------------------------- synthetic sets
def font_families(manifest: dict) -> dict[str, str]:
    """Font name -> family from a synthetic manifest's ``fonts`` list
    (``{"name": "caveat-500", "package": "@fontsource/caveat"}`` -> ``caveat``)."""
    out = {}
    for font in manifest.get("fonts") or []:
        if isinstance(font, dict) and "name" in font:
            package = str(font.get("package") or font["name"])
            out[str(font["name"])] = package.rsplit("/", 1)[-1]
    return out


def _split_folder(root: Path, split: str) -> Path:
    for alias in split_aliases(split):
        if (root / alias).is_dir():
            return root / alias
    raise DatasetError(f"{root}: no split folder {split!r}")


def _synth_writers(root: Path, split: str, ids: list[str] | None) -> dict[str, str]:
    """Family of the font of each line, from ``<split>/<id>.boxes.json``."""
    manifest = json.loads((root / "manifest.json").read_text())
    family = font_families(manifest)
    folder = _split_folder(root, split)
    if ids is None:  # ids are paths under the split folder, as GtTxtDataset gives them
        files = {p.relative_to(folder).as_posix()[: -len(BOXES_SUFFIX)]: p
                 for p in sorted(folder.rglob("*" + BOXES_SUFFIX))}
    else:
        files = {i: folder / (i + BOXES_SUFFIX) for i in ids}
    out = {}
    for line_id, path in files.items():
        try:
            name = json.loads(path.read_text()).get("writer")
        except (OSError, ValueError, AttributeError):
            name = None
        # a font the manifest does not list keeps its own name as the family
        out[line_id] = family.get(name, name) if name else line_id
    return out


def _planned_writers(preset: str, split: str, ids: list[str] | None) -> dict[str, str]:
    """Family of the font of each line of a preset that is not on disk, from
    :func:`hwr.synth.config.plan` (texts composed, nothing rendered).

    Raises:
        FileNotFoundError: no such preset.
    """
    if preset not in PRESETS:
        raise FileNotFoundError(f"no synthetic preset {preset!r}; presets: {', '.join(PRESETS)}")
    manifest, jobs = plan(PRESETS[preset])
    family = font_families(manifest)
    wanted = set(split_aliases(split))
    planned = {line_id: family.get(writer, writer) for s, _, line_id, _, writer in jobs if s in wanted}
    return planned if ids is None else {i: planned.get(i, i) for i in ids}


# ---------------------------------------------------------------- IAM
def _form_of(line_id: str) -> str:
    """``a01-000u-00`` -> ``a01-000u`` (the IAM form, one writer's page)."""
    return "-".join(line_id.split("-")[:2])


def _xml_writer(path: Path) -> str | None:
    """The ``writer-id`` attribute of an IAM page XML's root ``<form>``, read
    from the first tag only."""
    try:
        for _, elem in ET.iterparse(path, events=("start",)):
            return elem.get("writer-id")
    except (OSError, ET.ParseError):
        return None
    return None


def _forms_txt(root: Path) -> dict[str, str]:
    """Form id -> writer id from ``ascii/forms.txt`` (``a01-000u 000 2 prt ...``)."""
    path = root / "ascii" / "forms.txt"
    if not path.is_file():
        return {}
    out = {}
    for row in path.read_text(encoding="utf-8-sig", errors="replace").splitlines():
        fields = row.split()
        if len(fields) >= 2 and not row.startswith("#"):
            out[fields[0]] = fields[1]
    return out


def _iam_writers(root: Path, ids: list[str]) -> dict[str, str]:
    """IAM writer id of each line, else its form id (module docstring)."""
    forms_txt = None
    by_form: dict[str, str] = {}
    for form in sorted({_form_of(i) for i in ids}):
        writer = _xml_writer(root / "xml" / f"{form}.xml")
        if writer is None:
            forms_txt = _forms_txt(root) if forms_txt is None else forms_txt
            writer = forms_txt.get(form)
        by_form[form] = f"writer {writer}" if writer else f"form {form}"
    return {i: by_form[_form_of(i)] for i in ids}
