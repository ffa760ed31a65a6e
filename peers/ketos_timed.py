"""`ketos` with a wall-clock budget and a machine-readable training log.

Usage (with the kraken venv's Python): ``PEERS_MAX_SECONDS=600 python peers/ketos_timed.py KETOS-ARGS...``

``ketos train`` stops on epochs or on early stopping, never on time, and its
progress shows as a rich progress bar that is awkward to parse. This wrapper
changes neither the model nor the training: it runs ketos' own command line
after giving kraken's trainer two things through Lightning's public options:

- ``max_time``: Lightning's Timer stops training once ``PEERS_MAX_SECONDS``
  have passed since training started (data loading and imports before it are
  not counted). A stop requested this way runs one last validation, so ketos
  still has a scored checkpoint to convert into ``best_<accuracy>.safetensors``.
- a callback printing one ``PEERS {json}`` line per event on stdout: the
  parameter count at the start, after each validation the lines trained so
  far, the seconds since training started and the validation CER and WER
  (one minus ketos' ``val_accuracy`` and ``val_word_accuracy``), and the
  totals at the end. ``hwr.peers.logs.ketos_curve`` reads them back.

It runs inside the kraken venv (``.venv-kraken``), so it imports nothing from hwr.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time

MARK = "PEERS "


def emit(event: str, **values) -> None:
    print(MARK + json.dumps({"event": event, **values}), flush=True)


def progress_callback():
    from lightning.pytorch.callbacks import Callback

    class Progress(Callback):
        """Counts training lines and reports every validation with its time."""

        def __init__(self):
            self.lines = 0
            self.started = None

        def elapsed(self) -> float:
            return time.perf_counter() - self.started if self.started is not None else 0.0

        def on_train_start(self, trainer, module):
            self.started = time.perf_counter()
            emit("start", parameters=sum(p.numel() for p in module.parameters()),
                 trainable=sum(p.numel() for p in module.parameters() if p.requires_grad))

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            self.lines += int(batch["image"].shape[0])

        def on_validation_end(self, trainer, module):
            if trainer.sanity_checking:
                return
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val_")}
            emit("validation", seconds=round(self.elapsed(), 3), lines=self.lines, epoch=trainer.current_epoch,
                 val_cer=1.0 - metrics["val_accuracy"] if "val_accuracy" in metrics else None,
                 val_wer=1.0 - metrics["val_word_accuracy"] if "val_word_accuracy" in metrics else None)

        def on_train_end(self, trainer, module):
            emit("end", seconds=round(self.elapsed(), 3), lines=self.lines, epochs=trainer.current_epoch)

    return Progress()


def install(max_seconds: float | None) -> None:
    """Replace kraken's trainer class by one with the budget and the callback.

    ``ketos train`` imports ``KrakenTrainer`` from ``kraken.train`` inside the
    command, so patching the module attribute before the command runs is enough.
    """
    import kraken.train

    base = kraken.train.KrakenTrainer

    class BudgetedTrainer(base):
        def __init__(self, *args, **kwargs):
            if max_seconds:
                kwargs["max_time"] = datetime.timedelta(seconds=max_seconds)
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), progress_callback()]
            super().__init__(*args, **kwargs)

    kraken.train.KrakenTrainer = BudgetedTrainer


def main() -> None:
    seconds = os.environ.get("PEERS_MAX_SECONDS")
    install(float(seconds) if seconds else None)
    from kraken.ketos import cli

    sys.argv[0] = "ketos"
    cli()


if __name__ == "__main__":
    main()
