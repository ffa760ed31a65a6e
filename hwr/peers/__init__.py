"""Peers side by side: kraken and Tesseract trained and scored on the book's data (appendix "Peers").

Modules, one job each:

- :mod:`~hwr.peers.compare`: the driver (``python -m hwr.peers``, ``bash peers/compare.sh``);
- :mod:`~hwr.peers.setup`: the shared conditions (data, budget, threads);
- :mod:`~hwr.peers.kraken`, :mod:`~hwr.peers.tesseract`, :mod:`~hwr.peers.book`: each system's
  training and recognition commands;
- :mod:`~hwr.peers.choose`: the book's best CTC and seq2seq models, read off the run store;
- :mod:`~hwr.peers.process`: running a tool with a budget and a timed log;
- :mod:`~hwr.peers.logs`: training logs into learning curves;
- :mod:`~hwr.peers.boxes`: Tesseract line boxes (standard library only, also a script);
- :mod:`~hwr.peers.outputs`: the tools' outputs read back and scored with :mod:`hwr.metrics`;
- :mod:`~hwr.peers.records`: the records in ``results/peers/<profile>/`` and the appendix's tables.

Nothing here imports kraken or calls a tool at import time: the appendix reads the
committed records on machines that have neither tool.
"""
