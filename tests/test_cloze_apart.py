"""The cloze judge reading quotes apart: each quote alone, mixed by its relevance to the question.

Real components: the packaged SmolLM2 judge and a sequential debate in which each side quotes
the real sentence that names its answer (the deciding sentence against the distractor)."""

import asyncio

import pytest
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import AgentConfig, JudgeConfig, TaskConfig
from debate.match.judge import make_judge
from debate.match.match import Match
from debate.runfolder import RunFolder
from debate.suites.protocols import ProtocolSuiteConfig, run_suite

pytestmark = pytest.mark.slow


def debates(tmp_path, quotes: str, n_items: int = 24):
    judge = JudgeConfig(kind="cloze", model="smollm2", params={"quotes": quotes})
    cfg = ProtocolSuiteConfig(
        out=str(tmp_path), name=quotes, task=TaskConfig(n_items=n_items, seed=3), judge=judge,
        debaters=[AgentConfig(name="honest", model="scripted:honest")], arms=["sequential"],
    )  # fmt: skip
    run_suite(cfg)
    folder = cfg.run_dir / "arms" / "sequential"
    return cfg, list(RunFolder(folder).read_transcripts())


def rejudge_reversed(cfg, transcripts, quotes: str) -> list[list[float]]:
    """Each debate judged again with its speeches read last to first."""
    from debate.config import RunConfig

    judge_cfg = JudgeConfig(kind="cloze", model="smollm2", params={"quotes": quotes})
    judge = make_judge(judge_cfg)
    run = RunConfig(debaters=cfg.debaters, judge=judge_cfg)
    agents = {a.name: a for a in cfg.debaters}

    async def one(t):
        t = t.model_copy(deep=True)
        t.turns.reverse()
        return (
            await Match(t, run, {r: agents[n] for r, n in t.agents.items()}, judge).decide()
        ).probs

    async def every():
        return [await one(t) for t in transcripts]

    return asyncio.run(every())


def test_apart_answers_from_the_quote_about_the_subject_whatever_the_order(tmp_path):
    got = {q: debates(tmp_path, q) for q in ("together", "apart")}
    argued = {q: [t for t in ts if all(u.quotes for u in t.turns)] for q, (_, ts) in got.items()}
    assert len(argued["apart"]) >= 20  # each side quoted the real sentence naming its answer

    # the relevance weight goes to the quote that names the person the question asks about
    for t in argued["apart"]:
        weights = [float(w) for w in t.verdict.raw.removeprefix("quote weights: ").split()]
        quotes = [u.quotes[0].passage_text for u in t.turns]
        subject = next(q for q in quotes if q.split()[0] in t.item.question)
        assert quotes[max(range(len(weights)), key=weights.__getitem__)] == subject

    # read apart, the order of the quotes does not matter; read together, it does
    apart_cfg, apart_ts = got["apart"]
    for before, after in zip(apart_ts, rejudge_reversed(apart_cfg, apart_ts, "apart")):
        assert after == pytest.approx(before.verdict.probs, abs=1e-6)
    together_cfg, together_ts = got["together"]
    flipped = rejudge_reversed(together_cfg, together_ts, "together")
    assert any(abs(a[0] - t.verdict.probs[0]) > 0.05 for a, t in zip(flipped, together_ts))

    # and the judge is right more often: the distractor no longer wins by being read last
    right = {q: sum(t.verdict.choice == t.item.correct for t in ts) for q, ts in argued.items()}
    assert right["apart"] >= right["together"] + 3, right


def test_a_lone_quote_is_read_the_same_apart_or_together(tmp_path):
    # consultancy: one quote, so there is nothing to weigh
    for quotes in ("together", "apart"):
        judge = JudgeConfig(kind="cloze", model="smollm2", params={"quotes": quotes})
        cfg = ProtocolSuiteConfig(
            out=str(tmp_path), name=f"c-{quotes}", task=TaskConfig(n_items=3), judge=judge,
            debaters=[AgentConfig(name="honest", model="scripted:honest")], arms=["consultancy"],
        )  # fmt: skip
        run_suite(cfg)
    probs = {}
    for q in ("together", "apart"):
        ts = RunFolder(tmp_path / f"c-{q}/arms/consultancy").read_transcripts()
        probs[q] = [p for t in sorted(ts, key=lambda t: t.match_id) for p in t.verdict.probs]
    assert len(probs["apart"]) == 6
    assert probs["apart"] == pytest.approx(probs["together"], abs=1e-6)


