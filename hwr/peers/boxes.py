"""Write Tesseract LSTM training boxes for line images with a transcription beside them.

Usage: python hwr/peers/boxes.py OUT_DIR LINE.png [LINE.png ...]

For each ``NAME.png`` with ``NAME.gt.txt`` next to it, this writes into OUT_DIR:

- ``NAME.png``: a symbolic link to the image (``tesseract IMG BASE lstm.train``
  looks for the box file beside the image, under the image's own stem),
- ``NAME.box``: one box per character, every box spanning the whole image,
  then a tab "character" marking the end of the text line.

That is the layout Tesseract's LSTM trainer expects for single-line images
("line boxes"): the LSTM learns the alignment itself through CTC, so only the
order of the characters matters, not where they are. Box coordinates are
``left bottom right top page`` with the origin at the bottom left, so a box
over the whole image is ``0 0 WIDTH HEIGHT 0``. Combining marks (accents given
as separate code points after NFC) stay with the character before them, so a
box always holds one grapheme as the unicharset sees it.

Only the standard library is used: PNG sizes are read from the IHDR chunk; other
formats are read with Pillow where it is installed.
"""

from __future__ import annotations

import os
import struct
import sys
import unicodedata

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_size(path: str) -> tuple[int, int]:
    """Width and height of an image, in pixels."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    if head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    from PIL import Image  # only needed for formats other than PNG

    with Image.open(path) as image:
        return image.size


def graphemes(text: str) -> list[str]:
    """Split a line into box units: each base character with its combining marks."""
    units: list[str] = []
    for char in text:
        if units and unicodedata.combining(char):
            units[-1] += char
        else:
            units.append(char)
    return units


def box_lines(text: str, width: int, height: int) -> list[str]:
    """The lines of a .box file for one text line that fills the whole image."""
    text = unicodedata.normalize("NFC", text.strip())
    if not text:
        raise ValueError("empty transcription")
    whole = f"0 0 {width} {height} 0"
    rows = [f"{unit} {whole}" for unit in graphemes(text)]
    rows.append(f"\t {whole}")  # end of the text line
    return rows


def write_boxes(out_dir: str, images: list[str]) -> tuple[int, list[str]]:
    """Write ``NAME.box``, ``NAME.gt.txt`` and a link ``NAME.png`` into ``out_dir`` for each image.

    Returns:
        how many lines were written, and a message for each image skipped (no
        transcription, an empty one, an unreadable image).
    """
    os.makedirs(out_dir, exist_ok=True)
    written, skipped = 0, []
    for image in images:
        stem, _ = os.path.splitext(image)
        try:
            with open(stem + ".gt.txt", encoding="utf-8") as handle:
                text = handle.read()
            width, height = image_size(image)
            rows = box_lines(text, width, height)
        except (OSError, ValueError) as error:
            skipped.append(f"skip {image}: {error}")
            continue
        name = os.path.basename(stem)
        link = os.path.join(out_dir, os.path.basename(image))
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(image), link)
        with open(os.path.join(out_dir, name + ".box"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(rows) + "\n")
        with open(os.path.join(out_dir, name + ".gt.txt"), "w", encoding="utf-8") as handle:
            handle.write(unicodedata.normalize("NFC", text.strip()) + "\n")
        written += 1
    return written, skipped


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    written, skipped = write_boxes(argv[0], argv[1:])
    for message in skipped:
        print(message, file=sys.stderr)
    print(f"{written} box files written to {argv[0]}, {len(skipped)} skipped", file=sys.stderr)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
