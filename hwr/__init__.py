"""hwr: segmentation-free handwritten text-line recognition.

The package behind the executable thesis in ``book/``. In a notebook::

    import hwr
    run = hwr.train("gate_1", data="synth:smoke", lines=2000)
    hwr.plots.learning_curves([run, hwr.load_run("ctc_baseline-s0-c2fc032b99")])

``hwr.train``, ``hwr.load_run``, ``hwr.study``, ``hwr.list_models``,
``hwr.Run`` (:mod:`hwr.api`) and ``hwr.plots`` are imported on first use, so
``import hwr`` stays instant and ``hwr --help`` does not load torch.

Packages and modules, one job each:

- :mod:`hwr.api`         the front door above
- :mod:`hwr.profile`     a profile (smoke, book, full) read once from ``configs/``
- :mod:`hwr.paths`       where things live, anchored at the repository root
- :mod:`hwr.errors`      the one exception family a person can act on
- :mod:`hwr.files`       atomic writes, JSON and YAML that refuse to be misread
- :mod:`hwr.provenance`  commit, versions and hardware for every record
- :mod:`hwr.codec`       the 81-symbol alphabet, text <-> label sequences
- :mod:`hwr.metrics`     CER, WER, the thesis's legacy CER, degenerate outputs
- :mod:`hwr.stats`       intervals over seeds, writers and lines; verdicts
- :mod:`hwr.thesis`      the thesis's claims; :mod:`hwr.seeds` the seed projects'
- :mod:`hwr.segmentation`  attention against character boxes; :mod:`hwr.confusions` character confusions
- :mod:`hwr.preprocess`  the thesis preprocessing, batching and width buckets
- :mod:`hwr.datasets`    one loader interface for synthetic and real line datasets
- :mod:`hwr.synth`       the offline synthetic handwriting-line generator
- :mod:`hwr.models`      the thesis and seed models, built from torchmore flex layers
- :mod:`hwr.training`    the training engine: budgets, schedules, checkpoints, resuming
- :mod:`hwr.decode`      greedy, beam and attention decoding
- :mod:`hwr.evaluation`  scoring a model on a split
- :mod:`hwr.recognize`   transcribing your own line images
- :mod:`hwr.runs`        the run store, studies, records that check themselves
- :mod:`hwr.bench`       speed, memory and recipe measurements
- :mod:`hwr.plots`       the figures every chapter shares
- :mod:`hwr.peers`       kraken and Tesseract on the book's task
- :mod:`hwr.book`        the executable book: chapter runner, provenance, website
- :mod:`hwr.cli`         the ``hwr`` command (:mod:`hwr.cli_types`: its argument types);
  :mod:`hwr.device`      CPU or GPU, and what a run records of it

Imports point one way: no folder imports a folder that imports it back
(``tests/test_imports.py``); ``hwr.api`` and the ``cli`` modules sit on top.
"""

__version__ = "0.1.0"

#: name -> module holding it, imported on first use (PEP 562)
_LAZY = {"train": "hwr.api", "load_run": "hwr.api", "study": "hwr.api", "list_models": "hwr.api",
         "Run": "hwr.api", "plots": None}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'hwr' has no attribute {name!r}")
    import importlib

    if _LAZY[name] is None:  # a subpackage
        return importlib.import_module(f"hwr.{name}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value
