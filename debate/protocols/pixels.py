"""`random-pixels`: the paper's baseline judge, which sees k pixels drawn at random from the
image's nonzero ones (the naive arm of the MNIST eval)."""

from __future__ import annotations

import random

from pydantic import Field

from debate.config import Strict
from debate.match.match import Match
from debate.match.protocol import protocol
from debate.schema import Turn


class RandomPixelsOptions(Strict):
    k: int = Field(6, ge=1, le=50)


@protocol("random-pixels", roles=(), options=RandomPixelsOptions)
async def random_pixels(m: Match) -> None:
    from debate.pixels.evidence import decode_image, mark_pixels, pixel_name

    image = decode_image(m.item.context)
    nonzero = [p for p in range(len(image)) if image[p]]
    rng = random.Random(m.transcript.seed)
    for r, p in enumerate(rng.sample(nonzero, min(m.options.k, len(nonzero)))):
        text = f"Chance reveals {pixel_name(p)}."
        shown, quotes = mark_pixels(text, m.item.context)
        m.transcript.turns.append(Turn(speaker="chance", agent="random", side=None, round=r,
                                       text=text, shown=shown, quotes=quotes))  # fmt: skip
    await m.decide()
