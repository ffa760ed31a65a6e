"""Pick the torch device one way for every command (train, eval, recognize, bench).

``--device`` takes the same values everywhere: ``auto`` (CUDA when torch sees
a GPU, else the CPU), ``cpu``, ``cuda``, ``cuda:1``, ... A CUDA device asked
for on a machine without one is a usage error (:class:`DeviceError`, one
line, exit code 2), never a silent fall-back to the CPU: a timing or a run
labelled "cuda" must have run there.
"""

from __future__ import annotations

from hwr.errors import HwrError

#: help text of every ``--device`` option
HELP = "auto (CUDA when available, else CPU), cpu, cuda, cuda:1, ..."


class DeviceError(HwrError, ValueError):
    """A device name torch cannot use here."""


def resolve(name: str | None = "auto") -> str:
    """``"auto"`` (or None) -> ``"cuda"`` when a GPU is visible, else ``"cpu"``;
    other names are checked and returned as given.

    Raises:
        DeviceError: a CUDA device without CUDA, an index past the last GPU,
            or a name torch does not know.
    """
    import torch

    if name is None or name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"--device {name!r}: not a device name ({HELP})") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name!r}: torch sees no CUDA device on this machine (use cpu or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name!r}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return name


def add_argument(parser, default: str = "auto") -> None:
    """Add the common ``--device`` option to a command's parser."""
    parser.add_argument("--device", default=default, help=f"{HELP} (default {default})")
