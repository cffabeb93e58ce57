"""`debate eval protocols`: does debate help a judge find the truth, compared with consultancy,
with judging alone, and with judging alone at the same number of model calls?

Every arm runs on the same items, with the same judge and debaters, each in its own run folder
under `<run>/arms/<arm>` (so each arm resumes on its own). Arms:
- `naive`: the judge sees only the question; `expert`: it also reads the hidden passage.
- `consultancy`: one consultant, assigned the true answer half the time.
- `sequential`, `simultaneous`: two-player debate, the debater against itself.
- `self-consistency`: the judge alone, asked as many times as a debate made model calls.
- `open-consultancy`, `open-debate` (not in the default list): the debater chooses its answer;
  reported also is how often the judge agrees with it when it chose the true or a false answer.
- `collaborative`, `majority-vote` (not in the default list): agents who state their own
  answers, discussing over `protocol.rounds` or voting once each; the vote gets collaborative
  debate's agents times its rounds, the same number of generations. Each round's vote is
  reported (accuracy by round).
Every difference reported between arms is paired over the items (all pairs of arms); the
honest advantage's interval is a bootstrap over items.
Every verdict is judged with the answers in both orders (`judge.orders: both`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pydantic import Field

from debate.config import (
    AgentConfig,
    ConfigError,
    JudgeConfig,
    ProtocolConfig,
    RunConfig,
    RunName,
    TaskConfig,
)
from debate.match.judge import make_judge
from debate.registry import entries, get, names
from debate.runfolder import RunFolder
from debate.schema import Transcript
from debate.stats.estimates import boot_mean
from debate.stats.formatting import estimate, kappa_text, share, sign_p
from debate.stats.outcomes import unparsed
from debate.suites.metrics import (
    order_correct,
    paired_difference,
    per_item,
)
from debate.usage import Usage, tracking
from debate.usage import markdown as usage_markdown

# the default arms: the two bounds, consultancy and debate (`simultaneous` and the
# compute-matched `self-consistency` are there to add with `arms`)
ARMS = ["naive", "expert", "consultancy", "sequential"]
# the order paired differences are taken in: baselines first, the expert's ceiling last
RANK = ["naive", "self-consistency", "consultancy", "open-consultancy", "majority-vote",
        "collaborative", "sequential", "simultaneous", "open-debate", "interactive", "expert"]  # fmt: skip


class ProtocolSuiteConfig(RunConfig):
    name: RunName = "eval-protocols"
    task: TaskConfig = Field(default_factory=lambda: TaskConfig(n_items=100))
    # one match per item (sides drawn per item): consultants are right half the time
    protocol: ProtocolConfig = Field(default_factory=lambda: ProtocolConfig(sides="random"))
    judge: JudgeConfig = Field(default_factory=lambda: JudgeConfig(orders="both"))
    debaters: list[AgentConfig] = Field(
        default_factory=lambda: [AgentConfig(name="smollm2", model="smollm2")]
    )
    arms: list[str] = Field(default_factory=lambda: list(ARMS))
    # which debate arm the self-consistency baseline matches in model calls
    compute_match: str = "sequential"
    checkpoint: str = ""  # a label for the history (e.g. a training generation)


def arm_config(cfg: ProtocolSuiteConfig, arm: str, judge_samples: int = 1) -> RunConfig:
    """The run of one arm: the suite's settings, with the protocol params each arm's protocol
    takes (the compute-matched baseline gets its number of judge samples; the majority vote as
    many agents as collaborative debate makes speeches)."""
    data = cfg.model_dump(exclude={"arms", "compute_match", "checkpoint", "name", "out"})
    takes = get("protocol", arm).options.model_fields
    params = {k: v for k, v in data["protocol"]["params"].items() if k in takes}
    if "judge_samples" in takes:
        params["judge_samples"] = judge_samples
    if arm == "majority-vote":
        params["n_agents"] = vote_agents(cfg)
    data["protocol"].update(name=arm, params=params)
    return RunConfig(name=arm, out=str(cfg.run_dir / "arms"), **data)


def vote_agents(cfg: ProtocolSuiteConfig) -> int:
    """Agents of the majority-vote arm: collaborative debate's agents times its rounds, so the
    two make the same number of generations (each agent speaks once a round)."""
    default = get("protocol", "collaborative").options.model_fields["n_agents"].default
    return cfg.protocol.params.get("n_agents", default) * cfg.protocol.rounds


def calls_per_match(transcripts: list[Transcript], n_orders: int) -> int:
    """Model calls a debate spent per match and answer order: its speeches plus one verdict."""
    per = [len(t.turns) + t.verdict.calls / n_orders for t in transcripts if t.verdict]
    return max(1, round(sum(per) / len(per))) if per else 1


def check(cfg: ProtocolSuiteConfig) -> None:
    known = set(names("protocol"))
    bad = [a for a in cfg.arms if a not in known]
    if bad:
        raise ConfigError(f"unknown arm(s) {bad}; choose from {sorted(known)}")
    if len(set(cfg.arms)) != len(cfg.arms):
        raise ConfigError(f"arms named more than once: {cfg.arms}")
    if "self-consistency" in cfg.arms and cfg.compute_match not in cfg.arms:
        raise ConfigError(
            f"compute_match {cfg.compute_match!r} must be one of the arms, to count its calls"
        )


def run_suite(
    cfg: ProtocolSuiteConfig, on_arm: Callable[[str], Callable[[int, int], None]] | None = None
) -> dict:
    from debate.run.runner import abandoned_on_failure, run, warm_models

    check(cfg)
    folder = RunFolder(cfg.run_dir)
    # before any model loads: a folder in use or holding another run is refused at once
    folder.claim(cfg)
    # every model before the first arm: a bad spec fails before any arm is played or written
    with abandoned_on_failure(folder):
        warm_models({a.model for a in cfg.debaters} | make_judge(cfg.judge).models())
    start = time.perf_counter()
    transcripts: dict[str, list[Transcript]] = {}
    order = sorted(cfg.arms, key=lambda a: a == "self-consistency")  # it needs a debate's count
    # one budget for the whole suite: every arm's calls are billed to it as well
    spent = Usage(cfg.prices, max_cost=cfg.max_cost, max_tokens=cfg.max_tokens)
    for arm in order:
        samples = 1
        if arm == "self-consistency":
            n_orders = 2 if cfg.judge.orders == "both" else 1
            samples = calls_per_match(transcripts[cfg.compute_match], n_orders)
        arm_cfg = arm_config(cfg, arm, samples)
        # each arm carries no limit of its own: the suite's budget stops it
        arm_cfg = arm_cfg.model_copy(update={"max_cost": None, "max_tokens": None})
        with tracking(spent):
            arm_results = run(arm_cfg, on_progress=on_arm(arm) if on_arm else None)
        if arm_results["unplayed_matches"] and (reason := spent.over_budget()):
            raise ConfigError(
                f"stopped in arm {arm!r}: {reason}; finished matches are kept, re-run the same "
                "command (with a higher limit) to resume"
            )
        transcripts[arm] = RunFolder(arm_cfg.run_dir).read_transcripts()
    results = summarize(cfg, transcripts)
    results["usage"] = spent.report().model_dump()
    results["wall_s"] = round(time.perf_counter() - start, 2)
    folder.write_results(results)
    write_report(cfg, results)
    record_history(cfg, results)
    return results


def record_history(cfg: ProtocolSuiteConfig, results: dict) -> None:
    from debate.suites import history

    metrics = {f"accuracy/{a}": m["accuracy"] for a, m in results["arms"].items()}
    metrics.update({f"difference/{k}": d for k, d in results["paired_differences"].items()})
    rows = [
        history.HistoryRow(
            time=history.now(),
            suite="protocols",
            run=cfg.name,
            model=cfg.debaters[0].model,
            judge=results["judge"],
            checkpoint=cfg.checkpoint,
            metric=k,
            value=m["value"],
            ci95=m["ci95"],
            n=m["n"],
        )  # fmt: skip
        for k, m in metrics.items()
        if m["value"] is not None
    ]
    history.append(cfg.out, rows)


def summarize(cfg: ProtocolSuiteConfig, transcripts: dict[str, list[Transcript]]) -> dict:
    correct = {a: per_item(ts, order_correct) for a, ts in transcripts.items()}
    arms = {}
    for arm in cfg.arms:
        ts = sorted(transcripts[arm], key=lambda t: t.match_id)  # sums in one order, every run
        arms[arm] = {
            "accuracy": {**boot_mean(list(correct[arm].values()), cfg.seed), **unparsed(ts)},
            "mean_p_correct": boot_mean(list(per_item(ts, lambda t: t.p_correct).values())),
            "judge_calls_per_match": sum(t.verdict.calls for t in ts) / max(1, len(ts)),
            "matches": len(ts),
            # every registered metric of an arm's transcripts (position_bias, sides,
            # calibration, choices, open, and any a plugin adds)
            **{name: metric(ts) for name, metric in entries("metric").items()},
        }
    # every pair of arms, each difference paired over the items both judged, the later arm
    # of RANK minus the earlier (a debate minus its baselines, the expert minus the rest)
    ranked = sorted(cfg.arms, key=lambda a: RANK.index(a) if a in RANK else len(RANK))
    diffs = {
        f"{a} - {b}": paired_difference(correct[a], correct[b], cfg.seed)
        for i, a in enumerate(ranked)
        for b in ranked[:i]
    }
    return {"suite": "protocols", "judge": make_judge(cfg.judge).name, "arms": arms,
            "paired_differences": diffs}  # fmt: skip


def markdown(cfg: ProtocolSuiteConfig, results: dict) -> str:
    lines = [
        f"# Protocol comparison `{cfg.name}`",
        "",
        f"Task `{cfg.task.name}` ({cfg.task.n_items} items, the same in every arm), judge "
        f"`{results['judge']}` reading {cfg.judge.reads}, answers judged in "
        f"{'both orders' if cfg.judge.orders == 'both' else 'the given order'}, debater "
        f"`{cfg.debaters[0].model}` ({cfg.debaters[0].prompt_style}), seed {cfg.seed}. "
        "Intervals: 95% bootstrap over items.",
        "",
        "| arm | accuracy | P(true answer) | Brier | ECE | first-listed bias | "
        "honest advantage | fooled by wrong speaker | judge calls/match |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for arm, m in results["arms"].items():
        pb, sides, cal = m["position_bias"], m["sides"], m["calibration"]
        adv = sides["honest_advantage"] if sides else None
        lines.append(
            f"| {arm} | {estimate(m['accuracy'])} | {estimate(m['mean_p_correct'])} | "
            f"{cal['brier']:.3f} | {cal['ece']:.3f} | "
            f"{estimate(pb['first_listed_minus_half'], True) if pb else '-'} | "
            f"{'-' if adv is None or adv['value'] is None else estimate(adv, True)} | "
            f"{estimate(sides['fooled_by_wrong_speaker']) if sides else '-'} | "
            f"{m['judge_calls_per_match']:.1f} |"
        )
    chosen = {a: m["choices"] for a, m in results["arms"].items() if m["choices"]["choices"]}
    if chosen:
        lines += [
            "",
            "| arm | honest quotes deciding | liar quotes deciding | "
            "liar quotes distractor | chosen spans |",
            "| --- | --- | --- | --- | --- |",
        ]
        for arm, c in chosen.items():
            lines.append(f"| {arm} | {share(c['honest_quotes_deciding'])} | "
                         f"{share(c['liar_quotes_deciding'])} | {share(c['liar_quotes_distractor'])} "
                         f"| {c['choices']} |")  # fmt: skip
    lines += ["", "| paired difference in accuracy | value (95% CI) | sign test p |",
              "| --- | --- | --- |"]  # fmt: skip
    for k, d in results["paired_differences"].items():
        lines.append(f"| {k} | {estimate(d, True)} | {sign_p(d)} |")
    lines += open_markdown(results)
    lines += judges_markdown(results)
    lines += rounds_markdown(results)
    lines += ["", "![reliability](plots/reliability.png)", ""]
    if results.get("usage"):
        lines.append(usage_markdown(results["usage"]))
    return "\n".join(lines)


def judges_markdown(results: dict) -> list[str]:
    """A panel judge's members compared, per arm: each one's accuracy over verdicts (unread
    ones counted), and how often two pick alike, raw and as Cohen's kappa."""
    lines = []
    for arm, m in results["arms"].items():
        j = m.get("judges")
        if not j:
            continue
        lines += ["", f"| {arm}: judge | accuracy over verdicts (Wilson 95% CI) | unparsed |",
                  "| --- | --- | --- |"]  # fmt: skip
        lines += [f"| {name} | {estimate(s['accuracy'])} | {s['unparsed']} of {s['n']} |"
                  for name, s in j["judges"].items()]  # fmt: skip
        lines += ["", f"| {arm}: judges | same pick (Wilson 95% CI) | Cohen's kappa "
                  "(bootstrap 95% CI) | no pick |", "| --- | --- | --- | --- |"]  # fmt: skip
        lines += [f"| {pair} | {estimate(a['rate'])} | {kappa_text(a['kappa'])} | {a['no_pick']} |"
                  for pair, a in j["agreement"].items()]  # fmt: skip
    return lines


