"""hwr: segmentation-free handwritten text-line recognition.

The package behind the executable thesis in ``book/``. Modules, one job each:

- :mod:`hwr.paths`      where things live, anchored at the repository root
- :mod:`hwr.codec`      the 81-symbol alphabet, text <-> label sequences
- :mod:`hwr.metrics`    CER, WER and the thesis's legacy CER
- :mod:`hwr.preprocess` the thesis preprocessing, batching and width buckets
- :mod:`hwr.datasets`   one loader interface for synthetic and real line datasets
- :mod:`hwr.synth`      the offline synthetic handwriting-line generator
- :mod:`hwr.models`     the thesis models, built from torchmore flex layers
- :mod:`hwr.book`       the executable book: chapter runner, provenance, website
- :mod:`hwr.cli`        the ``hwr`` command
"""

__version__ = "0.1.0"
