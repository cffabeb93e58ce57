"""The pixel debate game (Irving et al. 2018, section 3.1) as plain state, separate from the
harness's matches so that search can copy and replay it cheaply.

Two debaters are committed to two labels of one image, `claims[0]` and `claims[1]`. They take
turns revealing one nonzero pixel each until k are shown; the sparse judge then reads the k pixels
and picks one of the two claims. Who moves first is `first`. A debater's score of a position is
its *margin*: the judge's logit for its own claim minus the other's (log-odds between the two).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from debate.pixels.judge_net import SparseJudgeNet


class PixelJudge:
    """A trained sparse judge, wrapped for games: per-image rows and batched margins."""

    def __init__(self, net: SparseJudgeNet, k: int):
        self.net, self.k = net, k

    @torch.no_grad()
    def rows(self, image: np.ndarray) -> torch.Tensor:
        """(784, H): what each pixel, shown with this image's grey level, adds to the first layer."""
        val = torch.from_numpy(image.astype(np.float32) / 255.0)
        return self.net.shown.weight + val.unsqueeze(-1) * self.net.value.weight

    @torch.no_grad()
    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Logits from first-layer sums `h` (..., H); h excludes the bias."""
        return self.net.rest(h + self.net.bias)

    def probs(self, h: torch.Tensor, claims: tuple[int, int]) -> torch.Tensor:
        """P(claim 0), P(claim 1): the judge's softmax over the two claimed labels only."""
        return torch.softmax(self.logits(h)[..., list(claims)], dim=-1)


@dataclass
class Board:
    """One image under debate: what every pixel would add, and which pixels may be shown."""

    judge: PixelJudge
    image: np.ndarray  # (784,) uint8
    rows: torch.Tensor = field(init=False)
    allowed: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.rows = self.judge.rows(self.image)
        self.allowed = np.flatnonzero(self.image > 0)


@dataclass
class Game:
    board: Board
    claims: tuple[int, int]
    first: int  # index of the claim whose debater moves first
    k: int
    revealed: list[int] = field(default_factory=list)
    h: torch.Tensor | None = None  # the first-layer sum of what is revealed

    def __post_init__(self) -> None:
        if self.h is None:
            self.h = torch.zeros(self.board.rows.shape[1])

    @property
    def over(self) -> bool:
        return len(self.revealed) >= self.k or len(self.revealed) >= len(self.board.allowed)

    @property
    def mover(self) -> int:
        """Index of the claim whose debater reveals the next pixel."""
        return (self.first + len(self.revealed)) % 2

    @property
    def moves_left(self) -> int:
        return min(self.k, len(self.board.allowed)) - len(self.revealed)

    def candidates(self) -> np.ndarray:
        """The pixels still to reveal: nonzero, not yet shown."""
        return np.setdiff1d(self.board.allowed, self.revealed, assume_unique=True)

    def play(self, pixel: int) -> Game:
        """The game after `pixel` is revealed (a new object: search keeps the old one)."""
        if pixel in self.revealed or self.board.image[pixel] == 0:
            raise ValueError(f"pixel {pixel} cannot be revealed (blank or shown already)")
        return Game(self.board, self.claims, self.first, self.k, [*self.revealed, pixel],
                    self.h + self.board.rows[pixel])  # fmt: skip

    def margin(self, side: int) -> float:
        """Judge's log-odds for claim `side` over the other, on what is shown now."""
        logits = self.board.judge.logits(self.h)
        return float(logits[self.claims[side]] - logits[self.claims[1 - side]])

    def child_margins(self, side: int, cands: np.ndarray | None = None):
        """(candidates, margins for `side` after each is revealed): one batched judgement."""
        cands = self.candidates() if cands is None else cands
        logits = self.board.judge.logits(self.h + self.board.rows[torch.from_numpy(cands)])
        return cands, (logits[:, self.claims[side]] - logits[:, self.claims[1 - side]]).numpy()

    def p_claims(self) -> list[float]:
        return self.board.judge.probs(self.h, self.claims).tolist()

    def winner(self) -> int:
        """Index of the claim the judge prefers (ties go to neither: -1)."""
        m = self.margin(0)
        return 0 if m > 0 else 1 if m < 0 else -1
