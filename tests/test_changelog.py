"""The run store's changelog is read from git: additions, withdrawals and replacements with their CER."""

import json
import subprocess

from hwr.book.changelog import changelog_markdown, model_seed, store_changes


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"})


def record(store, run, cer):
    (store / run).mkdir(parents=True, exist_ok=True)
    (store / run / "test.json").write_text(json.dumps({"cer": cer, "lines": 800}))


def test_model_seed_drops_the_spec_digest():
    assert model_seed("gate_1-s0-42d598a5bd") == "gate_1-s0"
    assert model_seed("attn2d_h4-s12-0123456789") == "attn2d_h4-s12"


def test_each_commit_says_what_it_did_to_the_numbers(tmp_path):
    repo, store = tmp_path, tmp_path / "results" / "book" / "runs"
    git(repo, "init", "-q")
    record(store, "gate_1-s0-aaaaaaaaaa", 0.68)
    record(store, "ctc_baseline-s0-bbbbbbbbbb", 0.25)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first runs")
    (store / "notes.txt").write_text("not a record")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "a file that is no run record")
    subprocess.run(["rm", "-r", str(store / "gate_1-s0-aaaaaaaaaa")], check=True)
    record(store, "gate_1-s0-cccccccccc", 0.144)
    record(store, "ctc_baseline-s0-bbbbbbbbbb", 0.2)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "gate_1 on the new recipe | a pipe")

    changes = store_changes(store, repo)
    assert [c.subject for c in changes] == ["gate_1 on the new recipe | a pipe", "first runs"]
    newest, first = changes
    assert first.added == {"gate_1-s0-aaaaaaaaaa": 0.68, "ctc_baseline-s0-bbbbbbbbbb": 0.25}
    assert newest.removed == {"gate_1-s0-aaaaaaaaaa": 0.68}
    assert newest.added == {"gate_1-s0-cccccccccc": 0.144}
    assert newest.changed == {"ctc_baseline-s0-bbbbbbbbbb": (0.25, 0.2)}
    assert newest.replaced() == [("gate_1-s0-aaaaaaaaaa", "gate_1-s0-cccccccccc")]

    text = changelog_markdown("book", store, repo)
    assert "2 commits published the 3 runs ever recorded" in text and "2 of which are in the store" in text
    assert "`gate_1-s0` 68.0\u00a0% \u2192 14.4\u00a0%" in text
    assert "`ctc_baseline-s0-bbbbbbbbbb` re-recorded 25.0\u00a0% \u2192 20.0\u00a0%" in text
    assert "recipe / a pipe" in text  # a commit subject cannot break the table
    assert text.count("\n| ") == 3  # the header and one row per commit


def test_a_store_without_history_says_so(tmp_path):
    store = tmp_path / "runs"
    record(store, "gate_1-s0-aaaaaaaaaa", 0.5)
    assert store_changes(store, tmp_path) is None
    assert "no git history here" in changelog_markdown("smoke", store, tmp_path)
    git(tmp_path, "init", "-q")
    assert "No run record of profile `smoke` has been committed yet." in changelog_markdown("smoke", store, tmp_path)
