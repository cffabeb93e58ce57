"""The adversarial corpus (`evidence_corpus.py`) through the public engine, in every judge view,
with the real SmolLM2 tokenizer, read as the judge and the other debater read it.

Each attack is one item: a scripted debater speaks the attack as Debater A, and Debater B
quotes whole true sentences, in a sequential debate. A try is one attack in one view at one
threshold. It is forged when anything the judge or Debater B reads as verified passage text is
not whole consecutive sentences of the passage (the corpus's own sentences, not the
segmenter's), with the quoted words marked at most; it suppresses when a sentence B quoted is
missing from what the judge reads (or, with attribution, is not under B's answer). The checks
read the prompts and do not use `debate.evidence`.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from evidence_corpus import ATTACKS, PASSAGES, build

from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, RunConfig, TaskConfig
from debate.models import load_model, smollm2_gguf
from debate.registry import register
from debate.run import runner
from debate.runfolder import RunFolder
from debate.schema import Item
from debate.segmenter import sentence_spans

pytestmark = pytest.mark.slow

TEXT = {name: build(paragraphs) for name, paragraphs in PASSAGES.items()}
MARKS_RE = re.compile(r"[^⟦⟧]*(?:⟦[^⟦⟧]+⟧[^⟦⟧]*)*")
VIEWS = ("speeches", "evidence", "attributed", "apart")
TALLY: Counter = Counter()


@register("task", "evidence-corpus")
def corpus_items(n_items: int, seed: int) -> list[Item]:
    return [Item(id=a.name, question=asked(a), answers=list(a.answers), correct=0,
                 context=TEXT[a.passage][0]) for a in ATTACKS[:n_items]]  # fmt: skip


def asked(a) -> str:
    return f"{a.question} ({a.name})"  # each item's own, so its prompts can be told apart


@pytest.fixture(scope="module")
def tokenizer():
    """The real SmolLM2 tokenizer alone (no weights), from the converted GGUF folder."""
    from transformers import AutoTokenizer

    from debate.models.hf import convert_gguf

    return AutoTokenizer.from_pretrained(convert_gguf(smollm2_gguf()))


def norm(text: str) -> str:
    return " ".join(text.split())


def whole_sentences(shown: str, gold: list[str]) -> bool:
    """Whether a verified text is whole consecutive sentences of the passage, marks aside."""
    if not MARKS_RE.fullmatch(shown) or "…" in shown:
        return False
    piece, sents = norm(shown.replace("⟦", "").replace("⟧", "")), [norm(s) for s in gold]
    return any(piece == " ".join(sents[i:j]) for i in range(len(sents))
               for j in range(i + 1, len(sents) + 1))  # fmt: skip


def evidence_lines(content: str) -> dict[str | None, list[str]]:
    """The verified lines of an evidence view, by the answer named above them (None: unnamed)."""
    out: dict[str | None, list[str]] = {}
    for block in re.split(
        r"\n(?=Evidence from the passage)", content.split("Evidence from", 1)[-1]
    ):
        head, _, body = block.partition(":\n")
        named = (
            re.findall(r'"([^"]*)"', head.split(" arguing ", 1)[1]) if " arguing " in head else []
        )
        lines = [line[1:-1] for line in body.split("\n\n", 1)[0].splitlines()
                 if line.startswith('"') and line.endswith('"')]  # fmt: skip
        for name in named or [None]:
            out.setdefault(name, []).extend(lines)
    return out


def speech_quotes(content: str) -> list[str]:
    return re.findall(r"<v_quote>(.*?)</v_quote>", content, re.S)


def run_view(tmp_path, tokenizer, view: str, threshold: float, fragments: str = "sentence"):
    """The transcripts, and for each item what the judge and Debater B read."""
    tag = f"{view}-{threshold}-{fragments}"
    script = tmp_path / f"say-{tag}.json"
    script.write_text(json.dumps({a.name: {"A": a.speech, "B": a.honest} for a in ATTACKS}))
    debater = f"scripted:say@{script}"
    load_model(debater).tokenizer = tokenizer  # it counts its budget in SmolLM2 tokens
    if view == "apart":
        judge = JudgeConfig(kind="cloze", model="smollm2", params={"quotes": "apart"})
        model = load_model("smollm2")
        seen: list = []
        real_score = model.score

        async def spy(requests):  # the real model scores; we keep what it was asked
            seen.extend(requests)
            return await real_score(requests)

        model.score = spy
    else:
        judge_script = tmp_path / f"judge-{tag}.json"
        judge_script.write_text(json.dumps({"*": "Final answer: A"}))
        judge = JudgeConfig(kind="verdict", model=f"scripted:say@{judge_script}",
                            reads="speeches" if view == "speeches" else "evidence",
                            attribute=view == "attributed")  # fmt: skip
    cfg = RunConfig(
        name=f"corpus-{tag}", out=str(tmp_path / "runs"),
        debaters=[AgentConfig(name="attacker", model=debater)], judge=judge,
        protocol=ProtocolConfig(name="sequential", rounds=1, sides="random", speech_tokens=128),
        task=TaskConfig(name="evidence-corpus", n_items=len(ATTACKS)),
        evidence={"quote_threshold": threshold, "fragments": fragments},
    )  # fmt: skip
    try:
        runner.run(cfg)
    finally:
        if view == "apart":
            del model.score
    transcripts = {t.item.id: t for t in RunFolder(cfg.run_dir).read_transcripts()}
    read: dict[str, dict] = {}
    for a in ATTACKS:
        question = f"Question: {asked(a)}"
        debater_prompts = [p[-1].content for p in load_model(debater).prompts
                           if question in p[-1].content and "<speech by=" in p[-1].content]  # fmt: skip
        if view == "apart":
            judge_reads = apart_reads(seen, question, transcripts[a.name].item.context)
        else:
            [prompt] = [p[-1].content for p in load_model(judge.model).prompts
                        if question in p[-1].content]  # fmt: skip
            judge_reads = prompt
        read[a.name] = {"judge": judge_reads, "debater": debater_prompts}
    return transcripts, read


def apart_reads(requests, question: str, passage: str) -> dict[str | None, list[str]]:
    """What the apart judge read: each quote alone in an evidence view, and in the relevance
    prompt (which names no question, so it is matched by the passage's sentences)."""
    lines = []
    for r in requests:
        content = r.prompt[-1].content if isinstance(r.prompt, list) else r.prompt
        if question in content:
            lines += evidence_lines(content).get(None, [])
        elif content.startswith('Passage: "') and r.continuation.strip() == question[10:]:
            lines.append(content[len('Passage: "') :].split('"\n\nWrite a question', 1)[0])
    return {None: list(dict.fromkeys(lines))}


def problems_of(a, t, read, view: str) -> tuple[list[str], list[str]]:
    gold = TEXT[a.passage][1]
    judge = read["judge"]
    if view == "speeches":
        shown = {None: speech_quotes(judge[judge.index("<speech by=") :])}
    elif view == "apart":
        shown = judge
    else:
        shown = evidence_lines(judge)
    texts = list(dict.fromkeys(x for xs in shown.values() for x in xs))
    texts += [x for p in read["debater"] for x in speech_quotes(p)]
    forged = [f"not whole sentences: {x!r}" for x in texts if not whole_sentences(x, gold)]
    honest = [turn for turn in t.turns if turn.speaker == "B"]
    b_side = t.item.answers[honest[0].side]
    suppressed = [f"B's quote unverified: {q.text!r}" for u in honest for q in u.quotes
                  if not q.verified]  # fmt: skip
    for sentence in [s for u in honest for q in u.quotes for s in gold
                     if q.verified and norm(s) in norm(q.text)]:  # fmt: skip
        where = shown.get(b_side if view == "attributed" else None, [])
        if view == "speeches":
            where = [x for u in honest for x in speech_quotes(u.shown)]
        if not any(norm(x) == norm(sentence) for x in where):
            suppressed.append(f"missing: {sentence!r}")
    return forged, suppressed


@pytest.mark.parametrize(
    ("view", "threshold"),
    [(v, th) for v in VIEWS for th in ((1.0, 0.8) if v != "apart" else (1.0,))],
)
def test_no_attack_on_real_prose_is_read_as_verified_text_or_hides_the_other_side(
    tmp_path, tokenizer, view, threshold
):
    transcripts, read = run_view(tmp_path, tokenizer, view, threshold)
    failures = {}
    for a in ATTACKS:
        forged, suppressed = problems_of(a, transcripts[a.name], read[a.name], view)
        TALLY["tried"] += 1
        TALLY["forged"] += bool(forged)
        TALLY["suppressed"] += bool(suppressed)
        if forged or suppressed:
            failures[a.name] = forged + suppressed
    print(f"\ncorpus ({view}, threshold {threshold}): {len(ATTACKS)} tried; running total "
          f"{TALLY['tried']} tried, {TALLY['forged']} forged, "
          f"{TALLY['suppressed']} suppressed")  # fmt: skip
    assert not failures


def test_shown_bare_the_same_attacks_forge_so_the_check_can_fail(tmp_path, tokenizer):
    """`evidence.fragments: bare` shows a quoted piece alone, as the harness did before: the same
    check then finds forgeries, in the classes the issue reported."""
    transcripts, read = run_view(tmp_path, tokenizer, "evidence", 1.0, fragments="bare")
    forged = {a.name: a.kind for a in ATTACKS
              if problems_of(a, transcripts[a.name], read[a.name], "evidence")[0]}  # fmt: skip
    print(f"\nshown bare: {len(forged)} of {len(ATTACKS)} forged: {sorted(forged)}")
    assert {"qualifier", "reported", "splitting"} <= set(forged.values())


def test_the_segmenter_finds_the_corpus_sentences():
    """Boundaries where the corpus has them (recall), and none where it has not (precision): a
    boundary too many is what would let a piece of a sentence pass as a whole one."""
    found = right = gold_n = exact = 0
    for text, gold in TEXT.values():
        starts, pos = [], 0
        for s in gold:
            starts.append(text.index(s, pos))
            pos = starts[-1] + len(s)
        spans = sentence_spans(text)
        got = {a for a, _ in spans}
        found += len(got)
        right += len(got & set(starts))
        gold_n += len(starts)
        exact += len({(a, a + len(s)) for a, s in zip(starts, gold)} & set(spans))
    print(f"\nsegmenter on the corpus: {gold_n} sentences; boundaries: recall {right}/{gold_n}, "
          f"precision {right}/{found}; sentences exact {exact}/{gold_n}")  # fmt: skip
    assert right == found  # no boundary inside a sentence
    assert right >= 0.95 * gold_n
