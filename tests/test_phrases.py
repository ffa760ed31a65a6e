"""The phrases presets (a book-task candidate): short lines of 1-4 words,
generated directly by the synthetic generator, with the same writers,
renderer and splits as the full lines."""

from __future__ import annotations

import random
import string
from collections import Counter

import numpy as np
import pytest

from hwr.codec import CHARSET
from hwr.synth import PRESETS, SynthConfig, ensure_assets, generate
from hwr.synth import text as T
from hwr.synth.config import plan


@pytest.fixture(scope="module")
def node_modules():
    return ensure_assets(quiet=True)


@pytest.fixture(scope="module")
def texts(node_modules):
    docs, _ = T.load_documents(node_modules)
    phrases = [t for t, _ in T.make_lines(docs, 3000, random.Random(0), words=(1, 4))]
    full = [t for t, _ in T.make_lines(docs, 3000, random.Random(0))]
    return phrases, full


def test_phrases_have_1_to_4_words(texts):
    phrases, _ = texts
    words = Counter(len(t.split()) for t in phrases)
    assert set(words) == {1, 2, 3, 4}
    # uniform draw; one-word phrases lose the lone "a", "I", "of" (too short)
    assert all(words[k] / len(phrases) > 0.18 for k in (1, 2, 3, 4))
    assert all(set(t) <= CHARSET and t == t.strip() and len(t) >= T.PHRASE_MIN_CHARS for t in phrases)
    lengths = np.array([len(t) for t in phrases])
    assert 10 < lengths.mean() < 18 and lengths.max() <= T.TARGET_MAX


def test_phrases_cover_the_alphabet_like_full_lines(texts):
    phrases, full = texts
    have, ref = set("".join(phrases)), set("".join(full))
    assert len(have) >= len(ref) - 3
    assert set(string.ascii_lowercase + string.digits) <= have
    assert len(set(string.ascii_uppercase) - have) <= 2  # rare capitals (X, Z) may miss in 3000 phrases
    assert set(".,'\"-;:?!()") <= have


def test_chop_keeps_word_order_and_drops_excluded():
    rng = random.Random(1)
    para = "one two three four five six seven eight nine ten eleven twelve"
    got = T.chop([para], 100, rng, (1, 4))
    assert " ".join(got) == para  # consecutive, nothing lost (every word has >= 3 letters)
    again = T.chop([para], 100, random.Random(1), (1, 4), exclude=frozenset(got[:1]))
    assert again == got[1:]  # same draws, the excluded phrase left out


def test_presets_and_manifest_identity(node_modules):
    ph, smoke = PRESETS["phrases"], PRESETS["phrases-smoke"]
    assert ph.sizes == PRESETS["default"].sizes and smoke.sizes == PRESETS["smoke"].sizes
    assert ph.phrase_words == smoke.phrase_words == (1, 4)
    assert PRESETS["phrases-large"].train > ph.train and PRESETS["phrases-large"].test == ph.test
    m_ph, _ = plan(ph, lines=False)
    m_def, _ = plan(PRESETS["default"], lines=False)
    assert m_ph["config"]["phrase_words"] == [1, 4] and "phrase_words" not in m_def["config"]
    assert m_ph != m_def and m_ph["font_split"] == m_def["font_split"]  # same writers per split
    assert SynthConfig.from_dict(m_ph["config"]) == ph
    assert SynthConfig.from_dict(m_def["config"]) == PRESETS["default"]
    with pytest.raises(ValueError, match="SynthConfig.phrase_words"):
        SynthConfig(phrase_words=(3, 2))


def test_plan_is_deterministic_and_texts_disjoint_across_splits(node_modules):
    m1, jobs = plan(PRESETS["phrases-smoke"])
    m2, again = plan(PRESETS["phrases-smoke"])
    assert m1 == m2 and jobs == again
    by_split = {s: {j[3] for j in jobs if j[0] == s} for s in ("train", "valid", "test")}
    assert [sum(j[0] == s for j in jobs) for s in ("train", "valid", "test")] == [240, 60, 60]
    assert not by_split["train"] & by_split["valid"] and not by_split["train"] & by_split["test"]
    assert not by_split["valid"] & by_split["test"]
    writers = {s: {j[4] for j in jobs if j[0] == s} for s in by_split}
    assert set(m1["font_split"]["test"]) >= writers["test"] and not writers["train"] & writers["test"]


def test_generated_phrases_are_rendered_lines(node_modules, tmp_path):
    cfg = SynthConfig(seed=3, train=6, valid=3, test=3, phrase_words=(1, 4),
                      families=("caveat", "kalam", "handlee", "satisfy", "zeyada"))
    out = generate(cfg, tmp_path / "ph", workers=1, progress=False)
    from hwr.datasets import open_dataset

    ds = open_dataset(out, "train")
    assert len(ds) == 6
    for item in ds:
        assert 1 <= len(item.text.split()) <= 4
        h, w = item.image.shape
        assert item.image.dtype == np.uint8 and w > h / 2  # a line, not a blank
