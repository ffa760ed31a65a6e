"""The appendix's tables and sentences, made from the comparison's records.

Every number the appendix prints comes from here, computed from
``results/peers/<profile>/`` (:mod:`hwr.peers.records`); none is typed into the page.
Each function accepts any subset of the systems: a comparison cut short renders
what it has.
"""

from __future__ import annotations

import pandas as pd

from hwr import stats
from hwr.peers import records as store
from hwr.plots.style import WIDTH

TRAINED = ("kraken", "tesseract")  # kinds of the peers trained here (the stock model is not)


def percent(x: float) -> str:
    return f"{100 * x:.2f} %"


def interval(profile: str, record: dict, n_resamples: int = 2000):
    """The test CER with its 95 % bootstrap interval over test lines (:func:`hwr.stats.ratio_interval`)."""
    _, d, m = stats.line_counts(store.predictions_path(profile, record["system"]))
    return stats.ratio_interval(d, m, n_resamples=n_resamples)


def _frame(rows: list[dict], index: str, columns: list[str]) -> pd.DataFrame:
    """Rows as a frame indexed by ``index``; with no rows, an empty frame with the columns (no records yet)."""
    return pd.DataFrame(rows, columns=[index, *columns]).set_index(index)


# short headers: nine columns must fit the website's content column (tests/test_browser.py checks it);
# the appendix's caption spells each one out
TABLE_COLUMNS = ["params (M)", "budget (min)", "lines", "lines/s", "CER %", "95 % CI", "WER %", "ms per line"]


def table(profile: str, records: list[dict]) -> pd.DataFrame:
    """One row per system: size, budget, training speed, test CER (with its interval) and WER, latency."""
    rows = []
    for r in records:
        t, s = r.get("training") or {}, r["test"]
        ci = interval(profile, r)
        rows.append({
            "system": r["label"],
            "params (M)": r["parameters"] / 1e6 if r.get("parameters") else None,
            "budget (min)": r["budget_minutes"] if t else None,
            "lines": t.get("lines"),
            "lines/s": t.get("lines_per_s"),
            "CER %": 100 * s["cer"],
            "95 % CI": f"{100 * ci.low:.1f}–{100 * ci.high:.1f}",
            "WER %": 100 * s["wer"],
            "ms per line": 1000 * s["latency_s"] if s.get("latency_s") is not None else None,
        })
    return _frame(rows, "system", TABLE_COLUMNS)


def provenance(records: list[dict]) -> pd.DataFrame:
    """Per system: the model, threads, the commit, when it ran, how long it took in all, the load around it."""
    rows = []
    for r in records:
        load = (r.get("load_average") or {}).get("before") or [None]
        rows.append({"system": r["label"], "model": r.get("model"), "threads": r.get("threads"),
                     "commit": (r.get("commit") or "?")[:10] + ("*" if r.get("dirty") else ""),
                     "started": _minute(r.get("started", "?")), "minutes in all": r.get("duration_s", 0) / 60,
                     "load before": load[0]})
    return _frame(rows, "system", ["model", "threads", "commit", "started", "minutes in all", "load before"])


def _minute(stamp: str) -> str:
    """``2026-12-03T11:26:39+0000`` -> ``2026-12-03 11:26``: to the minute, with a space where a narrow
    column may wrap."""
    date, _, clock = stamp.partition("T")
    return f"{date} {clock[:5]}" if clock else stamp


def versions(records: list[dict]) -> pd.DataFrame:
    """Tool and library versions, as each record saw them (one column per system when they differ)."""
    seen: dict[str, dict] = {}
    for r in records:
        for k, v in (r.get("versions") or {}).items():
            seen.setdefault(k, {})[r["label"]] = v
    rows = [{"package": k, "version": ", ".join(sorted({str(v) for v in by.values()}))} for k, by in seen.items()]
    return _frame(rows, "package", ["version"])


