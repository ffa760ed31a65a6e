"""Training logs of the peers, read into learning curves.

The driver (:mod:`hwr.peers.process`) stores every line a tool prints with the
seconds since the tool started, as ``<seconds>\\t<line>``, so a curve gets a time
axis even where the tool prints none (lstmtraining). Each curve is a list of
rows ``{"seconds", "lines", "cer", "curve"}`` where ``curve`` says what was
measured: ``"validation"`` (held-out lines) or ``"training"`` (the tool's running
error on the lines it is training on).

- ketos (through ``peers/ketos_timed.py``): one ``PEERS {json}`` line per
  validation with its own clock, lines trained and CER.
- lstmtraining: every 100 iterations ``At iteration L/T/S, ..., BCER train=x%``
  (T: training lines so far) and, when its evaluator ran on the eval list,
  ``At iteration L, stage N, BCER eval=x, BWER eval=y``; the eval line has no
  training-line count, so it takes the count of the last progress line before it.
"""

from __future__ import annotations

import json
import re

MARK = "PEERS "

_PROGRESS = re.compile(r"At iteration (\d+)/(\d+)/(\d+),.*?BCER train=([\d.]+)%.*?BWER train=([\d.]+)%")
_EVAL = re.compile(r"At iteration (\d+), stage (\d+), BCER eval=([\d.]+),? BWER eval=([\d.]+)")
_WEIGHTS = re.compile(r"^Total weights = (\d+)")
_NETWORK = re.compile(r"^Built network:(\S+) from request (.+)$")


def timed_lines(text: str) -> list[tuple[float, str]]:
    """``<seconds>\\t<line>`` rows back into (seconds, line); a row without a time gets the last one seen."""
    rows, last = [], 0.0
    for raw in text.splitlines():
        head, tab, rest = raw.partition("\t")
        try:
            seconds = float(head) if tab else None
        except ValueError:
            seconds = None
        if seconds is None:
            rows.append((last, raw))
        else:
            last = seconds
            rows.append((seconds, rest))
    return rows


def ketos_events(text: str) -> list[dict]:
    """The ``PEERS {json}`` events of a ketos_timed.py log, in order (other lines ignored)."""
    events = []
    for _, line in timed_lines(text):
        at = line.find(MARK)
        if at < 0:
            continue
        try:
            events.append(json.loads(line[at + len(MARK):]))
        except json.JSONDecodeError:
            continue  # a line cut short by a killed process
    return events


def ketos_curve(text: str) -> list[dict]:
    """Validation CER after each ketos validation, on ketos' own training clock."""
    return [{"seconds": e["seconds"], "lines": e["lines"], "cer": e["val_cer"], "curve": "validation"}
            for e in ketos_events(text) if e.get("event") == "validation" and e.get("val_cer") is not None]


def ketos_summary(text: str) -> dict:
    """Parameters, lines trained, training seconds and epochs from a ketos_timed.py log (what it reported)."""
    out: dict = {}
    for e in ketos_events(text):
        if e.get("event") == "start":
            out["parameters"] = e.get("parameters")
        elif e.get("event") in ("validation", "end"):
            out["lines"] = e.get("lines", out.get("lines"))
            out["seconds"] = e.get("seconds", out.get("seconds"))
            if e.get("event") == "end":
                out["epochs"] = e.get("epochs")
    return out


def lstmtraining_curve(text: str) -> list[dict]:
    """Training BCER every 100 iterations and eval BCER where lstmtraining evaluated, as fractions."""
    rows, lines = [], 0
    for seconds, line in timed_lines(text):
        if m := _PROGRESS.search(line):
            lines = int(m.group(2))
            rows.append({"seconds": seconds, "lines": lines, "cer": float(m.group(4)) / 100, "curve": "training"})
        elif m := _EVAL.search(line):
            rows.append({"seconds": seconds, "lines": lines, "cer": float(m.group(3)) / 100, "curve": "validation"})
    return rows


def lstmtraining_summary(text: str) -> dict:
    """The network lstmtraining built (its weights and spec) and the last progress report."""
    out: dict = {}
    for seconds, line in timed_lines(text):
        if m := _WEIGHTS.match(line):
            out["parameters"] = int(m.group(1))  # the last one printed is the whole network's
        elif m := _NETWORK.match(line):
            out["network"] = m.group(1)
        elif m := _PROGRESS.search(line):
            out.update(lines=int(m.group(2)), iterations=int(m.group(1)), seconds=seconds,
                       train_cer=float(m.group(4)) / 100)
    return out
