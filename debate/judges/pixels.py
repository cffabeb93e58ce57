"""The `pixels` judge: the sparse MNIST classifier reading only the verified pixels of a
transcript (positions and grey levels), returning a probability for each claimed digit (its
softmax over the claimed labels' logits)."""

from __future__ import annotations

from pydantic import Field

from debate.config import ConfigError, Strict
from debate.match.judge import Case, Judge
from debate.registry import register
from debate.schema import Verdict


class PixelJudgeOptions(Strict):
    k: int = Field(6, ge=1, le=50, description="the pixels the judge was trained to read")
    weights: str | None = None  # a judge file; default: the cached judge for k


@register("judge", "pixels")
class PixelsJudge(Judge):
    options = PixelJudgeOptions

    def __init__(self, cfg):
        super().__init__(cfg)
        from debate.pixels.store import NoJudge, resolve

        try:  # before any match starts: a missing judge is a one-line error, not a failed run
            resolve(self.opts.k, self.opts.weights)
        except NoJudge as e:
            raise ConfigError(str(e)) from None

    @property
    def name(self) -> str:
        return f"pixels:k{self.opts.k}"

    def models(self) -> set[str]:
        return set()  # no language model

    async def decide(self, case: Case) -> Verdict:
        import torch

        from debate.pixels.data import SIDE
        from debate.pixels.evidence import decode_image, revealed
        from debate.pixels.store import load_judge

        judge = load_judge(self.opts.k, self.opts.weights)
        if case.sees_context:  # the expert baseline: every nonzero pixel of the image
            image = decode_image(case.item.context)
            shown = [(p, int(image[p])) for p in range(len(image)) if image[p]]
        else:
            shown = revealed(case.turns)
        # what it read, on the record (`debate judge` shows a person the same)
        listed = ", ".join(f"pixel ({p // SIDE}, {p % SIDE}) = {v}" for p, v in shown)
        case.views.append(f"Question: {case.item.question}\n"
                          f"Claims: {', '.join(case.item.answers)}\n"
                          f"Pixels shown: {listed or 'none'}")  # fmt: skip
        pos = torch.tensor([[p for p, _ in shown]], dtype=torch.long).reshape(1, -1)
        val = torch.tensor([[v / 255.0 for _, v in shown]]).reshape(1, -1)
        with torch.no_grad():
            logits = judge.net(pos, val)[0]
        claims = [int(a) for a in case.item.answers]
        probs = torch.softmax(logits[claims], dim=0).tolist()
        return Verdict(probs=probs, judge=self.name, calls=0, raw=f"{len(shown)} pixels")
