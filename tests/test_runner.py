"""The chapter runner: parameters, profiles, types, skipping unchanged
chapters, failed runs, and the notebook a reader downloads."""

import json
import os

import nbformat
import pytest

from hwr import paths
from hwr.book import RunnerError, chapters, execute, notebook
from hwr.book.tables import Table, fmt
from hwr.errors import HwrError

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
scale: float = 1.0  # a factor
fail: bool = False  # raise in the last cell

# %%
from pathlib import Path
print("n squared is", n * n)

# %%
if fail:
    raise ValueError("boom")
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
    (configs / "typo.yaml").write_text("chapters:\n  ch09_test:\n    n: three\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/ch09_test\n")
    for name, value in {"ROOT": tmp_path, "BOOK": book, "CONFIGS": configs, "RESULTS": tmp_path / "results"}.items():
        monkeypatch.setattr(paths, name, value)
    return tmp_path


def test_runner_error_is_an_hwr_error():
    assert issubclass(RunnerError, HwrError) and RunnerError("x").exit_code == 2


def test_chapters_and_resolution(sandbox):
    assert [p.stem for p in chapters.chapters()] == ["ch09_test"]
    assert chapters.resolve_chapter("ch09").stem == "ch09_test"
    assert chapters.resolve_chapter("ch09_test").stem == "ch09_test"
    with pytest.raises(RunnerError, match="no chapter named 'ch42'"):
        chapters.resolve_chapter("ch42")


def test_parameters_merge_profile_and_overrides(sandbox):
    ch = chapters.resolve_chapter("ch09")
    # "data" is a profile default the chapter does not declare: not injected
    assert chapters.chapter_parameters(ch, "smoke") == {"profile": "smoke", "n": 3}
    assert chapters.chapter_parameters(ch, "smoke", {"n": 5})["n"] == 5
    assert chapters.chapter_parameters(ch, "smoke", {"scale": 2})["scale"] == 2  # an int is a float


def test_unknown_parameters_are_refused(sandbox):
    ch = chapters.resolve_chapter("ch09")
    with pytest.raises(RunnerError, match=r"unknown parameter\(s\) \['nn'\] from -p"):
        chapters.chapter_parameters(ch, "smoke", {"nn": 5})
    with pytest.raises(RunnerError, match=r"\['m'\] from configs/bad.yaml"):
        chapters.chapter_parameters(ch, "bad")
    with pytest.raises(RunnerError, match="no profile 'nope'"):
        chapters.chapter_parameters(ch, "nope")


def test_values_of_the_wrong_type_are_refused(sandbox):
    ch = chapters.resolve_chapter("ch09")
    with pytest.raises(RunnerError, match="parameter 'n' from -p is str 'abc', but the chapter declares int"):
        chapters.chapter_parameters(ch, "smoke", {"n": "abc"})
    with pytest.raises(RunnerError, match="parameter 'n' from -p is bool True"):
        chapters.chapter_parameters(ch, "smoke", {"n": True})
    with pytest.raises(RunnerError, match="'fail' from -p is int 1, but the chapter declares bool"):
        chapters.chapter_parameters(ch, "smoke", {"fail": 1})
    with pytest.raises(RunnerError, match="'n' from configs/typo.yaml is str 'three'"):
        chapters.chapter_parameters(ch, "typo")


def test_cli_refuses_a_wrong_type_before_running(sandbox, capsys):
    from hwr.cli import main

    assert main(["run", "ch09", "-p", "n", "abc", "--no-build"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "declares int" in err
    assert not (sandbox / "results").exists()  # nothing ran


def test_input_hash_follows_the_modules_a_chapter_imports():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from hwr import codec\nimport hwr.metrics\nfrom hwr.book.tables import Table"),
        nbformat.v4.new_code_cell("this is not python"),
    ])
    got = {str(p.relative_to(paths.ROOT)) for p in execute.imported_modules(nb)}
    assert got == {"hwr/__init__.py", "hwr/codec.py", "hwr/metrics.py", "hwr/book/__init__.py",
                   "hwr/book/tables.py"}


