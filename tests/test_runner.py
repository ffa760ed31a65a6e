"""The chapter runner: parameters, profiles, skipping unchanged chapters."""

import json

import pytest

from hwr import runner

CHAPTER = '''# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A test chapter

# %% tags=["parameters"]
profile: str = "smoke"  # profile name
n: int = 2  # how many

# %%
from pathlib import Path
print("n squared is", n * n)
'''


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A fake repository layout: one chapter, one profile, results in tmp."""
    book = tmp_path / "book"
    book.mkdir()
    (book / "ch09_test.py").write_text(CHAPTER)
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "smoke.yaml").write_text("defaults:\n  data: x\nchapters:\n  ch09_test:\n    n: 3\n")
    (configs / "bad.yaml").write_text("chapters:\n  ch09_test:\n    m: 3\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/ch09_test\n")
    for name, value in {"ROOT": tmp_path, "BOOK": book, "CONFIGS": configs, "RESULTS": tmp_path / "results"}.items():
        monkeypatch.setattr(runner, name, value)
    return tmp_path


def test_chapters_and_resolution(sandbox):
    assert [p.stem for p in runner.chapters()] == ["ch09_test"]
    assert runner.resolve_chapter("ch09").stem == "ch09_test"
    assert runner.resolve_chapter("ch09_test").stem == "ch09_test"
    with pytest.raises(runner.RunnerError, match="no chapter named 'ch42'"):
        runner.resolve_chapter("ch42")


def test_parameters_merge_profile_and_overrides(sandbox):
    ch = runner.resolve_chapter("ch09")
    # "data" is a profile default the chapter does not declare: not injected
    assert runner.chapter_parameters(ch, "smoke") == {"profile": "smoke", "n": 3}
    assert runner.chapter_parameters(ch, "smoke", {"n": 5})["n"] == 5


def test_unknown_parameters_are_refused(sandbox):
    ch = runner.resolve_chapter("ch09")
    with pytest.raises(runner.RunnerError, match=r"unknown parameter\(s\) \['nn'\] from -p"):
        runner.chapter_parameters(ch, "smoke", {"nn": 5})
    with pytest.raises(runner.RunnerError, match=r"\['m'\] from configs/bad.yaml"):
        runner.chapter_parameters(ch, "bad")
    with pytest.raises(runner.RunnerError, match="no profile 'nope'"):
        runner.chapter_parameters(ch, "nope")


@pytest.mark.slow
def test_run_writes_provenance_and_skips_unchanged(sandbox, capsys):
    ch = runner.resolve_chapter("ch09")
    out = runner.run_chapter(ch, "smoke", progress=False)
    record = json.loads((out.parent / "run.json").read_text())
    assert record["status"] == "ok" and record["params"] == {"profile": "smoke", "n": 3}
    assert record["versions"]["torch"] and record["hardware"]["cores"] >= 1
    assert "n squared is 9" in out.read_text()
    runner.run_chapter(ch, "smoke", progress=False)
    assert "inputs unchanged" in capsys.readouterr().out
    runner.run_chapter(ch, "smoke", {"n": 4}, progress=False)  # new parameters: runs again
    assert "n squared is 16" in out.read_text()
