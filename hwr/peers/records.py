"""The comparison's records, and the tables the appendix builds from them.

One system, three files in ``results/peers/<profile>/``:

- ``<system>.json``: what was run and what it measured (parameters, budget,
  threads, training lines and seconds, test CER/WER, latency) with its provenance
  (commit, commands, tool versions, hardware, load average);
- ``<system>.curve.csv``: the learning curve (seconds, lines, cer, curve);
- ``<system>.predictions.csv``: every test line's reference and hypothesis.

The records are committed (they are small), so the appendix renders them on a
machine without kraken or Tesseract. They are read from the checkout's
``results/peers`` (``HWR_PEERS_RESULTS`` overrides it), not from ``HWR_RESULTS``,
which the tests point at an empty folder: nothing in a test run can recreate them.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pandas as pd

from hwr.paths import ROOT

#: the order systems appear in, in tables and legends
ORDER = ("kraken-default", "kraken-thesis-size", "tesseract-scratch", "tesseract-eng", "hwr-ctc", "hwr-seq2seq")


def results_root() -> Path:
    return Path(os.environ.get("HWR_PEERS_RESULTS", ROOT / "results" / "peers"))


def profile_dir(profile: str) -> Path:
    return results_root() / profile


def write(profile: str, record: dict, curve: list[dict], predictions: list[dict]) -> Path:
    """Write one system's three files; returns the JSON record's path."""
    folder = profile_dir(profile)
    folder.mkdir(parents=True, exist_ok=True)
    name = record["system"]
    with open(folder / f"{name}.curve.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["seconds", "lines", "cer", "curve"])
        w.writeheader()
        w.writerows({k: row.get(k) for k in w.fieldnames} for row in curve)
    with open(folder / f"{name}.predictions.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["id", "reference", "hypothesis", "distance"])
        w.writeheader()
        w.writerows(predictions)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def exists(profile: str, system: str) -> bool:
    return (profile_dir(profile) / f"{system}.json").exists()


def read(profile: str) -> list[dict]:
    """Every system's record of a profile, in :data:`ORDER` (others after, by name); [] when there are none."""
    folder = profile_dir(profile)
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(records, key=lambda r: (rank.get(r["system"], len(ORDER)), r["system"]))


def curves(profile: str, records: list[dict]) -> pd.DataFrame:
    """Every system's curve, one row per point.

    Columns: system, label (the record's short name; a training-error curve,
    lstmtraining's BCER on its own training lines, says so), kind (validation or
    training), seed, lines_seen, minutes, val_cer (the CER of that point, a fraction).
    """
    frames = []
    for r in records:
        path = profile_dir(profile) / f"{r['system']}.curve.csv"
        if not path.exists():
            continue
        c = pd.read_csv(path)
        if c.empty:
            continue
        short = r.get("short") or r["system"]
        label = c["curve"].map(lambda k: short if k == "validation" else f"{short}, {k} error")
        frames.append(pd.DataFrame({"system": r["system"], "label": label, "kind": c["curve"],
                                    "seed": r.get("seed", 0), "lines_seen": c["lines"],
                                    "minutes": c["seconds"] / 60, "val_cer": c["cer"]}))
    columns = ["system", "label", "kind", "seed", "lines_seen", "minutes", "val_cer"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def predictions_path(profile: str, system: str) -> Path:
    return profile_dir(profile) / f"{system}.predictions.csv"
