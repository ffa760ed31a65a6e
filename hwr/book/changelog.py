"""The run store's changelog: what each commit did to the book's numbers, read from git.

Every number in the book comes from a run record under ``results/<profile>/runs``, and those records are
committed. So the history of the numbers is the git history of the records: a commit that adds a run's
``test.json`` publishes a number, one that deletes it withdraws one, and one that deletes a run and adds
another of the same model and seed replaces a number (a new recipe, a fixed bug). :func:`store_changes`
reads that history in two git calls; :func:`changelog_markdown` writes it as the appendix's table
(``% RUN CHANGELOG`` in ``book/changelog.md``).

A checkout without the history (a shallow clone, an unpacked archive) says so instead of inventing one.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hwr import paths
from hwr.profile import Profile

MARKER = "% RUN CHANGELOG"


@dataclass
class Change:
    """One commit's changes to the store: runs added, removed and re-recorded, each with its test CER."""

    commit: str
    date: str
    subject: str
    added: dict[str, float | None] = field(default_factory=dict)
    removed: dict[str, float | None] = field(default_factory=dict)
    changed: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    def replaced(self) -> list[tuple[str, str]]:
        """(old, new) pairs of a removed and an added run of the same model and seed, oldest id first."""
        pairs, free = [], sorted(self.added)
        for old in sorted(self.removed):
            new = next((n for n in free if model_seed(n) == model_seed(old)), None)
            if new is not None:
                pairs.append((old, new))
                free.remove(new)
        return pairs


def model_seed(run_id: str) -> str:
    """``gate_1-s0-42d598a5bd`` -> ``gate_1-s0``: a run's model and seed, without its spec digest."""
    return run_id.rsplit("-", 1)[0]


def _git(args: list[str], cwd: Path, stdin: str | None = None) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True)
    except OSError:  # no git on this machine
        return None
    return proc.stdout if proc.returncode == 0 else None


def _cers(specs: list[str], cwd: Path) -> dict[str, float | None]:
    """The test CER in each ``<commit>:<path>`` of ``specs`` (a test.json), read in one ``git cat-file``."""
    if not specs:
        return {}
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=cwd, input=("\n".join(specs) + "\n").encode(),
                         capture_output=True).stdout
    cers, pos = {}, 0
    for spec in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] == b"missing":
            cers[spec] = None
            continue
        size = int(header[2])
        try:
            cer = json.loads(out[pos:pos + size]).get("cer")
            cers[spec] = float(cer) if cer is not None else None
        except (ValueError, AttributeError):
            cers[spec] = None
        pos += size + 1
    return cers


def store_changes(store: Path, repo: Path | None = None) -> list[Change] | None:
    """Every commit that touched a run's ``test.json`` under ``store``, newest first; None where the
    checkout has no git history to read (no git, not a repository, or a shallow clone)."""
    repo = Path(repo) if repo is not None else paths.ROOT
    shallow = _git(["rev-parse", "--is-shallow-repository"], repo)
    if shallow is None or shallow.strip() == "true":
        return None
    if _git(["rev-parse", "--verify", "-q", "HEAD"], repo) is None:  # a repository without a commit yet
        return []
    try:
        rel = Path(store).resolve().relative_to(repo.resolve())
    except ValueError:  # a store outside the repository (a test's or CI's temporary one) has no history
        return None
    log = _git(["log", "--no-renames", "--date=short", "--format=%x00%H%x09%ad%x09%s", "--name-status", "--",
                f"{rel.as_posix()}/*/test.json"], repo)
    if log is None:
        return None
    changes, wanted = [], []
    for block in log.split("\x00")[1:]:
        head, *lines = block.strip("\n").split("\n")
        sha, date, subject = head.split("\t", 2)
        change = Change(sha, date, subject)
        for line in filter(None, lines):
            status, path = line.split("\t", 1)
            run = Path(path).parent.name
            here, before = f"{sha}:{path}", f"{sha}^:{path}"
            if status == "A":
                change.added[run] = here
                wanted.append(here)
            elif status == "D":
                change.removed[run] = before
                wanted.append(before)
            else:
                change.changed[run] = (before, here)
                wanted += [before, here]
        changes.append(change)
    cers = _cers(wanted, repo)
    for c in changes:
        c.added = {k: cers[v] for k, v in c.added.items()}
        c.removed = {k: cers[v] for k, v in c.removed.items()}
        c.changed = {k: (cers[a], cers[b]) for k, (a, b) in c.changed.items()}
    return changes


def _pct(cer: float | None) -> str:
    return "?" if cer is None else f"{100 * cer:.1f}\u00a0%"


def _runs(runs: dict[str, float | None], limit: int = 6) -> str:
    items = [f"`{r}` {_pct(c)}" for r, c in sorted(runs.items())]
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" and {more} more" if more > 0 else "")


def describe(change: Change) -> str:
    """One commit's changes in words: replacements first (old -> new CER), then additions, removals and
    re-recorded runs."""
    parts, added, removed = [], dict(change.added), dict(change.removed)
    for old, new in change.replaced():
        parts.append(f"`{model_seed(new)}` {_pct(removed.pop(old))} \u2192 {_pct(added.pop(new))}")
    if added:
        parts.append(f"added {_runs(added)}")
    if removed:
        parts.append(f"withdrawn {_runs(removed)}")
    for run, (a, b) in sorted(change.changed.items()):
        if a != b:
            parts.append(f"`{run}` re-recorded {_pct(a)} \u2192 {_pct(b)}")
    return "; ".join(parts) or "records rewritten, test CER unchanged"


def _subject(text: str, limit: int = 90) -> str:
    text = text.replace("|", "/").replace("`", "")
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " \u2026"


def changelog_markdown(profile: str, store: Path | None = None, repo: Path | None = None) -> str:
    """The appendix's changelog of ``profile``'s run store: a table, newest commit first (a plain table, not a
    numbered one: the appendix is unnumbered, see :func:`hwr.book.site.run_records`)."""
    store = Path(store) if store is not None else Profile.load(profile).results / "runs"
    changes = store_changes(store, repo)
    if changes is None:
        return (f"The run store of this build (profile `{profile}`) has no git history here (a store "
                "outside the repository, a shallow clone or an archive), so there is no changelog to show. "
                "A full clone of the repository shows it.")
    if not changes:
        return f"No run record of profile `{profile}` has been committed yet."
    runs = {r for c in changes for r in c.added}
    kept = sum((store / r / "test.json").exists() for r in runs)
    out = [f"{len(changes)} commits published the {len(runs)} runs ever recorded under profile `{profile}`, "
           f"{kept} of which are in the store today; newest first. Where a commit replaced a run, the line "
           "shows its model and seed with the old and the new test CER (*old \u2192 new*).", "",
           "| date | commit | what changed |", "|:---|:---|:---|"]
    for c in changes:
        date = c.date.replace("-", "\u2011")  # a date that does not wrap
        out.append(f"| {date} | `{c.commit[:7]}` | {describe(c)}<br>"
                   f"<small>{_subject(c.subject)}</small> |")
    return "\n".join(out)
