"""Tables about the registry: thesis counts against ours, per-component budgets.

Used by ``hwr experiments`` (:mod:`hwr.models.cli`) and ``book/ch02_models``.
"""

from __future__ import annotations

import torch

from .registry import EXPERIMENTS, SEED_MODELS, build, state_count, trainable_count


def parameter_rows(names: list[str] | None = None) -> list[dict]:
    """One dict per experiment, in registry order.

    Keys: name, thesis_id, family, description, state_count, trainable,
    thesis_state_count, match, thesis_cer.
    """
    names = list(names or EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise KeyError(f"hwr.models.report: unknown experiment(s) {unknown}; known: {', '.join(EXPERIMENTS)}")
    rows = []
    for name in names:
        exp = EXPERIMENTS[name]
        model = build(name)
        count = state_count(model)
        rows.append({
            "name": name,
            "thesis_id": exp.thesis_id,
            "family": exp.family,
            "description": exp.description,
            "state_count": count,
            "trainable": trainable_count(model),
            "thesis_state_count": exp.thesis_state_count,
            "match": count == exp.thesis_state_count,
            "thesis_cer": exp.thesis_cer,
        })
    return rows


def parameter_frame(names: list[str] | None = None):
    """:func:`parameter_rows` as a pandas DataFrame indexed by experiment, for the book."""
    import pandas as pd

    rows = parameter_rows(names)
    frame = pd.DataFrame(rows).set_index("name")
    frame = frame[["thesis_id", "description", "thesis_state_count", "state_count", "match", "trainable", "thesis_cer"]]
    return frame.rename(columns={
        "thesis_id": "thesis run", "thesis_state_count": "thesis count", "state_count": "our count",
        "trainable": "trainable", "thesis_cer": "thesis CER %",
    })


def seed_parameter_frame():
    """The other seed projects' models (:data:`~hwr.models.registry.SEED_MODELS`), one row each:
    the seed, its description, the state count (the thesis's convention) and trainable parameters."""
    import pandas as pd

    rows = []
    for name, exp in SEED_MODELS.items():
        model = build(name)
        rows.append({"model": name, "seed": exp.source, "description": exp.description,
                     "state count": state_count(model), "trainable": trainable_count(model)})
    return pd.DataFrame(rows).set_index("model")


def components(name: str) -> dict[str, int]:
    """State numbers per component of a built experiment (thesis convention).

    Keys (those present): backbone, backbone statistics (BatchNorm running
    stats), gates, encoder, embedding, attention, cell, output (seq2seq) or
    sequence, classifier (CTC).
    """
    model = build(name)
    cfg = model.config
    feats = list(model.features)
    out: dict[str, int] = {}

    def n_params(*mods):
        return sum(p.numel() for m in mods for p in m.parameters())

    def n_buffers(*mods):
        return sum(b.numel() for m in mods for b in m.buffers())

    out["backbone"] = n_params(feats[0])
    if n_buffers(feats[0]):
        out["backbone statistics"] = n_buffers(feats[0])
    if cfg.family == "ctc":
        out["sequence"] = n_params(feats[2])
        out["classifier"] = n_params(feats[4])
        return out
    if cfg.gates:
        out["gates"] = n_params(*feats[1:1 + cfg.gates])
    if cfg.encoder_hidden:
        out["encoder"] = n_params(*feats[1 + cfg.gates:])
    dec = model.decoder
    out["embedding"] = n_params(dec.embed)
    out["attention"] = n_params(dec.key, dec.query, dec.score)
    out["cell"] = n_params(dec.cell)
    out["output"] = n_params(dec.out)
    assert sum(out.values()) == state_count(model), name
    return out


def positions_frame(names: list[str], width: int | None = None):
    """:func:`feature_positions` of several experiments as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame({name: feature_positions(name, width) for name in names}).T


def feature_positions(name: str, width: int | None = None) -> dict[str, int]:
    """Memory size the decoder attends over for a line of ``width`` pixels.

    Defaults to the thesis's evaluation widths (1408; 3225 at height 128).
    Returns {"width", "height", "columns", "positions"} (positions = H' x W').
    """
    model = build(name)
    width = width or (3225 if model.input_height == 128 else 1408)
    columns = int(model.output_width(torch.tensor([width]))[0])
    height = getattr(model, "output_height", 1)
    return {"width": width, "height": height, "columns": columns, "positions": height * columns}


def components_frame(parts: dict[str, dict[str, int]]):
    """Per-component counts of several experiments side by side (pandas, 0 = absent)."""
    import pandas as pd

    order = ["backbone", "backbone statistics", "gates", "encoder", "embedding", "attention", "cell", "output",
             "sequence", "classifier"]
    frame = pd.DataFrame(parts).fillna(0).astype(int)
    frame = frame.reindex([k for k in order if k in frame.index] + [k for k in frame.index if k not in order])
    frame.loc["total"] = frame.sum()
    return frame
