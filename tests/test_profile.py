"""One Profile, read from configs/: what each profile sets, and what it must never change."""

from __future__ import annotations

import pytest

from hwr import paths
from hwr.profile import Profile, ProfileError, read
from hwr.runs.latency import _path, settings
from hwr.runs.store import RunStore
from hwr.runs.studies import STUDIES, study


def test_the_three_profiles_read_from_their_files():
    smoke, book, full = (Profile.load(n) for n in ("smoke", "book", "full"))
    assert smoke.smoke and not book.smoke and not full.smoke
    assert smoke.seeds == (0,) and book.seeds == full.seeds == (0, 1, 2) and book.first_seed == (0,)
    assert smoke.word_tasks == ("words-smoke", "printed-words-smoke") and smoke.names_task == "names-smoke"
    assert book.word_tasks == ("words-32-cosine", "printed-words-32-cosine") and book.names_task == "names-64-cosine"
    assert smoke.peers_minutes == 0.5 and book.peers_minutes is None
    assert book.store_root == paths.RESULTS / "book" / "runs" and RunStore.of("book").root == book.store_root
    assert book.task_name == "phrases-32-cosine" and smoke.data == "synth:smoke"
    assert book.chapter("ch04_ctc")["beam_widths"] == [1, 2, 5, 10, 20, 50] and book.chapter("nope") == {}


def test_a_name_without_a_file_gets_the_defaults():
    p = Profile.load("no-such-profile")
    assert p.seeds == (0,) and not p.smoke and p.data is None and p.latency == Profile.load("book").latency
    with pytest.raises(ProfileError, match="no profile 'no-such-profile'"):
        read("no-such-profile")


def test_a_profile_file_with_an_unknown_setting_or_part_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CONFIGS", tmp_path)
    (tmp_path / "odd.yaml").write_text("profile:\n  seed: [0]\n")
    with pytest.raises(ProfileError, match=r"configs/odd.yaml: profile settings \['seed'\] are unknown"):
        Profile.load("odd")
    (tmp_path / "odd.yaml").write_text("defaults: {}\nextras: 1\n")
    with pytest.raises(ProfileError, match=r"unknown top-level keys \['extras'\]"):
        Profile.load("odd")
    (tmp_path / "odd.yaml").write_text("profile:\n  seeds: [3, 4]\n  smoke: true\n")
    assert Profile.load("odd").seeds == (3, 4) and Profile.load("odd").smoke  # an edited file is read again


def test_latency_settings_keep_the_committed_records_paths():
    # the recorded latency files are named by a digest of the settings: moving the settings into the
    # profile files must give the same dicts, so every committed record is still found
    root = paths.RESULTS / "book" / "latency"
    records = sorted(root.glob("*.json"))
    assert records, "the committed latency records are missing"
    found = {_path(root, p.name.split("-bs")[0], int(p.name.split("-bs")[1].split("-")[0]), settings("book"), 1)
             for p in records}
    assert found & set(records), "no committed latency record is found under the book profile's settings"
    assert settings("smoke") == {"width": 256, "line_width": 128, "steps": 4, "repeats": 1, "warmup": 0}


def test_every_book_study_still_resolves_to_finished_runs_of_the_committed_store():
    # a refactor of profiles, studies or registries must not change a run's identity: every run the book's
    # chapters declare is found, finished, under the id it was trained with
    store = RunStore.of("book")
    missing = [f"{name}: {spec.run_id}" for name in STUDIES for spec in study(name, "book").runs
               if store.status(spec) != "done"]
    assert not missing, f"{len(missing)} declared runs not done in the store: {missing[:5]}"
