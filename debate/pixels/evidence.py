"""Pixels as evidence. The hidden passage of an MNIST item is its image, written as 28 lines of
28 two-digit hex grey levels; a debater's speech names one pixel, `pixel (row, col)`, and the
harness checks it against the image as it checks a quote against a passage: the judge reads the
image's own grey level there, never a value the debater wrote. One pixel a turn: a speech's first
pixel counts, any other it names is shown unverified."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy loads when an image is read: not for `debate --help`
    import numpy as np

from debate.evidence import sanitize
from debate.pixels.data import N_PIXELS, SIDE
from debate.schema import QuoteCheck

PIXEL_RE = re.compile(r"pixel\s*\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)", re.I)
SHOWN_RE = re.compile(r"^pixel \((\d+), (\d+)\) = (\d+)$")


def encode_image(image: np.ndarray) -> str:
    import numpy as np

    rows = np.asarray(image, dtype=np.uint8).reshape(SIDE, SIDE)
    return "\n".join(row.tobytes().hex() for row in rows)


def decode_image(context: str) -> np.ndarray:
    """The (784,) uint8 image of an item's passage; ValueError if it is not one."""
    import numpy as np

    try:
        raw = bytes.fromhex("".join(context.split()))
    except ValueError:
        raise ValueError("the passage is not a hex-encoded 28x28 image") from None
    if len(raw) != N_PIXELS:
        raise ValueError(f"the passage holds {len(raw)} grey levels, not {N_PIXELS}")
    return np.frombuffer(raw, dtype=np.uint8).copy()


def position(row: int, col: int) -> int:
    return row * SIDE + col


def pixel_name(pos: int) -> str:
    return f"pixel ({pos // SIDE}, {pos % SIDE})"


def shown_pixel(pos: int, value: int) -> str:
    """What the judge reads of a verified pixel."""
    return f"{pixel_name(pos)} = {value}"


def mark_pixels(text: str, context: str) -> tuple[str, list[QuoteCheck]]:
    """What others read of a speech, and its pixel checks (one per pixel it names)."""
    image = decode_image(context)
    checks, shown, pos, counted = [], [], 0, False
    for m in PIXEL_RE.finditer(text):
        shown.append(sanitize(text[pos : m.start()]))
        row, col = int(m.group(1)), int(m.group(2))
        ok = not counted and row < SIDE and col < SIDE
        if ok:
            counted = True
            seen = shown_pixel(position(row, col), int(image[position(row, col)]))
            checks.append(
                QuoteCheck(text=m.group(0), verified=True, similarity=1.0, passage_text=seen)
            )
            shown.append(f" <v_quote>{seen}</v_quote> ")
        else:
            checks.append(QuoteCheck(text=m.group(0), verified=False, similarity=0.0))
            shown.append(f" <u_quote>{sanitize(m.group(0))}</u_quote> ")
        pos = m.end()
    shown.append(sanitize(text[pos:]))
    return re.sub(r"[ \t]{2,}", " ", "".join(shown)).strip(), checks


def parse_shown(passage_text: str) -> tuple[int, int] | None:
    """(position, grey level) of a verified pixel's text, or None for any other text."""
    m = SHOWN_RE.match(passage_text)
    if not m or int(m.group(1)) >= SIDE or int(m.group(2)) >= SIDE:
        return None
    return position(int(m.group(1)), int(m.group(2))), int(m.group(3))


def revealed(turns) -> list[tuple[int, int]]:
    """Every verified pixel of a transcript's turns, each once, in the order first shown."""
    out: dict[int, int] = {}
    for t in turns:
        for q in t.quotes:
            got = parse_shown(q.passage_text) if q.verified else None
            if got is not None:
                out.setdefault(*got)
    return list(out.items())


def image_view(item, turns) -> dict | None:
    """What the viewer draws for an image item: every grey level (the hidden image, drawn faint)
    and each verified pixel with the side that showed it; None for any other item."""
    if item.metadata.get("evidence") != "pixels":
        return None
    shown: dict[int, int | None] = {}
    for t in turns:
        for q in t.quotes:
            got = parse_shown(q.passage_text) if q.verified else None
            if got is not None and got[0] not in shown:
                shown[got[0]] = t.side
    levels = decode_image(item.context).tolist()
    return {"levels": levels, "shown": [{"pos": p, "side": s} for p, s in shown.items()]}