def test_input_hash_changes_with_parameters_and_source(sandbox):
    ch = chapters.resolve_chapter("ch09")
    a = execute.input_hash(ch, {"n": 3})
    assert a == execute.input_hash(ch, {"n": 3}) and a != execute.input_hash(ch, {"n": 4})
    ch.write_text(CHAPTER + "\n# %%\nprint(1)\n")
    assert a != execute.input_hash(ch, {"n": 3})


@pytest.mark.slow
def test_run_writes_provenance_and_skips_unchanged(sandbox, capsys):
    ch = chapters.resolve_chapter("ch09")
    out = execute.run_chapter(ch, "smoke", progress=False)
    record = json.loads((out.parent / "run.json").read_text())
    assert record["status"] == "ok" and record["params"] == {"profile": "smoke", "n": 3}
    assert record["effective_params"] == {"profile": "smoke", "n": 3, "scale": 1.0, "fail": False}
    assert record["versions"]["torch"] and record["hardware"]["cores"] >= 1
    nb = nbformat.read(out, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "n: int = 3  # how many" in params[0].source  # one cell, the values it ran with
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert nb.metadata.papermill["input_path"] == "book/ch09_test.py"
    assert str(sandbox) not in json.dumps(nb.metadata)
    assert "n squared is 9" in out.read_text()
    execute.run_chapter(ch, "smoke", progress=False)
    assert "inputs unchanged" in capsys.readouterr().out
    execute.run_chapter(ch, "smoke", {"n": 4}, progress=False)  # new parameters: runs again
    assert "n squared is 16" in out.read_text()


@pytest.mark.slow
def test_a_failed_run_keeps_the_last_good_one(sandbox):
    ch = chapters.resolve_chapter("ch09")
    out = execute.run_chapter(ch, "smoke", progress=False)
    good = out.read_text()
    log = out.parent / "log.txt"
    log.write_text("the good run's log\n")
    with pytest.raises(RunnerError, match=r"ch09_test failed \(ValueError: boom\); the failed notebook is "
                                          r"results/smoke/ch09_test/ch09_test.failed.ipynb, its log "
                                          r"results/smoke/ch09_test/log.failed.txt; the last good run "
                                          r"stays in results/smoke/ch09_test/ch09_test.ipynb"):
        execute.run_chapter(ch, "smoke", {"fail": True}, progress=False)
    assert out.read_text() == good and log.read_text() == "the good run's log\n"  # it overwrote the log
    assert (out.parent / "log.failed.txt").exists() and not (out.parent / "log.running.txt").exists()
    assert json.loads((out.parent / "run.failed.json").read_text())["log"].endswith("log.failed.txt")
    assert json.loads((out.parent / "run.json").read_text())["status"] == "ok"
    assert json.loads((out.parent / "run.failed.json").read_text())["status"] == "failed"
    assert "boom" in (out.parent / "ch09_test.failed.ipynb").read_text()
    execute.run_chapter(ch, "smoke", progress=False, force=True)  # a good run clears the failed one
    assert not (out.parent / "ch09_test.failed.ipynb").exists() and not (out.parent / "log.failed.txt").exists()


def test_a_chapter_being_executed_is_not_executed_twice_at_once(sandbox):
    from hwr.errors import RunFolderError
    from hwr.files import RunLock

    ch = chapters.resolve_chapter("ch09")
    folder = chapters.results_dir("smoke", ch.stem)
    folder.mkdir(parents=True)
    with RunLock(folder, execute.RUN_LOCK):  # another `hwr run` of the chapter holds it
        with pytest.raises(RunFolderError, match=f"in use by another process \\(pid {os.getpid()}\\)"):
            execute.run_chapter(ch, "smoke", progress=False)
    assert not (folder / "ch09_test.ipynb").exists()
    execute.run_chapter(ch, "smoke", progress=False)  # free again


def _glued(name, mime="image/png", prefix=notebook.GLUE_PREFIX):
    return nbformat.v4.new_output("display_data", data={prefix + mime: "AAAA", prefix + "text/plain": "<Figure>"},
                                  metadata={"scrapbook": {"name": name, "mime_prefix": prefix}})


def test_reader_notebook_shows_figures_and_hides_machine_paths():
    cell = nbformat.v4.new_code_cell("glue(...)")
    cell.outputs = [_glued("fig"), _glued("number", mime="text/html"),
                    nbformat.v4.new_output("stream", name="stdout", text="wrote /repo/results/x.csv\n")]
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('a: int = 1  # first\nb = "x"\n', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("# Parameters\na = 5\n", metadata={"tags": ["injected-parameters"]}),
        cell])
    nb.metadata["papermill"] = {"input_path": "/tmp/abc.ipynb", "output_path": "/repo/results/x.ipynb",
                                "environment_variables": {"HOME": "/root"}}
    notebook.reader_notebook(nb, {"a": 5}, "book/x.py", "results/x.ipynb", "/repo")
    assert [c.source for c in nb.cells[:1]] == ['a: int = 5  # first\nb = "x"'] and len(nb.cells) == 2
    fig, number, stream = nb.cells[1].outputs
    assert set(fig["data"]) == {"image/png", "text/plain"} and fig.metadata.scrapbook.mime_prefix == ""
    assert number["data"] == {notebook.GLUE_PREFIX + "text/html": "AAAA", notebook.GLUE_PREFIX + "text/plain": "<Figure>"}
    assert stream["text"] == "wrote results/x.csv\n"
    assert nb.metadata.papermill == {"input_path": "book/x.py", "output_path": "results/x.ipynb",
                                     "environment_variables": {}}
    notebook.website_notebook(nb)  # the website places the figure once, through its glue directive
    assert set(fig["data"]) == {notebook.GLUE_PREFIX + "image/png", notebook.GLUE_PREFIX + "text/plain"}
    assert "hide-input" in nb.cells[0].metadata.tags


