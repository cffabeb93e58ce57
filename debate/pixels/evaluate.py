"""The paper's evaluation: an image counts as won for the truth only if the honest debater beats
the liar for every one of the 9 wrong labels. Each speaking order is run and reported apart
(who moves first shifts accuracy by several points)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import parse_qsl

import numpy as np
from pydantic import BaseModel, ConfigDict

from debate.pixels.debaters import (
    Debater,
    DebaterError,
    GreedyDebater,
    MCTSDebater,
    RandomDebater,
    SearchDebater,
)
from debate.pixels.game import Board, Game, PixelJudge
from debate.stats.estimates import boot_mean, proportion, sign_test

KINDS: dict[str, Callable[..., Debater]] = {
    "random": RandomDebater,
    "greedy": GreedyDebater,
    "search": SearchDebater,
    "mcts": MCTSDebater,
}
ORDERS = ("honest_first", "liar_first")


def make_debater(spec: str) -> Debater:
    """`greedy`, `search?depth=3&width=8`, `mcts?simulations=200`, `policy@FILE`."""
    name, _, query = spec.partition("?")
    if name.startswith("policy@"):
        from debate.pixels.policy import load_policy_debater

        return load_policy_debater(name.removeprefix("policy@"))
    if name not in KINDS:
        raise DebaterError(
            f"unknown pixel debater {name!r}; choose from {sorted(KINDS)} or policy@FILE"
        )
    opts: dict = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        try:
            opts[key] = float(value) if "." in value else int(value)
        except ValueError:
            raise DebaterError(f"pixel debater {spec!r}: {key} must be a number") from None
    try:
        return KINDS[name](**opts)
    except TypeError:
        raise DebaterError(f"pixel debater {spec!r}: unknown option among {sorted(opts)}") from None


def play(game: Game, debaters: Sequence[Debater], rng: np.random.Generator) -> Game:
    """Play to the end; `debaters[i]` argues `game.claims[i]`."""
    while not game.over:
        game = game.play(debaters[game.mover].move(game, rng))
    return game


class ImageOutcome(BaseModel):
    """One image against all 9 lies, in each order: whether the honest claim won each debate."""

    model_config = ConfigDict(extra="forbid")
    index: int
    label: int
    lies: list[int]
    honest_first: list[bool]
    liar_first: list[bool]
    p_true_honest_first: list[float]
    p_true_liar_first: list[float]

    def won(self, order: str) -> bool:
        return all(getattr(self, order))


def debate_image(
    judge: PixelJudge,
    image: np.ndarray,
    label: int,
    index: int,
    honest: Debater,
    liar: Debater,
    seed: int = 0,
) -> ImageOutcome:
    board = Board(judge, image)
    rng = np.random.default_rng([seed, index])
    lies = [d for d in range(10) if d != label]
    out: dict[str, list] = {o: [] for o in ORDERS} | {f"p_true_{o}": [] for o in ORDERS}
    for lie in lies:
        for order, first in (("honest_first", 0), ("liar_first", 1)):
            end = play(Game(board, (label, lie), first, judge.k), (honest, liar), rng)
            out[order].append(end.winner() == 0)
            out[f"p_true_{order}"].append(round(end.p_claims()[0], 4))
    return ImageOutcome(index=index, label=label, lies=lies, **out)


def evaluate(
    judge: PixelJudge,
    images: np.ndarray,
    labels: np.ndarray,
    honest: Debater,
    liar: Debater,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    first_index: int = 0,
) -> list[ImageOutcome]:
    """`first_index`: the test-set index of `images[0]` (outcomes are keyed by it)."""
    outcomes = []
    for i, (image, label) in enumerate(zip(images, labels)):
        index = first_index + i
        outcomes.append(debate_image(judge, image, int(label), index, honest, liar, seed))
        if progress:
            progress(i + 1)
    return outcomes


def accuracy(outcomes: list[ImageOutcome]) -> dict[str, dict]:
    """Per order: the share of images won against all 9 lies, with its Wilson interval."""
    return {o: proportion([x.won(o) for x in outcomes]) for o in ORDERS}


def paired(a: list[ImageOutcome], b: list[ImageOutcome]) -> dict[str, dict]:
    """Per order: accuracy(a) - accuracy(b) on the same images, a bootstrap interval over images
    and the exact sign test's p."""
    if [x.index for x in a] != [x.index for x in b]:
        raise ValueError("a paired comparison needs the same images in the same order")
    out = {}
    for o in ORDERS:
        diffs = [float(x.won(o)) - float(y.won(o)) for x, y in zip(a, b)]
        out[o] = boot_mean(diffs) | {"sign_test_p": sign_test(diffs)}
    return out
