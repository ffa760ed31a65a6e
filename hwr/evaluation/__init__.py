"""Score a model on a line dataset: CER, WER, the thesis's legacy CER.

:mod:`.core` holds the one evaluation loop (:func:`evaluate`), the checks on
skipped lines and the prediction files; :mod:`.cli` is the ``hwr eval`` command.
"""

from hwr.evaluation.core import (MAX_SKIPPED, PREDICTION_FIELDS, check_skipped, dataset_skipped, evaluate,
                                 format_metrics, read_predictions, write_predictions)

__all__ = ["MAX_SKIPPED", "PREDICTION_FIELDS", "check_skipped", "dataset_skipped", "evaluate", "format_metrics",
           "read_predictions", "write_predictions"]
