"""The notebook front door (hwr.api, exported by ``import hwr``): train, load, evaluate, plot."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from data_fixtures import write_gt_txt  # noqa: E402
from hwr.errors import CheckpointError, HwrError  # noqa: E402
from hwr.paths import ROOT  # noqa: E402

TINY = dict(ctc_hidden=16, input_height=64)
COMMITTED = "gate_1-s0-42d598a5bd"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return str(write_gt_txt(tmp_path_factory.mktemp("api-data")))


def test_the_three_line_snippet(dataset, tmp_path):
    import hwr

    run = hwr.train("ctc_baseline", data=dataset, lines=8, overrides=TINY, batch_size=2, store=tmp_path)
    fig = hwr.plots.learning_curves([run, hwr.load_run(COMMITTED)], axes=("lines",))
    # 8 lines at batch 2 are 4 optimiser steps (the 3-line training split ends a pass with a batch of 1)
    assert isinstance(run, hwr.Run) and run.history["steps"].iloc[-1] == 4 and run.test["lines"] == 2
    legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "ctc_baseline" in legend and "gate_1" in legend


def test_a_run_trained_by_hand_is_a_store_run(dataset, tmp_path):
    import hwr
    from hwr.runs.store import RunStore

    run = hwr.train("ctc_baseline", data=dataset, lines=8, overrides=TINY, batch_size=2, store=tmp_path)
    assert RunStore(tmp_path).status(run.spec) == "done" and (run.folder / "manifest.json").exists()
    again = hwr.train("ctc_baseline", data=dataset, lines=8, overrides=TINY, batch_size=2, store=tmp_path)
    assert again.folder == run.folder and again.test == run.test  # found, not trained again
    assert hwr.load_run(run.folder).run_id == run.run_id
    metrics = run.evaluate("valid")
    assert metrics["lines"] > 0 and 0 <= metrics["cer"]
    assert isinstance(run.recognize(np.full((40, 120), 255, np.uint8)), str)


def test_a_committed_run_loads_by_id_with_records_but_no_model():
    import hwr

    run = hwr.load_run(COMMITTED)
    assert run.folder == ROOT / "results" / "book" / "runs" / COMMITTED and run.test["lines"] == 800
    with pytest.raises(CheckpointError, match="no checkpoints here"):
        run.model
    with pytest.raises(HwrError, match="no run 'nope'"):
        hwr.load_run("nope")


def test_models_and_studies_are_listed():
    import hwr

    models = hwr.list_models()
    assert {"gate_1", "ctc_baseline", "crnn"} <= set(models["model"])
    assert set(models.loc[models["model"] == "gate_1", "source"]) == {"thesis"}
    assert hwr.study("ch09", "book").name == "ch09_gates"
