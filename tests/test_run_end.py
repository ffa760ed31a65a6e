"""A finished run records what the chapters will read of its model, with the chapters' own parameters.

The checkpoint stays on the machine that trained the run, so an analysis a
chapter asks for later, with other parameters, cannot be computed on a fresh
clone. ``configs/<profile>.yaml``'s ``profile.run_end`` says what each model's
runs record when they end (:func:`hwr.runs.analyses.run_end_analyses`); this
test derives the same from each chapter's parameters under the profile, the
way the chapter calls :func:`hwr.runs.analyses.analysis`, and checks the two agree.
"""

from __future__ import annotations

import pytest

from hwr import paths
from hwr.book.chapters import chapter_parameters, effective_parameters, read_notebook
from hwr.profile import Profile
from hwr.runs.analyses import RUN_END

#: per chapter, (models, analysis, parameters from the chapter's parameters): the chapter's analysis calls
CALLS = {
    "ch04_ctc": [(["ctc_baseline"], "ctc_decoding", lambda p: {"widths": p["beam_widths"],
                                                                "keep": p["compare_width"]})],
    "ch15_crnn": [(["crnn"], "ctc_decoding", lambda p: {"widths": p["beam_widths"], "keep": p["compare_width"]})],
    "ch05_seq2seq": [(["seq2seq_bn"], "seq2seq_decoding", lambda p: {"widths": p["beam_widths"]}),
                     (["seq2seq_bn"], "attention_maps", lambda p: {"n": p["n_maps"]}),
                     (["seq2seq_bn"], "segmentation", lambda p: {"n": p["seg_lines"]})],
    "ch06_light": [(["light_no_pe", "light_in", "gate_1"], "attention_maps", lambda p: {"n": p["n_maps"]})],
    "ch07_norm": [(["seq2seq_bn", "seq2seq_in", "light_bn", "light_in"], "norm_batch",
                   lambda p: {"n": p["norm_lines"], "channels": max(p["channels"], 16)})],
    "ch09_gates": [(["gate_1", "gate_2", "gate_3"], "gate_activations",
                    lambda p: {"n": p["gate_lines"], "n_maps": p["n_maps"]})],
    "ch12_attn2d": [(["attn2d_h4", "attn2d_h8"], "attention_maps", lambda p: {"n": p["n_maps"]})],
    "ch17_names": [(["names_crnn"], "names_reading", lambda p: {}),
                   (["names_crnn"], "ctc_nan", lambda p: {"lines": p["nan_lines"]})],
    "ch18_lite": [(["crnn_lite"], "stn_warps", lambda p: {"n": p["n_warps"]}),
                  (["crnn_lite"], "ctc_decoding", lambda p: {"widths": p["beam_widths"], "keep": p["beam_widths"][-1],
                                                             "batch_size": 1})],
}


def _recorded(profile: Profile, model: str) -> dict:
    from hwr.models.registry import MODELS

    family = MODELS[model].config.get("family")
    return {**RUN_END.get(family, {}), **dict(profile.run_end.get(model, {}))}


@pytest.mark.parametrize("chapter", sorted(CALLS))
def test_each_run_records_what_its_chapters_read_of_its_model(chapter):
    profile = Profile.load("book")
    path = paths.BOOK / f"{chapter}.py"
    nb = read_notebook(path)
    params = effective_parameters(nb, chapter_parameters(path, "book", nb=nb))
    for models, name, build in CALLS[chapter]:
        for model in models:
            recorded = _recorded(profile, model)
            assert name in recorded, f"{chapter} reads {name} of {model}, which its runs do not record when they end"
            assert dict(recorded[name]) == build(params), (
                f"{chapter} reads {name} of {model} with {build(params)}; its runs record {dict(recorded[name])} "
                f"(configs/book.yaml, profile.run_end)")


def test_a_store_knows_its_profile(tmp_path):
    assert Profile.of_store(paths.RESULTS / "book" / "runs").name == "book"
    assert Profile.of_store(tmp_path / "runs") is None and Profile.of_store(tmp_path) is None
