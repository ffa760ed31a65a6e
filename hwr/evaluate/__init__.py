"""Score a model on a line dataset: CER, WER, the thesis's legacy CER.

:mod:`.core` holds the one evaluation loop (:func:`evaluate`) and the
prediction files; :mod:`.cli` is the ``hwr eval`` command.
"""

from hwr.evaluate.core import PREDICTION_FIELDS, evaluate, format_metrics, read_predictions, write_predictions

__all__ = ["PREDICTION_FIELDS", "evaluate", "format_metrics", "read_predictions", "write_predictions"]