def test_apart_with_a_view_it_cannot_split_is_one_clear_line(tmp_path):
    res = CliRunner().invoke(
        app,
        ["run", "--debater", "scripted:honest", "--n-items", "1", "--out", str(tmp_path),
         "--set", "judge.params.quotes=apart", "--set", "judge.reads=speeches"],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "judge.params.quotes" in res.output and "Traceback" not in res.output
    assert not any(tmp_path.iterdir())  # nothing written


def test_a_folder_judged_the_other_way_is_not_resumed_into_one_result(tmp_path):
    """`quotes: auto` is decided at run time, so the config alone cannot tell the two readings
    apart: the verdicts name the reading, and a folder whose finished matches were read the
    other way (as the version before apart existed wrote them) is refused, untouched."""
    args = ["run", "--debater", "scripted:honest", "--n-items", "2", "--out", str(tmp_path),
            "--name", "r"]  # fmt: skip
    assert CliRunner().invoke(app, args).exit_code == 0
    folder = tmp_path / "r"
    judged = {t.verdict.judge for t in RunFolder(folder).read_transcripts()}
    assert judged == {"cloze:smollm2 (quotes apart, chained)"}
    lines = (folder / "transcripts.jsonl").read_text()
    first = lines.splitlines()[0]
    # one match of two finished, by the judge reading together
    (folder / "transcripts.jsonl").write_text(
        first.replace("cloze:smollm2 (quotes apart, chained)", "cloze:smollm2") + "\n"
    )
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "judged by 'cloze:smollm2'" in res.output and "quotes apart" in res.output
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_a_fragment_of_a_quoted_sentence_adds_nothing_to_the_verdict(tmp_path):
    """An attack found by red-teaming the apart judge: the liar quotes the deciding sentence cut
    just before its answer ("Tomas works as a…"). The fragment verifies, and read alone it made
    the question likely (most of the weight) while answering it with the judge's prior, which
    flipped 6 of 31 debates. Its words all stand in a quote the judge already reads, so it must
    change nothing: every verdict equals the one where the liar quoted nothing."""
    import json

    from debate.config import ProtocolConfig, RunConfig
    from debate.run import runner

    items = runner.load_items("hidden-passage", 8, 0, {})
    cut = {it.id: it.deciding[0].rsplit(" ", 1)[0] for it in items}
    attack, silent = tmp_path / "attack.json", tmp_path / "silent.json"
    attack.write_text(json.dumps({k: f"My answer. <quote>{v}</quote>" for k, v in cut.items()}))
    silent.write_text(json.dumps({"*": "My answer."}))

    def verdicts(name: str, script) -> dict:
        cfg = RunConfig(
            name=name, out=str(tmp_path), task=TaskConfig(n_items=8),
            protocol=ProtocolConfig(name="sequential"),
            debaters=[AgentConfig(name="honest", model="scripted:honest"),
                      AgentConfig(name="liar", model=f"scripted:say@{script}")],
        )  # fmt: skip
        runner.run(cfg)
        ts = RunFolder(cfg.run_dir).read_transcripts()
        # only the matches where the liar argues the false answer (it quotes the same either way)
        return {t.match_id: t for t in ts if t.assignment[
            next(r for r, a in t.agents.items() if a == "liar")] != t.item.correct}  # fmt: skip

    attacked, alone = verdicts("attack", attack), verdicts("silent", silent)
    assert attacked.keys() == alone.keys() and len(attacked) == 8
    for mid, t in attacked.items():
        liar_quotes = [q for u in t.turns if u.agent == "liar" for q in u.quotes]
        assert liar_quotes and all(q.verified for q in liar_quotes)  # it reached the evidence
        assert t.verdict.probs == pytest.approx(alone[mid].verdict.probs, abs=1e-9), mid