def test_table_formats_numbers_one_way():
    import pandas as pd

    assert [fmt(1234567), fmt(4000.0, integer=True), fmt(0.12345), fmt(float("nan")), fmt(True)] == \
        ["1,234,567", "4,000", "0.12", "-", "yes"]
    t = Table(pd.DataFrame({"lines": [4000.0, 60.0], "cer": [0.5, 12.25], "name": ["a|b", "c"]},
                           index=pd.Index(["train", "test"], name="split")), caption="Sizes.", name="tbl-x")
    assert t._repr_markdown_().splitlines() == [
        ":::{table} Sizes.", ":name: tbl-x", "", "| split | lines | cer | name |", "|:---|---:|---:|:---|",
        "| train | 4,000 | 0.50 | a\\|b |", "| test | 60 | 12.25 | c |", ":::"]
    assert "<caption>Sizes.</caption>" in t._repr_html_() and 'text-align:right">4,000<' in t._repr_html_()


def test_a_breakable_column_may_wrap_after_underscores_and_only_it():
    import pandas as pd

    frame = pd.DataFrame({"run": ["2022-06-14_seq2seqL_gate_1"], "model": ["gate_1"]})
    t = Table(frame, caption="Ids.", name="tbl-ids", index=False, breakable=("run",))
    assert t._repr_markdown_().splitlines()[-2] == "| 2022-06-14_<wbr>seq2seqL_<wbr>gate_<wbr>1 | gate_1 |"
    assert ">2022-06-14_<wbr>seq2seqL_<wbr>gate_<wbr>1</td>" in t._repr_html_() and ">gate_1</td>" in t._repr_html_()


RECORD = {"commit": "0123456789abcdef", "dirty": True, "started": "2026-12-02T02:44:00+00:00", "duration_s": 75.4,
          "params": {"profile": "book", "data": "synth:default", "n_gallery": 12}, "profile": "book",
          "status": "ok", "versions": {"python": "3.11.7", "torch": "2.13.0"},
          "hardware": {"cpu": "Some CPU", "cores": 2, "memory_gb": 8.0, "gpu": None}}


def test_boxes_and_run_records_come_from_run_json(sandbox):
    from hwr.book import site

    box = site.executed_box(RECORD)
    assert "**profile** `book` · data = `synth:default`, n_gallery = `12`" in box
    assert "`0123456789 (with uncommitted changes)`" in box and "2026-12-02 02:44 UTC" in box
    assert "**duration** 1 min 15 s" in box and "2 cores of Some CPU, 8 GB, no GPU" in box
    rerun = site.rerun_box("ch01_data", RECORD)
    assert ".venv/bin/hwr run ch01 --profile book -p data synth:default -p n_gallery 12" in rerun
    assert ".venv/bin/hwr run ch01 --profile smoke" in rerun
    assert "{download}`ch01_data.py <../src/ch01_data.py>`" in rerun
    out = sandbox / "results" / "book" / "ch09_test"
    out.mkdir(parents=True)
    (out / "run.json").write_text(json.dumps(RECORD))
    records = site.run_records("book")
    assert "| {doc}`ch09_test` | ok | `0123456789*` | 2026-12-02\u00a002:44\u00a0UTC | 1 min 15 s |" in records
    assert "| torch | 2.13.0 |" in records and "uncommitted changes" in records
    assert site.run_records("smoke") == "No chapter has been run with profile `smoke` yet."


