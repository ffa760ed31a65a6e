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
from matplotlib.patches import FancyBboxPatch

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


def _lines(text: str) -> int:
    return text.count("\n") + 1 if text else 0


#: vertical sizes in inches: one text line, box padding, the arrow between boxes
LINE, PAD, GAP = 0.2, 0.12, 0.42


def _height(items: list[Stage]) -> float:
    return sum(LINE * (1 + _lines(st.detail) + bool(st.params)) + 2 * PAD for st in items) + GAP * (len(items) - 1)


def draw_pipeline(ax, name: str, title: str | None = None, height: float | None = None) -> None:
    """Draw experiment ``name`` on ``ax`` as a top-to-bottom chain of boxes,
    each arrow labelled with the tensor shape that flows along it.

    Coordinates are inches from the top (``height`` fixes the panel's height
    so that panels side by side share a scale).
    """
    items = stages(name)
    total = height or _height(items)
    ax.set_xlim(0, 1)
    ax.set_ylim(total, 0)
    ax.axis("off")
    y = 0.0
    middles = []
    for i, st in enumerate(items):
        h = LINE * (1 + _lines(st.detail) + bool(st.params)) + 2 * PAD
        ax.add_patch(FancyBboxPatch((0.03, y), 0.9, h, boxstyle="round,pad=0.0,rounding_size=0.03",
                                    fc=COLOURS[st.kind], ec="#444444", lw=1.0))
        ax.text(0.48, y + PAD + LINE / 2, st.title, ha="center", va="center", fontsize=12, weight="bold")
        if st.detail:
            ax.text(0.48, y + PAD + LINE * (1 + _lines(st.detail) / 2), st.detail, ha="center", va="center",
                    fontsize=10.5, linespacing=1.25)
        if st.params:
            ax.text(0.48, y + h - PAD - LINE / 2, f"{st.params:,} parameters", ha="center", va="center",
                    fontsize=10.5, color="#1f4e79")
        middles.append(y + h / 2)
        y += h
        if i < len(items) - 1:
            ax.annotate("", xy=(0.3, y + GAP), xytext=(0.3, y),
                        arrowprops=dict(arrowstyle="-|>", lw=1.2, color="#444444", shrinkA=0, shrinkB=0))
            ax.text(0.34, y + GAP / 2, st.shape, ha="left", va="center", fontsize=10, family="monospace",
                    color="#444444")
            y += GAP
    if items[-1].title == "output":  # the decoder feeds its previous symbol back
        ax.annotate("", xy=(0.97, middles[-2]), xytext=(0.97, middles[-1]), arrowprops=dict(
            arrowstyle="-|>", color="#7f6000", lw=1.2, shrinkA=0, shrinkB=0,
            connectionstyle="arc,angleA=0,angleB=0,armA=14,armB=14,rad=6"))
        ax.text(0.99, (middles[-1] + middles[-2]) / 2, "y(t-1)", ha="left", va="center", fontsize=10,
                color="#7f6000", rotation=90)
    if title:
        ax.set_title(title, fontsize=12, loc="left")


def draw_family(name: str, width: float = 3.6):
    """One family as its own figure, narrow enough to stay legible on a phone."""
    items = stages(name)
    fig, ax = plt.subplots(figsize=(width, _height(items) + 0.1))
    fig.subplots_adjust(0, 0, 1, 1)
    draw_pipeline(ax, name)
    plt.close(fig)
    return fig


def draw_families(families: dict[str, str] | None = None, width: float = 3.4):
    """One figure, one column per model family (default :data:`FAMILIES`),
    titled with the family's name.

    Returns a :class:`matplotlib.figure.Figure` already closed in pyplot, so
    a notebook shows it only where it is displayed or glued, not twice.
    """
    families = families or FAMILIES
    height = max(_height(stages(name)) for name in families)
    fig, axes = plt.subplots(1, len(families), figsize=(width * len(families), height + 0.5), squeeze=False)
    for ax, (name, title) in zip(axes[0], families.items()):
        draw_pipeline(ax, name, name, height)
    fig.tight_layout()
    plt.close(fig)
    return fig
