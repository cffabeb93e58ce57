"""`debate export RUN --format inspect`: a run's transcripts as inspect_ai eval logs, built from
inspect's own log classes and written by its own writer, so `inspect view` and every tool that
reads inspect logs reads them.

One log per transcripts file (a tournament's or an eval suite's folders give several), one
sample per transcript: the question and answers as the input, every speech as an assistant
message (named by its model, with speaker, side and quotes in its metadata), the judge's verdict
as the last message and the output, the judge's pick as the `judge` score (C, I, or N for a
verdict that could not be read) with every answer's probability in its metadata, the
probability on the true answer as the `p_correct` score, and every model call of the match as a
model event. The speakers' and the judge's models are the log's model roles.
"""

from __future__ import annotations

import importlib.metadata
import time
from pathlib import Path

from debate import __version__
from debate.config import ConfigError
from debate.match.judge import judge_models
from debate.match.prompts import LABELS
from debate.schema import ModelCall, Transcript
from debate.stats.estimates import proportion

INSPECT_EXTRA = "pip install 'debate-harness[inspect]'"


def need_inspect() -> None:
    try:
        import inspect_ai  # noqa: F401
    except ImportError:
        raise ConfigError(f"--format inspect needs inspect_ai: {INSPECT_EXTRA}") from None


def role_models(t: Transcript) -> dict[str, str]:
    """Speaker role -> model spec, and the judge's."""
    out = {r: str(t.provenance.agents.get(a, {}).get("model", a)) for r, a in t.agents.items()}
    out["judge"] = judge_models(t.provenance.judge)
    return out


def question_text(t: Transcript) -> str:
    answers = "\n".join(f"{LABELS[i]}: {a}" for i, a in enumerate(t.item.answers))
    return f"Question: {t.item.question}\n\n{answers}"


def chat(prompt: list[dict] | str) -> list:
    from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser

    if isinstance(prompt, str):
        return [ChatMessageUser(content=prompt)]
    kinds = {"system": ChatMessageSystem, "assistant": ChatMessageAssistant}
    return [kinds.get(m.get("role"), ChatMessageUser)(content=str(m.get("content", "")))
            for m in prompt]  # fmt: skip


def model_event(call: ModelCall):
    from inspect_ai.event import ModelEvent
    from inspect_ai.model import GenerateConfig, ModelOutput

    s = call.sampling
    config = GenerateConfig(
        temperature=s.temperature if s else None,
        top_p=s.top_p if s else None,
        max_tokens=s.max_new_tokens if s else None,
        seed=call.seed,
    )
    return ModelEvent(
        model=call.model,
        role=call.role,
        input=chat(call.prompt),
        tools=[],
        tool_choice="none",
        config=config,
        output=ModelOutput.from_content(model=call.model, content=call.reply),
        metadata={
            "kind": call.kind,
            "prefill": call.prefill,
            "continuation": call.continuation,
            "logprob": call.logprob,
            "top_logprobs": call.top_logprobs or None,
        },  # fmt: skip
    )


def sample(t: Transcript):
    from inspect_ai.log import EvalError, EvalSample
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, ModelOutput
    from inspect_ai.scorer import CORRECT, INCORRECT, NOANSWER, Score

    models = role_models(t)
    question = ChatMessageUser(content=question_text(t))
    messages: list = [question]
    for turn in t.turns:
        side = turn.side
        messages.append(ChatMessageAssistant(
            content=turn.shown, model=models.get(turn.speaker, turn.agent), source="generate",
            metadata={"speaker": turn.speaker, "agent": turn.agent, "round": turn.round,
                      "side": side, "answer": t.item.answers[side] if side is not None else None,
                      "text": turn.text,
                      "quotes": [{"text": q.text, "verified": q.verified} for q in turn.quotes]},
        ))  # fmt: skip
    v = t.verdict
    scores, output = None, ModelOutput.from_content(model=models["judge"], content="")
    if v is not None:
        pick = v.choice
        answer = LABELS[pick] if pick is not None else None
        said = v.raw or (f"Final answer: {answer}" if answer else "no pick")
        messages.append(ChatMessageAssistant(content=said, model=models["judge"],
                                             metadata={"speaker": "judge", "judge": v.judge}))  # fmt: skip
        output = ModelOutput.from_content(model=models["judge"], content=said)
        value = NOANSWER if not v.parsed else CORRECT if pick == t.item.correct else INCORRECT
        scores = {
            "judge": Score(
                value=value,
                answer=answer,
                explanation=v.raw or None,
                reason=None if v.parsed else "invalid_response_format",
                metadata={"judge": v.judge, "parsed": v.parsed,
                          "probs": dict(zip(LABELS, v.probs)), "order_probs": v.order_probs,
                          "members": [{"judge": m.judge, "parsed": m.parsed, "probs": m.probs}
                                      for m in v.members]},
            ),
            "p_correct": Score(value=t.p_correct),
        }  # fmt: skip
    return EvalSample(
        id=t.match_id,
        epoch=1,
        input=[question],
        choices=t.item.answers,
        target=LABELS[t.item.correct],
        messages=messages,
        output=output,
        scores=scores,
        metadata={
            "item_id": t.item.id,
            "protocol": t.protocol,
            "assignment": t.assignment,
            "agents": t.agents,
            "models": models,
            "seed": t.seed,
            "context": t.item.context,
            "deciding": t.item.deciding,
            "error": t.error,
            "judge": v.judge if v else None,
        },  # fmt: skip
        events=[model_event(c) for c in t.calls],
        total_time=t.wall_s,
        error=EvalError(message=t.error, traceback="", traceback_ansi="") if t.error else None,
    )


