"""Does the letter judge's next-token reading agree with scoring each label as a continuation?

    python bench/letter_agreement.py [--items 40] [--model smollm2]

For each item, with and without the passage, the judge prompt of the `letter` judge is read two
ways on a local model: (1) the first reply token's top-20 distribution, variants merged
(`debate.judges.scored.label_probs`, what an API gives); (2) the old path, the log-likelihood of each
bare label as the reply (`score`), softmaxed. Prints how often they pick the same answer and the
mean absolute difference in P(A).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from debate.judges.scored import TOP_K, label_probs
from debate.match.judge import softmax
from debate.models import Message, ScoreRequest, load_model
from debate.tasks.hidden_passage import hidden_passage


def prompts(n: int) -> list[list[Message]]:
    out = []
    for item in hidden_passage(n, seed=0):
        options = "\n".join(f"{x}: {a}" for x, a in zip("AB", item.answers))
        for passage in ("", f"Passage: {item.context}\n\n"):
            text = (
                f"{passage}Question: {item.question}\n\n{options}\n\n"
                "Which answer is correct? Reply with one letter: A, B."
            )
            out.append([Message(role="user", content=text)])
    return out


async def both(spec: str, ps: list[list[Message]]) -> tuple[list[float], list[float]]:
    model = load_model(spec)
    tops = await model.next_token_logprobs(ps, top_k=TOP_K)
    new = [label_probs(t, ["A", "B"])[0][0] for t in tops]
    scores = await model.score([ScoreRequest(prompt=p, continuation=x) for p in ps for x in "AB"])
    old = [softmax([scores[2 * i].logprob, scores[2 * i + 1].logprob])[0] for i in range(len(ps))]
    return new, old


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--model", default="smollm2")
    a = ap.parse_args()
    new, old = asyncio.run(both(a.model, prompts(a.items)))
    same = sum((x > 0.5) == (y > 0.5) for x, y in zip(new, old))
    diffs = [abs(x - y) for x, y in zip(new, old)]
    print(f"{len(new)} judge prompts ({a.items} items, with and without the passage), {a.model}")
    print(f"same pick: {same}/{len(new)}; mean |dP(A)| = {statistics.mean(diffs):.4f}, "
          f"max {max(diffs):.4f}")  # fmt: skip
    print(f"mean P(A): top-logprobs {statistics.mean(new):.3f}, scored labels "
          f"{statistics.mean(old):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
