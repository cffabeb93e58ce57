"""What chosen-span debaters quote (`speech: choose`): the honest side should quote the sentence
that decides the question; a liar either concedes (quotes it too) or quotes a distractor (a
sentence naming its own, wrong answer). Reported every evaluation so a collapse shows."""

from __future__ import annotations

from debate.registry import register
from debate.schema import Transcript, names_answer


@register("metric", "choices")
def choice_stats(transcripts: list[Transcript]) -> dict:
    """Shares of chosen spans, by whether the speaker argued the true answer. `None` where no
    speech of that kind was a chosen span."""
    honest, liar = [], []
    for t in transcripts:
        for turn in t.turns:
            if turn.choice is None or turn.side is None:
                continue
            span = turn.choice.spans[turn.choice.index]
            deciding = span in t.item.deciding
            own = names_answer(span, t.item.answers[turn.side])
            row = (deciding, own and not deciding, max(turn.choice.probs))
            (honest if turn.side == t.item.correct else liar).append(row)

    def share(rows: list, k: int) -> float | None:
        return sum(r[k] for r in rows) / len(rows) if rows else None

    return {
        "honest_quotes_deciding": share(honest, 0),
        "liar_quotes_deciding": share(liar, 0),
        "liar_quotes_distractor": share(liar, 1),
        "mean_top_choice_prob": share(honest + liar, 2),
        "choices": len(honest) + len(liar),
    }
