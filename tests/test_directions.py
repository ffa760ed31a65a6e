"""A chapter's prose states no direction that its verdicts do not support (hwr.book.directions)."""

import json
from pathlib import Path

import pytest

from hwr import paths, stats
from hwr.book.directions import Judged, check, problems_in_notebook, rendered_prose, statements

NAMES = ["light_in", "light_no_pe", "gate_1", "beam 10", "greedy"]


def said(text, names=NAMES, claims=()):
    return [(s.lower, s.higher) for s in statements(text, names, claims)]


def test_statements_find_both_orders_and_the_answer_form():
    assert said("Here `light_no_pe` reads better than `light_in`.") == [("light_no_pe", "light_in")]
    assert said("Without PE, `light_no_pe` is behind `light_in` here too.") == [("light_in", "light_no_pe")]
    assert said("**Answer: beam 10 is lower.**") == [("beam 10", None)]
    assert said("`gate_1` has a higher CER than `light_in` on every seed.") == [("light_in", "gate_1")]


def test_statements_leave_out_what_is_not_the_books_voice():
    # the thesis's finding, a quoted claim, a claim under test, and a sentence without a direction
    assert said("The thesis found that `light_in` reads better than `light_no_pe`.") == []
    assert said('The seed says "`gate_1` beats `light_in`".') == []
    assert said("Is it true that light_in beats light_no_pe? We test it.", claims=["light_in beats light_no_pe"]) == []
    assert said("`gate_1` minus `light_in` is +2.0 points.") == []
    assert said("`light_in` and `light_no_pe` are not told apart.") == []


def judged(better, other, outcome):
    lower = {stats.REPRODUCED: better, stats.NOT_REPRODUCED: other}.get(outcome)
    return Judged(better, other, outcome, lower)


@pytest.mark.parametrize("outcome, problem", [
    (stats.NOT_REPRODUCED, None),  # light_no_pe lower: what the sentence says
    (stats.REPRODUCED, "says the opposite"),
    (stats.INCONCLUSIVE, "inconclusive"),
])
def test_a_direction_needs_a_decided_verdict_that_points_the_same_way(outcome, problem):
    found = statements("Unlike in the thesis, `light_no_pe` reads better than `light_in` here.", NAMES)
    problems = check(found, [judged("light_in", "light_no_pe", outcome)])
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0] and "light_no_pe lower than light_in" in problems[0]


def test_a_direction_no_verdict_judges_is_a_problem():
    found = statements("`gate_1` beats `light_in` by far.", NAMES)
    assert "no verdict of the chapter judges it" in check(found, [judged("light_in", "light_no_pe",
                                                                          stats.REPRODUCED)])[0]


def _notebook(markdown: str, glues: dict[str, str], markdown_glues: dict[str, str] = {}) -> dict:
    outputs = [{"output_type": "display_data", "metadata": {"scrapbook": {
        "name": k, "mime_prefix": "application/papermill.record/"}},
        "data": {"application/papermill.record/text/plain": repr(v)}} for k, v in glues.items()]
    outputs += [{"output_type": "display_data", "metadata": {"scrapbook": {
        "name": k, "mime_prefix": "application/papermill.record/"}},
        "data": {"application/papermill.record/text/markdown": v,
                 "application/papermill.record/text/plain": "<IPython.core.display.Markdown object>"}}
        for k, v in markdown_glues.items()]
    return {"cells": [{"cell_type": "code", "source": "", "outputs": outputs},
                      {"cell_type": "markdown", "source": markdown}]}


def test_a_glued_direction_word_is_checked_as_rendered(tmp_path):
    """The defect the test exists for: prose that glues a winner's name beside a fixed direction word."""
    verdict = Judged("beam 10", "greedy", stats.INCONCLUSIVE, None, "Inconclusive: the interval includes zero.")
    nb = _notebook("**Answer: {glue:text}`winner` is lower.** {glue:md}`verdict_beam`",
                   {"winner": "beam 10", "judged_beam 10|greedy": verdict.to_json()},
                   {"verdict_beam": verdict.explanation})
    assert "{glue" not in rendered_prose(nb)
    path = tmp_path / "ch.ipynb"
    path.write_text(json.dumps(nb))
    problems = problems_in_notebook(path)
    assert len(problems) == 1 and "inconclusive" in problems[0]
    # decided the same way, the sentence stands; and the verdict's own caveats are never read as prose
    decided = Judged("beam 10", "greedy", stats.REPRODUCED, "beam 10",
                     "Inconclusive at this budget: so on these runs greedy is lower; but ...")
    nb = _notebook("**Answer: {glue:text}`winner` is lower.** {glue:md}`verdict_beam`",
                   {"winner": "beam 10", "judged_beam 10|greedy": decided.to_json()},
                   {"verdict_beam": decided.explanation})
    path.write_text(json.dumps(nb))
    assert problems_in_notebook(path) == []


def _executed_book_chapters():
    return sorted(paths.RESULTS.glob("book/*/*.ipynb"))


@pytest.mark.parametrize("notebook", _executed_book_chapters(), ids=lambda p: p.stem)
def test_the_books_prose_states_no_direction_its_verdicts_do_not_support(notebook: Path):
    assert problems_in_notebook(notebook) == []
