"""``hwr experiments``: list the thesis experiments with their parameter counts.

Builds every registry model (a few seconds on CPU) and prints name, thesis
id, our state count, trainable parameters, the thesis's count, whether they
match, and the thesis's legacy test CER. ``--json`` prints the same rows as a
JSON list of objects.
"""

from __future__ import annotations

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments (imports nothing heavy: ``hwr --help`` stays fast)."""
    parser.add_argument("names", nargs="*", help="experiments to list (default: all)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects instead of a table")


def rows(names: list[str] | None = None) -> list[dict]:
    """One dict per experiment (see :func:`hwr.models.report.parameter_rows`)."""
    from .report import parameter_rows

    from hwr.errors import HwrError

    try:
        return parameter_rows(names)
    except KeyError as err:
        raise HwrError(err.args[0]) from None


def format_table(table: list[dict]) -> str:
    """Fixed-width text table of :func:`rows` output."""
    head = ("name", "thesis id", "state count", "trainable", "thesis count", "match", "thesis CER %")
    body = [
        (r["name"], r["thesis_id"], f"{r['state_count']:,}", f"{r['trainable']:,}",
         f"{r['thesis_state_count']:,}", "yes" if r["match"] else "NO",
         "-" if r["thesis_cer"] is None else f"{r['thesis_cer']:.3f}")
        for r in table
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    align = ["<", "<", ">", ">", ">", "<", ">"]
    lines = ["  ".join(f"{c:{a}{w}}" for c, a, w in zip(row, align, widths)) for row in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Print the table (or JSON); exit status 1 if any count differs from the thesis."""
    import torch

    torch.set_num_threads(1)
    table = rows(args.names)
    print(json.dumps(table, indent=2) if args.json else format_table(table))
    return 0 if all(r["match"] for r in table) else 1