def open_markdown(results: dict) -> list[str]:
    """The open arms' table: does the judge follow a debater who chose the true answer more
    often than one who chose a false one?"""
    rows = [(a, m["open"]) for a, m in results["arms"].items() if m.get("open")]
    if not rows:
        return []
    lines = [
        "",
        "| open arm (Wilson 95% intervals) | chose the true answer | judge agrees if it chose true | "
        "judge agrees if it chose false | gap |",
        "| --- | --- | --- | --- | --- |",
    ]
    for arm, o in rows:
        lines.append(
            f"| {arm} | {estimate(o['chose_true'])} | {estimate(o['agrees_if_chose_true'])} | "
            f"{estimate(o['agrees_if_chose_false'])} | {estimate(o['agreement_gap'], True)} |"
        )
    return lines


def rounds_markdown(results: dict) -> list[str]:
    """Arms whose agents vote (collaborative debate, majority vote): accuracy of each round's
    vote, beside how many agents stated a readable answer."""
    rows = [(a, m["rounds"]) for a, m in results["arms"].items() if m.get("rounds")]
    if not rows:
        return []
    lines = ["", "| voting arm | round | vote accuracy (95% CI) | agents stating an answer (Wilson) |",
             "| --- | --- | --- | --- |"]  # fmt: skip
    for arm, r in rows:
        for x in r["by_round"]:
            lines.append(f"| {arm} | {x['round'] + 1} | {estimate(x['accuracy'])} | "
                         f"{estimate(x['stated_answer'])} |")  # fmt: skip
    return lines


def write_report(cfg: ProtocolSuiteConfig, results: dict) -> Path:
    from debate.present.plots import reliability_diagram
    from debate.present.report import write_html_report

    plots = cfg.run_dir / "plots"
    plots.mkdir(exist_ok=True)
    reliability_diagram({a: m["calibration"]["curve"] for a, m in results["arms"].items()},
                        plots / "reliability.png")  # fmt: skip
    path = cfg.run_dir / "report.md"
    path.write_text(markdown(cfg, results))
    write_html_report(cfg.run_dir)
    return path
