"""Point labels that never overprint each other.

Scatter plots name some of their points. Two points close together would
have their names drawn one over the other at the same offset, so each label
tries a few offsets around its point, in order, and takes the first whose
box overlaps no label placed before it (the last one tried when none is
free).
"""

from __future__ import annotations

from typing import Sequence

#: offsets in points (dx, dy) tried in order: right-above, right-below, then further out, then left
OFFSETS = ((6, 5), (6, -13), (6, 17), (6, -25), (6, 29), (-6, 5), (-6, -13))


def place_labels(ax, xs: Sequence[float], ys: Sequence[float], texts: Sequence[str], fontsize: float = 11) -> list:
    """Annotate ``ax`` with ``texts`` at the data points ``(xs, ys)``, each at the first offset of
    :data:`OFFSETS` whose box overlaps no label already placed.

    Returns:
        the annotations, in the order given.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    placed, boxes = [], []
    for x, y, text in sorted(zip(xs, ys, texts), key=lambda p: (p[0], -p[1])):
        for dx, dy in OFFSETS:
            note = ax.annotate(str(text), (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                               ha="left" if dx > 0 else "right")
            box = note.get_window_extent(renderer).expanded(1.02, 1.1)
            if not any(box.overlaps(b) for b in boxes) or (dx, dy) == OFFSETS[-1]:
                break
            note.remove()
        placed.append(note)
        boxes.append(box)
    order = {t: i for i, t in enumerate(texts)}
    return sorted(placed, key=lambda n: order.get(n.get_text(), 0))


def fit(text: str, width_in: float, fontsize: float) -> str:
    """``text`` cut with an ellipsis to fit ``width_in`` inches at ``fontsize`` points.

    A title wider than its axes does not wrap: it runs past the figure, and a figure saved with a tight
    bounding box then widens to hold it, which shrinks everything else in it when the page scales it to
    the column (an untrained model's rambling output as a title once drew a whole figure's text at 5 px
    on a phone). Characters are taken as 0.6 em wide on average, generous for DejaVu Sans.
    """
    limit = max(4, int(width_in * 72 / (0.6 * fontsize)))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
