"""`pixels:KIND[?k=6&weights=FILE&...]`: a pixel debater as a model spec (KIND: random, greedy,
search, mcts, or policy@FILE; other options go to the kind, e.g. `pixels:mcts?simulations=64`).
It reads the request's `meta` (the image, its side, the pixels shown so far) like the scripted
debaters, and says `I reveal pixel (row, col).`"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from debate.models.base import Generation, GenerationRequest, LanguageModel, ModelError
from debate.registry import register


class PixelDebaterModel(LanguageModel):
    reads_task = True  # it plays from the image and the pixels shown, not from a prompt

    def __init__(self, spec: str, rest: str):
        from debate.pixels.debaters import DebaterError
        from debate.pixels.evaluate import make_debater

        self.spec = spec
        kind, _, query = rest.partition("?")
        opts = dict(parse_qsl(query, keep_blank_values=True))
        try:
            self.k = int(opts.pop("k", 6))
        except ValueError:
            raise ModelError(f"model spec {spec!r}: k must be a whole number") from None
        self.weights = opts.pop("weights", None)
        try:
            self.debater = make_debater(f"{kind}?{urlencode(opts)}" if opts else kind)
            self.greedy = make_debater("greedy")
        except DebaterError as e:
            raise ModelError(str(e)) from None

    async def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        return [self._move(r) for r in requests]

    def _move(self, r: GenerationRequest) -> Generation:
        import numpy as np

        from debate.pixels.evidence import decode_image, pixel_name
        from debate.pixels.game import Board, Game
        from debate.pixels.store import NoJudge, load_judge

        meta = r.meta
        if meta.get("side") is None or "revealed" not in meta:
            raise ModelError(f"{self.spec} can only debate MNIST items with an assigned side")
        try:
            judge = load_judge(self.k, self.weights)
        except NoJudge as e:
            raise ModelError(str(e)) from None
        side, answers = meta["side"], meta["answers"]
        claims = (int(answers[side]), int(answers[1 - side]))
        board = Board(judge, decode_image(meta["context"]))
        shown = [p for p, _ in meta["revealed"] if board.image[p] > 0]
        game = Game(board, claims, first=len(shown) % 2, k=max(self.k, len(shown) + 1))
        for p in shown:
            game = game.play(p)
        if game.over:
            return Generation(text="I have no pixel left to reveal.")
        # a consultant speaks alone: there is no opponent for search to answer
        debater = self.greedy if meta.get("role") == "consultant" else self.debater
        pixel = debater.move(game, np.random.default_rng(r.seed))
        return Generation(text=f"I reveal {pixel_name(pixel)}", tokens_out=4)


@register("backend", "pixels")
def _pixels(spec: str, rest: str) -> LanguageModel:
    if not rest:
        raise ModelError("write pixels:KIND, e.g. pixels:greedy")
    return PixelDebaterModel(spec, rest)
