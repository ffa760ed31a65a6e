"""The executed notebook a reader downloads, and the staged one the website renders.

papermill leaves an executed notebook that Jupyter shows badly: figures glued
with ``glue(..., display=False)`` are papermill records that Jupyter does not
draw, the declared parameters cell is followed by papermill's injected one
with other values, and the metadata holds the paths of the machine that ran
it. :func:`reader_notebook` fixes all three; :func:`website_notebook` turns
the figures back into records for the website, where the ``{glue:figure}``
directives place them with their captions.
"""

from __future__ import annotations

import re
from typing import Any

GLUE_PREFIX = "application/papermill.record/"  # myst_nb.ext.glue.GLUE_PREFIX

_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?P<annotation>\s*:\s*[^=]+?)?\s*=\s*(?P<value>.*?)"
                         r"(?P<comment>\s+#.*)?$")


def literal(value: Any) -> str:
    """``value`` as a Python literal, as papermill writes parameters."""
    from papermill.translators import PythonTranslator

    return PythonTranslator.translate(value)


def merge_parameters(nb, params: dict[str, Any]) -> None:
    """Write the injected values into the declared parameters cell and drop
    papermill's injected cell, so the notebook has one parameters cell holding
    the values it ran with (and "Run all" repeats the run).

    The declared defaults stay in ``metadata.papermill.default_parameters``.
    """
    injected = [i for i, c in enumerate(nb.cells) if "injected-parameters" in c.metadata.get("tags", [])]
    declared = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if declared is None or not injected:
        return
    lines = []
    for line in declared.source.splitlines():
        m = _ASSIGNMENT.match(line)
        if m and m["name"] in params:
            line = f"{m['name']}{m['annotation'] or ''} = {literal(params[m['name']])}{m['comment'] or ''}"
        lines.append(line)
    declared.source = "\n".join(lines)
    for i in reversed(injected):
        del nb.cells[i]


def show_figures(nb) -> int:
    """Turn glued image records into ordinary image outputs that Jupyter draws.

    The output keeps its glue name (``metadata.scrapbook``), so the website
    can still place it; ``metadata.hwr.glued_figure`` marks it for
    :func:`website_notebook`. Returns how many outputs changed.
    """
    n = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {})
            book = meta.get("scrapbook", {})
            if book.get("mime_prefix") != GLUE_PREFIX:
                continue
            mimes = [k[len(GLUE_PREFIX):] for k in out.get("data", {})]
            if not any(m.startswith("image/") for m in mimes):
                continue
            out["data"] = {k[len(GLUE_PREFIX):]: v for k, v in out["data"].items()}
            book["mime_prefix"] = ""
            meta.setdefault("hwr", {})["glued_figure"] = True
            n += 1
    return n


def hide_figures(nb) -> None:
    """Undo :func:`show_figures`: the website shows a glued figure once, where
    its ``{glue:figure}`` directive puts it with its caption."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {})
            if meta.get("hwr", {}).get("glued_figure"):
                out["data"] = {GLUE_PREFIX + k: v for k, v in out["data"].items()}
                meta["scrapbook"]["mime_prefix"] = GLUE_PREFIX


def strip_machine_paths(nb, source: str, output: str, root: str) -> None:
    """Repository-relative paths in the metadata, and none of the machine's
    folders in text outputs (``root`` is the repository's absolute path)."""
    pm = nb.metadata.setdefault("papermill", {})
    pm["input_path"], pm["output_path"] = source, output
    pm["environment_variables"] = {}
    prefix = root.rstrip("/") + "/"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                out["text"] = out["text"].replace(prefix, "")
            elif "text/plain" in out.get("data", {}):
                text = out["data"]["text/plain"]
                if isinstance(text, str):
                    out["data"]["text/plain"] = text.replace(prefix, "")


def reader_notebook(nb, params: dict[str, Any], source: str, output: str, root: str):
    """All three fixes, in place; returns ``nb``."""
    merge_parameters(nb, params)
    show_figures(nb)
    strip_machine_paths(nb, source, output, root)
    return nb


def website_notebook(nb):
    """The reader's notebook as the website renders it (figures as glue records,
    the parameters cell folded); returns ``nb``, changed in place."""
    hide_figures(nb)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "parameters" in tags and "hide-input" not in tags:
            tags.append("hide-input")
    return nb
