"""``hwr run``: execute chapters with a parameter profile, then render the book."""

from __future__ import annotations

import argparse
import sys

import yaml

from hwr.book import RunnerError
from hwr.book.chapters import chapters, declared_parameters, read_notebook, resolve_chapter


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chapters", nargs="*", metavar="CHAPTER",
                        help="chapters to run (ch01, ch01_data or book/ch01_data.py); default: all")
    parser.add_argument("--profile", default="smoke", help="parameter profile in configs/ (default: smoke)")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a chapter parameter (value parsed as YAML, checked against its declared type)")
    parser.add_argument("--force", action="store_true", help="run even if the inputs did not change")
    parser.add_argument("--build", dest="build", action="store_true", default=None,
                        help="render the book afterwards (default when running all chapters)")
    parser.add_argument("--no-build", dest="build", action="store_false", help="do not render the book")
    parser.add_argument("--build-only", action="store_true", help="only render the book from existing runs")
    parser.add_argument("--list", action="store_true", help="list chapters and their parameters")


def parse_param(name: str, text: str):
    """The value of ``-p NAME VALUE``: ``text`` parsed as YAML (``6``, ``1.5``, ``[0, 1]``, ``gate_1``).

    Raises:
        RunnerError: the text is not YAML (an unclosed bracket, say), naming the parameter.
    """
    from hwr.files import yaml_problem

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RunnerError(f"-p {name} {text}: not a YAML value: {yaml_problem(e)}") from None


def main(args: argparse.Namespace) -> int:
    from hwr.book.execute import run_chapter
    from hwr.book.site import build_book

    try:
        if args.list:
            for ch in chapters():
                print(ch.stem)
                for name, p in declared_parameters(read_notebook(ch)).items():
                    print(f"    {name}: {p['type']} = {p['default']}  {p['help']}")
            return 0
        if not args.build_only:
            selected = [resolve_chapter(c) for c in args.chapters] or chapters()
            overrides = {name: parse_param(name, text) for name, text in args.param}
            if overrides and len(selected) > 1:
                raise RunnerError("-p overrides apply to one chapter at a time; name the chapter")
            for ch in selected:
                run_chapter(ch, args.profile, overrides, force=args.force)
        build = args.build if args.build is not None else (args.build_only or not args.chapters)
        if build:
            build_book(args.profile)
    except RunnerError as e:
        print(f"hwr run: error: {e}", file=sys.stderr)  # the one-line shape of hwr.cli
        return e.exit_code
    return 0