def placeholder_figure(text: str):
    """A small figure that says why there is no chart (the page keeps its figure and its reference)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(WIDTH, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    plt.close(fig)  # glued into the page, not shown where it is made
    return fig


def hardware(records: list[dict]) -> str:
    """``2 cores of AMD EPYC ..., 8 GB`` from the records (all systems ran on one machine)."""
    hw = next((r["hardware"] for r in records if r.get("hardware")), {})
    memory = f" with {hw['memory_gb']:g} GB of memory" if hw.get("memory_gb") else ""
    return f"{hw.get('cores', '?')} cores of {hw.get('cpu', '?')}{memory}"


def commands(records: list[dict]) -> str:
    """Every command of every system, as a Markdown code block (paths relative to the checkout)."""
    lines = []
    for r in records:
        lines.append(f"# {r['label']}")
        for c in r.get("commands", []):
            env = " ".join(f"{k}={v}" for k, v in (c.get("env") or {}).items())
            lines.append(f"{env + ' ' if env else ''}{c['cmd']}")
        lines.append("")
    return "```text\n" + "\n".join(lines).rstrip() + "\n```"


def took(profile: str, records: list[dict]) -> str:
    """How long the recorded comparison took, and where, as a sentence."""
    if not records:
        return f"Nothing has been recorded under the `{profile}` profile yet."
    minutes = sum(r.get("duration_s", 0) for r in records) / 60
    return (f"The records shown here (`{profile}` profile) took {minutes:.1f} minutes for the {len(records)} "
            f"systems, data export and installs not counted, on {hardware(records)}.")


def conditions(records: list[dict]) -> str:
    """The shared conditions in a sentence: budget, threads, data, machine."""
    budgets = sorted({r["budget_minutes"] for r in records if r.get("training")})
    threads = sorted({r.get("threads") for r in records})
    data = sorted({r.get("data") for r in records})
    lines = sorted({r["test"]["lines"] for r in records})
    return (f"Every trained system had {' or '.join(f'{b:g}' for b in budgets)} minutes of wall clock with "
            f"{' or '.join(str(t) for t in threads)} threads on {hardware(records)}, one system at a time, on "
            f"the lines of `{', '.join(data)}`; all were scored on the same {', '.join(f'{n:,}' for n in lines)} "
            "test lines.")


def _best(records: list[dict], kinds: tuple[str, ...]) -> dict | None:
    pool = [r for r in records if r["kind"] in kinds]
    return min(pool, key=lambda r: r["test"]["cer"]) if pool else None


def _difference(profile: str, a: dict, b: dict) -> str:
    """B's test CER minus A's in points, with the paired bootstrap interval over the test lines."""
    c = stats.compare([store.predictions_path(profile, a["system"])], [store.predictions_path(profile, b["system"])],
                      names=(a["label"], b["label"]))
    i = c.pooled
    called = ("the test lines resolve it" if i.excludes_zero()
              else "the test lines do not resolve it (its interval includes zero)")
    return (f"{100 * i.estimate:+.2f} points (95 % interval {100 * i.low:+.2f} to {100 * i.high:+.2f}, paired "
            f"bootstrap over the test lines); {called}")


def _seed_spread(record: dict) -> str:
    """How far the chosen model's seeds were apart in the book's own runs, as a clause."""
    cers = (record.get("chosen") or {}).get("book_test_cers") or []
    if len(cers) < 2:
        return ""
    return (f" (the book's {len(cers)} runs of {record['chosen']['experiment']} on the book task, one per seed, "
            f"ranged from {percent(min(cers))} to {percent(max(cers))} test CER)")


def discussion(profile: str, records: list[dict]) -> str:
    """What the records say, as a Markdown list of points with every number computed here."""
    if not records:
        return f"There are no records under the `{profile}` profile yet, so there is nothing to discuss."
    parts = []
    ranked = sorted(records, key=lambda r: r["test"]["cer"])
    parts.append(f"The lowest test CER, {percent(ranked[0]['test']['cer'])}, is that of {ranked[0]['label']}; the "
                 f"highest, {percent(ranked[-1]['test']['cer'])}, that of {ranked[-1]['label']}.")
    ours, peer = _best(records, ("hwr",)), _best(records, TRAINED)
    if ours and peer:
        parts.append(f"At the same budget, the book's best model here, {ours['label']}, reads the test lines at "
                     f"{percent(ours['test']['cer'])} CER, and the best peer trained from scratch, {peer['label']}, "
                     f"at {percent(peer['test']['cer'])}: the book's model minus the peer is "
                     f"{_difference(profile, peer, ours)}. Each system ran once (one seed), so the spread between "
                     f"seeds is not in that interval{_seed_spread(ours)}.")
    trained = [r for r in records if (r.get("training") or {}).get("lines_per_s")]
    if len(trained) > 1:
        fast = max(trained, key=lambda r: r["training"]["lines_per_s"])
        slow = min(trained, key=lambda r: r["training"]["lines_per_s"])
        parts.append(f"Training speed ranges from {slow['training']['lines_per_s']:.1f} lines/s for {slow['label']} "
                     f"({slow['training']['lines']:,} lines in the budget) to {fast['training']['lines_per_s']:.1f} "
                     f"for {fast['label']} ({fast['training']['lines']:,} lines): within one budget the systems see "
                     "very different amounts of data, which is part of what is compared.")
    stock = next((r for r in records if r["kind"] == "tesseract-stock"), None)
    scratch = next((r for r in records if r["kind"] == "tesseract"), None)
    if stock and scratch:
        parts.append(f"Tesseract's stock English model, never trained on these lines, reads them at "
                     f"{percent(stock['test']['cer'])}; the one trained from scratch here at "
                     f"{percent(scratch['test']['cer'])}. The book task's lines are rendered from handwriting-style "
                     "fonts, whose shapes are closer to print than a hand's are, so the stock model's score says "
                     "how far the synthetic task is from printed text; it is not a measurement on real handwriting.")
    silent = [r for r in records if r["test"].get("lines") and r["test"].get("empty") == r["test"]["lines"]]
    for r in silent:
        epochs = (r.get("training") or {}).get("epochs")
        parts.append(f"{r['label'][0].upper()}{r['label'][1:]} output nothing on all {r['test']['lines']:,} test "
                     "lines: at the end of its budget"
                     + (f" ({epochs} epoch{'s' if epochs != 1 else ''})" if epochs else "")
                     + " it was still on CTC's plateau, where the blank wins every frame.")
    timed = [r for r in records if r["test"].get("latency_s") is not None]
    if len(timed) > 1:
        quick = min(timed, key=lambda r: r["test"]["latency_s"])
        slow = max(timed, key=lambda r: r["test"]["latency_s"])
        parts.append(f"Once loaded, the quickest reader is {quick['label']}, at "
                     f"{1000 * quick['test']['latency_s']:.1f} ms a line, and the slowest {slow['label']}, at "
                     f"{1000 * slow['test']['latency_s']:.1f} ms.")
    loads = [(r.get("load_average") or {}).get("before", [0])[0] for r in records]
    if loads and max(loads) > 1.0:
        parts.append(f"As each system started, the one-minute load average was at most {max(loads):.1f}. The "
                     "systems ran back to back, so that average still holds the last minute of the system before; "
                     "where other work shared the cores, a wall-clock budget bought less training, and that "
                     "system's speeds and latencies are lower bounds.")
    return "\n".join(f"- {part}" for part in parts)  # one point a bullet: a paragraph of numbers reads badly
