"""Provenance records carry what is needed to trace a number back to its run."""

import json
import time

from hwr import provenance


def test_collect_records_commit_versions_hardware_and_duration():
    started = time.time() - 2.0
    rec = provenance.collect({"epochs": 3}, started, chapter="ch01")
    assert rec["params"] == {"epochs": 3} and rec["chapter"] == "ch01"
    assert rec["duration_s"] >= 2.0
    assert rec["versions"]["python"] and rec["versions"]["torch"].startswith("2.13")
    assert rec["hardware"]["cores"] >= 1 and rec["hardware"]["cpu"]
    assert "commit" in rec and "dirty" in rec
    json.dumps(rec)  # JSON-ready
