"""The book's best models, shipped with it so that a fresh clone can read a line without training.

A shipped model is a folder ``models/<name>/`` (committed) holding

- ``model.pt``: a slim checkpoint (weights and the architecture that rebuilds them, no optimizer), and
- ``record.json``: where it came from (run id, experiment, parameters, test CER of the run's
  ``test.json``, data, commit) and the SHA-256 of ``model.pt``, verified on every load;

and ``models/aliases.json`` names the roles the book gives them (``best-ctc``, ``best-attention``),
each pointing at a shipped model.

:mod:`.store` ships a finished training run and loads a shipped model by name (``hwr recognize
--model best-ctc``); :mod:`.onnx_export` exports a shipped model to ONNX for the book's page
"Read a line" (:mod:`.web` stages it); :mod:`.lines` picks the test lines shipped beside the models;
:mod:`.cli` is the ``hwr ship`` command.
"""

from hwr.ship.store import (ShippedModel, aliases, load_shipped, read_record, resolve, set_alias, ship_run,
                            shipped_dir, shipped_names, verify_checksum)

__all__ = ["ShippedModel", "aliases", "load_shipped", "read_record", "resolve", "set_alias", "ship_run",
           "shipped_dir", "shipped_names", "verify_checksum"]
