"""The executable book: run chapters with a parameter profile, then render them.

- :mod:`hwr.book.chapters`  find chapters, read their declared parameters, merge profiles
- :mod:`hwr.book.execute`   execute one chapter with papermill, keep its record (``run.json``)
- :mod:`hwr.book.notebook`  turn an executed notebook into the one a reader downloads
- :mod:`hwr.book.site`      stage the executed notebooks with their boxes and build the website
- :mod:`hwr.book.page`      helpers a chapter calls: quiet pages, the run's log, tables
- :mod:`hwr.book.cli`       the ``hwr run`` command

A chapter is a jupytext percent-format ``book/chNN_slug.py``.
"""

from hwr.errors import RunnerError

__all__ = ["RunnerError"]