def eval_log(transcripts: list[Transcript], task: str, config: dict):
    """One inspect EvalLog of these transcripts (one run's, or one arm's)."""
    from inspect_ai.log import (
        EvalConfig,
        EvalDataset,
        EvalError,
        EvalLog,
        EvalMetric,
        EvalResults,
        EvalScore,
        EvalSpec,
        EvalStats,
    )
    from inspect_ai.model import ModelConfig

    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    roles: dict[str, list[str]] = {}
    for t in transcripts:
        for role, spec in role_models(t).items():
            roles.setdefault(role, [])
            if spec not in roles[role]:
                roles[role].append(spec)
    model_roles = {r: ModelConfig(model=s[0]) if len(s) == 1 else [ModelConfig(model=x) for x in s]
                   for r, s in roles.items()}  # fmt: skip
    judged = [t for t in transcripts if t.verdict is not None]
    accuracy = proportion([t.judge_correct for t in judged])
    unparsed = sum(not t.verdict.parsed for t in judged)
    protocols = sorted({t.protocol for t in transcripts})
    spec = EvalSpec(
        created=now,
        task=task,
        task_args={"protocols": protocols},
        dataset=EvalDataset(
            name=str(config.get("task", {}).get("name", "")),
            samples=len(transcripts),
            sample_ids=[t.match_id for t in transcripts],
        ),  # fmt: skip
        model=roles.get("judge", [""])[0],
        model_roles=model_roles,
        config=EvalConfig(),
        packages={
            "debate-harness": __version__,
            "inspect_ai": importlib.metadata.version("inspect_ai"),
        },  # fmt: skip
        metadata={"run_config": config},
    )
    results = EvalResults(
        total_samples=len(transcripts),
        completed_samples=len(judged),
        scores=[
            EvalScore(name="judge", scorer="judge", scored_samples=len(judged), metrics={
                "accuracy": EvalMetric(name="accuracy", value=accuracy["value"] or 0.0),
                "unparsed": EvalMetric(name="unparsed", value=unparsed)}),
            EvalScore(name="p_correct", scorer="p_correct", metrics={
                "mean": EvalMetric(name="mean", value=sum(t.p_correct for t in judged)
                                   / max(1, len(judged)))}),
        ],
    )  # fmt: skip
    failed = [t for t in transcripts if t.error]
    error = None
    if not judged:  # nothing to score: the log says the run failed, not "accuracy 0"
        first = failed[0].error if failed else "no match was judged"
        error = EvalError(message=f"{len(failed)} of {len(transcripts)} matches failed; first: "
                          f"{first}", traceback="", traceback_ansi="")  # fmt: skip
    return EvalLog(status="error" if error else "success", eval=spec,
                   results=results if judged else None, error=error,
                   stats=EvalStats(started_at=now, completed_at=now),
                   samples=[sample(t) for t in transcripts])  # fmt: skip


def write_inspect(groups: dict[str, tuple[list[Transcript], dict]], out: Path) -> list[Path]:
    """One `.eval` log per group (its transcripts and its run config) in `out`."""
    need_inspect()
    from inspect_ai.log import write_eval_log

    paths = []
    for group, (transcripts, config) in groups.items():
        path = out / f"{group.replace('/', '-')}.eval"
        write_eval_log(eval_log(transcripts, f"debate/{group}", config), str(path))
        paths.append(path)
    return paths
