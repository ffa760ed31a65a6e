"""``hwr train EXPERIMENT --data SOURCE --out DIR [options]``: train one model.

Runs :func:`hwr.training.train`; calling it again on the same ``--out`` resumes
an unfinished run or returns at once for a finished one with the same
settings. Model overrides: ``-o gates=2 -o norm=bn`` (values parsed as Python
literals where possible, else kept as strings).

The training options are derived from :class:`~hwr.training.config.TrainConfig`:
one option per field (``batch_size`` -> ``--batch-size``), its type and
default from the dataclass and its help from the class's ``Attributes``
docstring, so a new field is an option without touching this file. Booleans
take ``--name`` / ``--no-name``; an optional value takes ``none``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import re

#: dataclass annotation (a string under ``from __future__ import annotations``) -> value parser
_TYPES = {"int": int, "float": float, "str": str}


def _field_types() -> dict:
    """Value parsers of the :class:`~hwr.training.config.TrainConfig` fields whose
    range TrainConfig leaves open: a negative seed or weight decay failed deep
    in training with a traceback, and a validation width of 0 or less padded
    nothing and was recorded as the run's setting. (The other fields are
    checked when the TrainConfig is made: one line, see :func:`config_from_args`.)"""
    from hwr.cli_types import non_negative_float, non_negative_int, positive_int

    return {"seed": non_negative_int, "weight_decay": non_negative_float, "val_width": positive_int}


def parse_override(text: str) -> tuple[str, object]:
    """``"key=value"`` -> (key, value); value as a Python literal when it parses."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"model override {text!r} is not key=value")
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key.strip(), value


def attribute_docs(cls) -> dict[str, str]:
    """``{field: description}`` from a Google-style ``Attributes:`` docstring section
    (each description joined onto one line)."""
    docs: dict[str, str] = {}
    lines = (cls.__doc__ or "").splitlines()
    inside, name, indent = False, None, None
    for line in lines:
        if line.strip() == "Attributes:":
            inside = True
            continue
        if not inside or not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        match = re.match(r"(\w+): ?(.*)", line.strip())
        if depth == indent and match:
            name = match.group(1)
            docs[name] = match.group(2)
        elif depth > indent and name:
            docs[name] += " " + line.strip()
        else:  # back to a lower indent: the section ended
            break
    return docs


def _optional(parse):
    """A value parser that also takes ``none`` (for ``X | None`` fields)."""

    def parser(text: str):
        return None if text.lower() == "none" else parse(text)

    parser.__name__ = parse.__name__  # argparse names the type in its error messages
    return parser


def _first_sentence(text: str) -> str:
    """The help line of a field: its description's first sentence, without reST quotes."""
    return re.split(r"(?<=\.)\s", text.replace("``", ""), maxsplit=1)[0].rstrip(".")


def add_config_options(parser: argparse.ArgumentParser, cls, types: dict | None = None) -> None:
    """One option per field of the dataclass ``cls`` (see the module docstring);
    ``types`` gives the value parser of some fields instead of their annotation's."""
    from hwr import device

    docs = attribute_docs(cls)
    default = cls()
    for field in dataclasses.fields(cls):
        flag = "--" + field.name.replace("_", "-")
        value = getattr(default, field.name)
        kind = str(field.type).replace(" ", "")
        optional = kind.endswith("|None")
        base = kind.removesuffix("|None")
        text = _first_sentence(docs.get(field.name, field.name)).replace("%", "%%")
        if field.name == "device":
            text = device.HELP
        if base == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value,
                                help=f"{text} (default {'on' if value else 'off'})")
            continue
        if base not in _TYPES:
            raise TypeError(f"hwr.training.cli: no option type for {cls.__name__}.{field.name}: {field.type}")
        parse = (types or {}).get(field.name, _TYPES[base])
        parse = _optional(parse) if optional else parse
        shown = "none" if value is None else value
        parser.add_argument(flag, type=parse, default=value, metavar=base.upper(),
                            help=f"{text} (default {shown})")


def configure(parser: argparse.ArgumentParser) -> None:
    from hwr.datasets.cli import add_line_policy
    from hwr.training.config import TrainConfig

    parser.add_argument("experiment", help="registry name (see `hwr experiments`), e.g. gate_1, ctc_baseline")
    parser.add_argument("--data", default="synth", help="dataset source: synth, synth:smoke, or a path (default: synth)")
    parser.add_argument("--out", required=True, help="run folder (checkpoints, history.csv, metrics.json)")
    add_line_policy(parser)
    add_config_options(parser.add_argument_group("training (hwr.training.TrainConfig)"), TrainConfig, _field_types())
    parser.add_argument("-o", "--override", action="append", type=parse_override, default=[], metavar="KEY=VALUE",
                        help="model override passed to hwr.models.build (repeatable)")


def config_from_args(args: argparse.Namespace):
    """The :class:`~hwr.training.config.TrainConfig` of parsed arguments (invalid values: one-line error)."""
    from hwr.errors import HwrError
    from hwr.training.config import TrainConfig

    try:
        return TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    except ValueError as e:
        raise HwrError(str(e)) from None


def training_data(args: argparse.Namespace):
    """``--data`` as given, or, with ``--bad skip`` / ``--unknown skip``, its
    train and valid splits opened under those rules."""
    if args.bad == "error" and args.unknown == "error":
        return args.data  # the loaders' defaults: the run's identity names the source as before
    from hwr.datasets import open_dataset

    return {split: open_dataset(args.data, split, bad=args.bad, unknown=args.unknown) for split in ("train", "valid")}


def main(args: argparse.Namespace) -> int:
    from hwr.errors import HwrError
    from hwr.models import MODELS
    from hwr.models.registry import check_overrides
    from hwr.training import train
    from hwr.training.distributed import from_env

    if args.experiment not in MODELS:  # before any data is opened or generated
        raise HwrError(f"unknown experiment {args.experiment!r}; known: {', '.join(MODELS)}")
    # before the data too: a misspelt key or a negative size failed only when the model was built
    check_overrides(args.experiment, dict(args.override))
    config = config_from_args(args)
    metrics = train(args.experiment, training_data(args), args.out, config, **dict(args.override))
    summary = {k: metrics[k] for k in ("best", "last", "epochs", "minutes", "lines_per_s", "stop_reason", "device")}
    if from_env().is_main:  # under torchrun, one summary for the run, not one per process
        print(json.dumps(summary, indent=2))
    return 0
