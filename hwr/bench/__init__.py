"""Speed measurements: ``hwr bench train`` (training lines/s, optimised
against a straightforward loop, :mod:`hwr.bench.train`) and ``hwr bench
latency`` (inference timing, :mod:`hwr.bench.latency`). :mod:`hwr.bench.cli`
dispatches between them.
"""
