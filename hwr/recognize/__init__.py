"""Transcribe a reader's own line images with a trained model.

:mod:`.core` reads, checks and recognises one image at a time and draws
attention figures; :mod:`.cli` is the ``hwr recognize`` command.
"""

from hwr.recognize.core import (ImageError, Recognition, attention_figure, check_width, format_confidences,
                                frame_centres, read_line_image, recognize_image)

__all__ = ["ImageError", "Recognition", "attention_figure", "check_width", "format_confidences",
           "frame_centres", "read_line_image", "recognize_image"]
