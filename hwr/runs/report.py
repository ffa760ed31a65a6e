"""The chapters' reading of the run store: one namespace, its parts by topic.

Everything here reads records (:class:`~hwr.runs.store.RunRecord`) or task
declarations and returns a pandas DataFrame or a small value; the chapters
turn them into tables (:class:`hwr.book.tables.Table`) and figures
(:mod:`hwr.plots.runs`). Nothing here trains. A chapter writes
``report.thesis_frame(records)``; the functions live in:

- :mod:`hwr.runs.text`                numbers and names as the prose prints them
- :mod:`hwr.runs.verdicts`            run summaries, the thesis table, claims judged with their intervals
- :mod:`hwr.runs.costs`               training time, machines, speed, latency and size tables
- :mod:`hwr.runs.attention_segments`  do attention maps segment characters?
- :mod:`hwr.runs.candidates`          book-task candidates and the task tables (chapter 3)
- :mod:`hwr.runs.curves`              records grouped by label, and their learning curves
- here: a study's setup, and decoded lines.
"""

from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd

from hwr.metrics import edit_distance
from hwr.models.registry import MODELS, build, state_count
from hwr.runs.attention_segments import (attention_family, segmentation_frame, segmentation_verdict,  # noqa: F401
                                         segmentation_verdicts, vertical_frame)
from hwr.runs.candidates import (THESIS_CONDITIONS, candidate_curves, candidate_frame, candidate_specs,  # noqa: F401
                                 criterion_summary, criterion_text, departures, reference_run, rerun_commands,
                                 task_name, tasks_frame)
from hwr.runs.costs import (cost_frame, cpu_name, hardware, latency_table, machine_speeds,  # noqa: F401
                            seconds_total, speed_frame)
from hwr.runs.curves import by_label, curves_frame  # noqa: F401
from hwr.runs.latency import latency_answers, latency_verdict  # noqa: F401
from hwr.runs.store import RunRecord
from hwr.runs.text import change_text, code_names, mean_sd_text, percent, percent_text, points  # noqa: F401
from hwr.runs.verdicts import (answer, answers_frame, claim_verdict, decoder_verdict, mean_val_cer,  # noqa: F401
                               prediction_rows, repeated_characters, seed_paired_verdict, seed_verdict_frame,
                               summary_frame, test_writers, thesis_frame, verdict_frame, verdict_values)


def study_setup(study) -> pd.DataFrame:
    """The declared runs of a study: one row per model and variant.

    Columns: model, variant, family, state count (at the task's input height:
    the thesis's count, which does not depend on it), seeds, budget (minutes).
    """
    rows = {}
    for spec in study.runs:
        key = (spec.experiment, spec.variant)
        if key not in rows:
            rows[key] = {"model": spec.experiment, "variant": spec.variant or "-",
                         "family": MODELS[spec.experiment].family,
                         "state count": state_count(build(spec.experiment, **spec.overrides)),
                         "seeds": [], "minutes": spec.train.get("minutes")}
        rows[key]["seeds"].append(spec.seed)
    frame = pd.DataFrame(list(rows.values()))
    frame["seeds"] = frame["seeds"].map(lambda s: ", ".join(map(str, s)))
    if (frame["variant"] == "-").all():
        frame = frame.drop(columns="variant")
    return frame.set_index("model")


def decoded_rows(lines_table: Sequence[dict], hypothesis: str) -> list[dict]:
    """Per-line rows (id, reference, hypothesis, distance) of one decoder's
    output in an analysis's ``lines_table`` (what :mod:`hwr.stats` compares)."""
    return [{"id": str(r["id"]), "reference": r["reference"], "hypothesis": r[hypothesis],
             "distance": edit_distance(r["reference"], r[hypothesis])} for r in lines_table]
