"""Boxes-and-arrows drawings of the model families, generated from the registry.

Each box is a stage of a *built* model: its label comes from the experiment's
:class:`~hwr.models.registry.ModelConfig`, its output shape is written in axis
letters, and its parameter count is summed from the built module, so the
drawing cannot drift from the code. Used by ``book/ch02_models``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .backbone import min_input_width, pool_schedule, width_divisor

#: box colour per kind of stage
COLOURS = {
    "input": "#f0f0f0", "conv": "#cfe2f3", "gate": "#d9ead3", "rnn": "#fce5cd",
    "pe": "#ead1dc", "attn": "#fff2cc", "out": "#f4cccc",
}

#: the four families drawn by :func:`draw_families`, with panel titles
FAMILIES = {
    "seq2seq_in": "seq2seq baseline: ConvNet6 + BiLSTM encoder + attention decoder",
    "gate_1": "seq2seq-light: positional encoding and gate blocks replace the encoder",
    "attn2d_h8": "2D attention: the backbone keeps H' rows, the decoder attends over H' x W'",
    "ctc_baseline": "CTC baseline: ConvNet6 + BiLSTM + per-frame classifier",
}


@dataclass
class Stage:
    """One box: title, detail lines, output shape (axis letters), parameters, colour kind."""

    title: str
    detail: str
    shape: str
    params: int | None
    kind: str


def _count(*modules) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def stages(name: str) -> list[Stage]:
    """The stages of registry experiment ``name``, left to right."""
    from .registry import build

    model = build(name)
    cfg = model.config
    h0, c = cfg.input_height, cfg.backbone_out
    hp = cfg.expand_h
    div = math.prod(width_divisor(h0, hp))
    w = f"W/{div}"
    norm = "IN" if cfg.norm == "in" else "BN"
    conv = f"DSC k={cfg.dsc}" if cfg.dsc else "conv"
    feats = list(model.features)
    pools = pool_schedule(h0, hp)
    dropped = [str(i + 1) for i, p in enumerate(pools) if p is None]
    pool_note = f"\nno pool in block {', '.join(dropped)}" if dropped else ""
    out = [
        Stage("line image", f"grey, height {h0}\nwidth >= {min_input_width(cfg)}", f"B x 1 x {h0} x W", None, "input"),
        Stage("ConvNet6", f"6 x ({conv}, {norm}, ReLU, pool)\ndropout {cfg.dropout}{pool_note}",
              f"B x {c} x {hp} x {w}", _count(feats[0]), "conv"),
    ]
    if cfg.family == "ctc":
        out += [
            Stage("BiLSTM", f"{cfg.ctc_hidden} per direction", f"B x {2 * cfg.ctc_hidden} x {w}",
                  _count(feats[2]), "rnn"),
            Stage("classifier", f"dropout {cfg.ctc_dropout}\n1x1 conv, log-softmax", f"B x {w} x 81",
                  _count(feats[4]), "out"),
            Stage("CTC", "loss: blank 0\ndecode: beam 10", "text", None, "out"),
        ]
        return out
    if cfg.gates:
        shrink = cfg.gates * (cfg.gate_width - 1)
        w = f"{w} - {shrink}"
        out.append(Stage(f"gate block x {cfg.gates}", f"DSC 1x{cfg.gate_width}, no padding\nIN(tanh) * IN(sigmoid)",
                         f"B x {c} x {hp} x ({w})", _count(*feats[1:1 + cfg.gates]), "gate"))
    if cfg.encoder_hidden:
        out.append(Stage("BiLSTM encoder", f"{cfg.encoder_hidden} per direction", f"B x {2 * cfg.encoder_hidden} x {w}",
                         _count(feats[-2]), "rnn"))
    if cfg.posenc != "none":
        what = "sin/cos of x and y" if cfg.posenc == "2d" else "even cos, odd sin"
        out.append(Stage(f"+ {cfg.posenc.upper()} positions", f"fixed sinusoids\n{what}", "same", 0, "pe"))
    n = f"{hp} x ({w})" if hp > 1 else w
    dec = model.decoder
    out += [
        Stage("attention decoder",
              f"Bahdanau, A = {cfg.attention}\n{cfg.cell.upper()} {cfg.hidden}, embedding {cfg.embedding}\n"
              f"attends over N = {n}", f"B x S x {cfg.hidden}", _count(dec) - _count(dec.out), "attn"),
        Stage("output", "linear, log-softmax\nS <= 98 steps or EOS", "B x S x 81", _count(dec.out), "out"),
    ]
    return out


def draw_pipeline(ax, name: str, title: str | None = None, slots: int | None = None) -> None:
    """Draw experiment ``name`` as a left-to-right chain of boxes on ``ax``.

    ``slots`` fixes the number of box positions so that panels line up.
    """
    items = stages(name)
    ax.set_xlim(0, max(slots or 0, len(items)))
    ax.set_ylim(-0.15, 1.25)
    ax.axis("off")
    centres = []
    for i, st in enumerate(items):
        x0 = i + 0.06
        box = FancyBboxPatch((x0, 0.18), 0.88, 0.72, boxstyle="round,pad=0.0,rounding_size=0.05",
                             fc=COLOURS[st.kind], ec="#444444", lw=1.0)
        ax.add_patch(box)
        ax.text(i + 0.5, 0.80, st.title, ha="center", va="center", fontsize=8.5, weight="bold")
        ax.text(i + 0.5, 0.52, st.detail, ha="center", va="center", fontsize=7, linespacing=1.3)
        if st.params:
            ax.text(i + 0.5, 0.25, f"{st.params:,} params", ha="center", va="center", fontsize=7, color="#1f4e79")
        ax.text(i + 0.5, 0.06, st.shape, ha="center", va="center", fontsize=7, family="monospace", color="#555555")
        centres.append(i + 0.5)
    for a, b in zip(centres[:-1], centres[1:]):
        ax.add_patch(FancyArrowPatch((a + 0.44, 0.54), (b - 0.44, 0.54), arrowstyle="-|>", mutation_scale=10, lw=1.0))
    if items[-1].title == "output":  # the decoder feeds its previous symbol back
        a, b = centres[-1], centres[-2] + 0.15
        ax.plot([a, a, b], [0.90, 1.04, 1.04], color="#7f6000", lw=1.0)
        ax.add_patch(FancyArrowPatch((b, 1.04), (b, 0.90), arrowstyle="-|>", mutation_scale=10, lw=1.0,
                                     color="#7f6000", shrinkA=0, shrinkB=0))
        ax.text((a + b) / 2, 1.07, "previous symbol y(t-1)", ha="center", va="bottom", fontsize=7, color="#7f6000")
    if title:
        ax.set_title(title, fontsize=10, loc="left")


def draw_families(families: dict[str, str] | None = None, width: float = 13.0):
    """One figure, one panel per model family (default :data:`FAMILIES`).

    Returns a :class:`matplotlib.figure.Figure` already closed in pyplot, so
    a notebook shows it only where it is displayed or glued, not twice.
    """
    families = families or FAMILIES
    fig, axes = plt.subplots(len(families), 1, figsize=(width, 2.1 * len(families)))
    slots = max(len(stages(name)) for name in families)
    for ax, (name, title) in zip(axes if len(families) > 1 else [axes], families.items()):
        draw_pipeline(ax, name, f"{title}  [{name}]", slots)
    fig.tight_layout()
    plt.close(fig)
    return fig
