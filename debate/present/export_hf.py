"""`debate export RUN --format hf`: a run's transcripts as a Hugging Face `datasets` dataset
(saved with `save_to_disk`; `datasets.load_from_disk(OUT / "transcripts")` reads it back), one
row per transcript, with fixed features (docs/export.md documents every column). A training
run's branched rollouts add a `preferences` dataset in trl's preference format (prompt, chosen,
rejected): it is built by the training package (`debate.training.rollouts.saved_groups`) and
saved here.
"""

from __future__ import annotations

from pathlib import Path

from debate.match.judge import judge_models
from debate.schema import Transcript

NONE = -1  # an integer column's "none" (no side, no pick): Arrow columns are typed


def features():
    from datasets import Features, List, Value

    turn = {"speaker": Value("string"), "agent": Value("string"), "model": Value("string"),
            "side": Value("int32"), "round": Value("int32"), "text": Value("string"),
            "shown": Value("string"), "quotes": Value("int32"),
            "verified_quotes": Value("int32")}  # fmt: skip
    speaker = {"role": Value("string"), "agent": Value("string"), "model": Value("string"),
               "side": Value("int32")}  # fmt: skip
    return Features({
        "match_id": Value("string"), "group": Value("string"), "item_id": Value("string"),
        "question": Value("string"), "answers": List(Value("string")), "correct": Value("int32"),
        "context": Value("string"), "protocol": Value("string"), "seed": Value("int64"),
        "speakers": List(speaker), "turns": List(turn),
        "judge": Value("string"), "judge_model": Value("string"), "probs": List(Value("float64")),
        "choice": Value("int32"), "parsed": Value("bool"), "judge_correct": Value("bool"),
        "p_correct": Value("float64"), "verdict_text": Value("string"), "error": Value("string"),
    })  # fmt: skip


def row(t: Transcript, group: str) -> dict:
    models = {r: str(t.provenance.agents.get(a, {}).get("model", "")) for r, a in t.agents.items()}
    v = t.verdict
    return {
        "match_id": t.match_id, "group": group, "item_id": t.item.id,
        "question": t.item.question, "answers": t.item.answers, "correct": t.item.correct,
        "context": t.item.context, "protocol": t.protocol, "seed": t.seed,
        "speakers": [{"role": r, "agent": a, "model": models[r],
                      "side": t.assignment.get(r, NONE)} for r, a in t.agents.items()],
        "turns": [{"speaker": u.speaker, "agent": u.agent, "model": models.get(u.speaker, ""),
                   "side": NONE if u.side is None else u.side, "round": u.round, "text": u.text,
                   "shown": u.shown, "quotes": len(u.quotes),
                   "verified_quotes": sum(q.verified for q in u.quotes)} for u in t.turns],
        "judge": v.judge if v else "", "judge_model": judge_models(t.provenance.judge),
        "probs": v.probs if v else [], "choice": NONE if v is None or v.choice is None else v.choice,
        "parsed": bool(v and v.parsed), "judge_correct": t.judge_correct,
        "p_correct": t.p_correct if v else float("nan"), "verdict_text": v.raw if v else "",
        "error": t.error,
    }  # fmt: skip


def transcripts_dataset(groups: dict[str, list[Transcript]]):
    from datasets import Dataset

    rows = [row(t, g) for g, ts in groups.items() for t in ts]
    columns = {name: [r[name] for r in rows] for name in features()}  # typed even when empty
    return Dataset.from_dict(columns, features=features())


def write_hf(groups: dict[str, list[Transcript]], preferences: list[dict], out: Path) -> dict:
    """`out/transcripts` always; `out/preferences` when there are preference pairs."""
    from datasets import Dataset

    written = {"transcripts": transcripts_dataset(groups)}
    if preferences:
        written["preferences"] = Dataset.from_list(preferences)
    for name, ds in written.items():
        ds.save_to_disk(str(out / name))
    return {name: len(ds) for name, ds in written.items()}
