"""The geometry of a prepared line, known without decoding its image.

:func:`hwr.preprocess.prepare` pads a line and scales it to the model's
height; the width it will have follows from the raw size alone, so dataset
statistics and width-bucketed batches can be computed from image headers.
These constants live here, below :mod:`hwr.preprocess`, because the
datasets need them and the preprocessing builds on the datasets.
"""

from __future__ import annotations

PAD_TOP_BOTTOM = 16
PAD_LEFT_RIGHT = 32
# fixed evaluation widths per input height (32: not a thesis setting, the 64 width halved)
THESIS_EVAL_WIDTH = {64: 1408, 128: 3225, 32: 704}


def prepared_width(h: int, w: int, height: int = 64) -> int:
    """Width of a raw ``h x w`` line after :func:`hwr.preprocess.prepare`, without decoding it."""
    hp, wp = h + 2 * PAD_TOP_BOTTOM, w + 2 * PAD_LEFT_RIGHT
    return max(1, int(round(wp * height / hp)))