def _tables_shown_too_early(source: str) -> list[int]:
    """Lines of ``Table(...)`` statements that are not their cell's last one (Jupyter shows only the last)."""
    import ast

    body = ast.parse(source).body
    return [st.lineno for st in body[:-1] if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call)
            and getattr(st.value.func, "id", "") == "Table"]


def test_the_table_checker_catches_a_table_followed_by_code():
    assert _tables_shown_too_early('Table(f, name="tbl-a", caption="")\nglue("x", 1)\n') == [1]
    assert _tables_shown_too_early('glue("x", 1)\nTable(f, name="tbl-a", caption="")\n') == []


@pytest.mark.parametrize("path", sorted([*chapters.chapters(), *(paths.ROOT / "book" / "drafts").glob("ch*.py")]),
                         ids=lambda p: p.stem)
def test_every_table_is_its_cells_last_expression(path):
    """A Table displays itself only as the cell's value: one followed by code vanishes from the page."""
    nb = chapters.read_notebook(path)
    late = {i: lines for i, c in enumerate(nb.cells) if c.cell_type == "code"
            and (lines := _tables_shown_too_early(c.source))}
    assert not late, f"{path.name}: Table(...) is not the last statement of code cells {late}"


def test_a_profile_with_a_key_given_twice_is_refused(tmp_path, monkeypatch):
    # a chapter's section whose name line is lost would otherwise merge into the section above it
    (tmp_path / "twice.yaml").write_text("chapters:\n  ch01:\n    n: 1\n\n    n: 2\n")
    monkeypatch.setattr(paths, "CONFIGS", tmp_path)
    with pytest.raises(RunnerError, match="twice.yaml: key 'n' given twice.*line 5"):
        chapters.load_profile("twice")


def test_a_profile_section_that_names_no_chapter_is_refused(sandbox):
    # a misspelt section ("ch09_tes") would leave ch09_test on its defaults without a word
    (sandbox / "configs" / "stray.yaml").write_text("chapters:\n  ch09_tes:\n    n: 3\n")
    with pytest.raises(RunnerError, match=r"stray.yaml: chapter section\(s\) \['ch09_tes'\] name no chapter"):
        chapters.load_profile("stray")
    assert chapters.load_profile("smoke")["chapters"]["ch09_test"] == {"n": 3}


def test_rerun_box_spells_out_a_short_name_that_would_be_ambiguous(monkeypatch):
    from pathlib import Path

    from hwr.book import chapters, site

    monkeypatch.setattr(chapters, "chapters", lambda: [Path("book/appendix_peers.py"), Path("book/appendix_more.py")])
    assert ".venv/bin/hwr run appendix_peers --profile book" in site.rerun_box("appendix_peers", RECORD)
    monkeypatch.setattr(chapters, "chapters", lambda: [Path("book/appendix_peers.py")])
    assert ".venv/bin/hwr run appendix --profile book" in site.rerun_box("appendix_peers", RECORD)


def test_committed_book_chapters_are_current():
    """Every chapter executed under ``book`` was executed with today's inputs (its source, parameters and the
    hwr modules it imports): otherwise ``make book`` on a fresh clone re-executes it, and the website shows
    what older code printed. After changing a module a chapter imports: ``hwr run --profile book --no-build``."""
    from hwr.book.chapters import chapters, results_dir
    from hwr.book.execute import is_current

    executed = [c for c in chapters() if (results_dir("book", c.stem) / "run.json").exists()]
    stale = [c.stem for c in executed if not is_current(c, "book")]
    assert executed and not stale, f"executed with older inputs (run `hwr run --profile book --no-build`): {stale}"
