"""Tables for a learner per side and exploitability (issue 28), from finished run folders.

    python bench/learners.py SHARED_RUN SEPARATE_RUN

SHARED_RUN and SEPARATE_RUN are `debate train` folders of the same config but for
`policy.share`; `debate eval exploit SHARED_RUN --gen N` results under SHARED_RUN/exploit are
tabulated too. Accuracy is by held-out item (both seats averaged); choice shares are bootstrapped
over items too (an item's speeches are not independent); differences between the two settings
are paired by item (the same held-out items in both).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from debate.runfolder import RunFolder
from debate.schema import Transcript
from debate.stats.estimates import boot_mean
from debate.stats.formatting import estimate
from debate.suites.metrics import paired_difference
from debate.training.evaluate import correct_by_item


def choice_shares(transcripts: list[Transcript]) -> dict[str, dict]:
    """Per item, the share of its honest (liar) chosen spans that quote the deciding sentence."""
    by: dict[str, dict[str, list[bool]]] = {}
    for t in transcripts:
        for turn in t.turns:
            if turn.choice is None or turn.side is None:
                continue
            side = "honest" if turn.side == t.item.correct else "liar"
            span = turn.choice.spans[turn.choice.index]
            by.setdefault(side, {}).setdefault(t.item.id, []).append(span in t.item.deciding)
    return {
        s: {**boot_mean([sum(v) / len(v) for v in items.values()]),
            "speeches": sum(len(v) for v in items.values())}
        for s, items in by.items()
    }  # fmt: skip


def played(run: Path, g: int, arm: str) -> list[Transcript]:
    return RunFolder(run / "eval" / f"gen-{g}" / arm).read_transcripts()


def generations(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "generations.jsonl").read_text().splitlines() if x]


def learners_table(shared: Path, separate: Path) -> list[str]:
    rows = ["| gen | setting | self-play debate | consultancy | debate since gen 0 | "
            "consultancy since gen 0 | honest quotes deciding (debate) | liar quotes deciding "
            "(debate) | training reward |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for run, label in ((shared, "shared"), (separate, "separate")):
        for r in generations(run):
            g, e = r["generation"], r["eval"]
            c = choice_shares(played(run, g, "selfplay"))
            since = e.get("since_gen0", {})

            def d(arm: str, since: dict = since) -> str:
                m = since.get(arm)
                return f"{estimate(m, signed=True)}, p = {m['sign_test_p']:.3f}" if m else ""

            reward = f"{r['train_reward']:.3f}" if r.get("train_reward") is not None else ""
            rows.append(
                f"| {g} | {label} | {estimate(e['selfplay_accuracy'])} | "
                f"{estimate(e['consultancy_accuracy'])} | {d('selfplay')} | {d('consultancy')} | "
                f"{estimate(c.get('honest'))} | {estimate(c.get('liar'))} | {reward} |"
            )
    rows += ["", f"n = {generations(shared)[0]['eval']['selfplay_accuracy']['n']} held-out "
             "items in every row; choices: speeches per row "
             + ", ".join(str(choice_shares(played(run, r['generation'], 'selfplay'))['honest']
                             ['speeches']) for run in (shared, separate)
                         for r in generations(run))]  # fmt: skip
    rows += ["", "| gen | separate - shared, self-play debate | separate - shared, consultancy |",
             "| --- | --- | --- |"]  # fmt: skip
    for r in generations(separate):
        g = r["generation"]
        cells = []
        for arm in ("selfplay", "consultancy"):
            m = paired_difference(correct_by_item(played(separate, g, arm)),
                                  correct_by_item(played(shared, g, arm)))  # fmt: skip
            cells.append(f"{estimate(m, signed=True)}, p = {m['sign_test_p']:.3f} (n = {m['n']})")
        rows.append(f"| {g} | {' | '.join(cells)} |")
    return rows


def exploit_table(shared: Path) -> list[str]:
    rows = ["| frozen debater | vs base liar | vs best-response liar | exploitability | n items | "
            "liar quotes deciding, base -> best response | liar's training reward by update |",
            "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for path in sorted((shared / "exploit").glob("gen-*/exploit.json")):
        r = json.loads(path.read_text())
        folder = path.parent / "eval"
        before = choice_shares(RunFolder(folder / "gen-0" / "selfplay").read_transcripts())
        after = choice_shares(
            RunFolder(folder / f"gen-{r['updates']}" / "selfplay").read_transcripts()
        )
        x = r["exploitability"]
        rewards = ", ".join(f"{v:.3f}" for v in r["train_reward"])
        rows.append(
            f"| gen {r['generation']} | {estimate(r['accuracy_vs_base'])} | "
            f"{estimate(r['accuracy_vs_best_response'])} | {estimate(x, signed=True)}, "
            f"p = {x['sign_test_p']:.3f} | {r['n_items']} | {estimate(before.get('liar'))} -> "
            f"{estimate(after.get('liar'))} | {rewards} |"
        )
    return rows


if __name__ == "__main__":
    shared, separate = map(Path, sys.argv[1:3])
    print("\n".join(learners_table(shared, separate) + [""] + exploit_table(shared)))
