"""The summary part of the viewer's page: each kind of run folder's tables (from results.json or
generations.jsonl, formatted as its report.md formats them), the report's prose and its plots.
A number links to the matches behind it through a filter of the match list."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from debate.files import read_bytes, read_lines, read_text
from debate.runfolder import RunFolder, RunFolderError
from debate.stats.formatting import elo, estimate, pct, sign_p, signed_pct


def link(text: str, **filters: object) -> dict:
    """A table cell that, clicked, filters the match list (an empty filter: all matches)."""
    return {"text": text, "filter": {k: str(v) for k, v in filters.items()}}


def plots_of(run_dir: Path) -> list[dict]:
    pngs = sorted(run_dir.glob("plots/*.png"))
    return [
        {"title": p.stem.replace("_", " "),
         "src": "data:image/png;base64,"
                + base64.b64encode(read_bytes(p, "plot", RunFolderError)).decode()}
        for p in pngs
    ]  # fmt: skip


def report_notes(run_dir: Path) -> list[str]:
    """The prose of report.md (its tables and plots are drawn from results.json instead)."""
    md = run_dir / "report.md"
    if not md.exists():
        return []
    text = read_text(md, "report", RunFolderError)
    keep = [x for x in text.split("\n\n") if x.strip() and x.lstrip()[0] not in "#|!-"]
    return [re.sub(r"[`*]", "", x).strip() for x in keep]


def run_section(results: dict, group: str) -> dict:
    acc = results["judge_accuracy"]
    rows = [
        [link(name, group=group, debater=name),
         link(pct(w["as_true"]), group=group, debater=name, side="true"),
         link(pct(w["as_false"]), group=group, debater=name, side="false")]
        for name, w in results.get("win_rate", {}).items()
    ]  # fmt: skip
    quotes = results.get("quotes", {})
    share = quotes.get("verified_share")
    return {
        "title": f"Run {results.get('run', group)}",
        "notes": [
            f"protocol {results.get('protocol', '?')}, judge {results.get('judge', '?')}, "
            f"{results['n_matches']} matches, {quotes.get('n', 0)} quotes"
            + (f" ({share:.0%} verified)" if share is not None else "")
        ],
        "stats": [
            ["judge accuracy", link(pct(acc), group=group)],
            [
                "judge right",
                link(f"{round((acc['value'] or 0) * acc['n'])}", group=group, judge="correct"),
            ],
            ["judge wrong", link(_wrong(acc), group=group, judge="wrong")],
            ["verdicts unparsed", link(str(acc.get("unparsed", 0)), group=group, judge="unparsed")],
        ],  # fmt: skip
        "tables": [
            {"columns": ["debater", "wins arguing true", "wins arguing false"], "rows": rows}
        ]
        if rows
        else [],  # fmt: skip
    }


def tournament_section(results: dict) -> dict:
    ja = results["judge_accuracy"]
    rows = []
    for r in results["ratings"]:
        n = r["name"]
        rows.append(
            [link(n, debater=n), link(elo(r["elo"], r["elo_ci95"]), debater=n, self="0"),
             elo(r["honest_elo"], r["honest_elo_ci95"]),
             elo(r["dishonest_elo"], r["dishonest_elo_ci95"]),
             link(pct(r["win_rate_as_true"]), debater=n, side="true", self="0"),
             link(pct(r["win_rate_as_false"]), debater=n, side="false", self="0"),
             signed_pct(r["honest_advantage"]),
             link(pct(r["self_play_judge_accuracy"]), debater=n, self="1"),
             pct(r["quotes_verified"])]
        )  # fmt: skip
    names = [r["name"] for r in results["ratings"]]
    matrix = [
        [n] + [link(f"{results['matrix'][n][m]:.2f}", debater=n, opponent=m)
               if m in results["matrix"].get(n, {}) else "-" for m in names]
        for n in names
    ]  # fmt: skip
    return {
        "title": f"Tournament {results.get('tournament', '')}",
        "stats": [
            ["judge accuracy in self-play", link(pct(ja["self_play"]), self="1")],
            ["judge accuracy in rated games", link(pct(ja["rated_games"]), self="0")],
            ["judge wrong in self-play", link(_wrong(ja["self_play"]), self="1", judge="wrong")],
            [
                "verdicts unparsed in self-play",
                link(str(ja["self_play"].get("unparsed", 0)), self="1", judge="unparsed"),
            ],
            ["first speaker's win rate", pct(results["first_speaker_win_rate"])],
        ],
        "tables": [
            {
                "columns": [
                    "debater",
                    "Elo (95% CI)",
                    "honest Elo",
                    "dishonest Elo",
                    "wins arguing true",
                    "wins arguing false",
                    "honest advantage (95% CI over items)",
                    "self-play judge accuracy",
                    "quotes verified",
                ],
                "rows": rows,
            },
            {
                "title": f"win rate of row against column ({results['outcome']} outcomes)",
                "columns": ["debater", *names],
                "rows": matrix,
            },
        ],  # fmt: skip
    }


def _wrong(p: dict) -> str:
    """Verdicts that picked a wrong answer: not the correct ones, nor the unread ones."""
    if p["value"] is None:
        return "-"
    return str(p["n"] - round(p["value"] * p["n"]) - p.get("unparsed", 0))


def eval_section(results: dict) -> dict:
    rows = []
    for arm, m in results["arms"].items():
        g, cal, pb, sides = f"arms/{arm}", m["calibration"], m["position_bias"], m["sides"]
        rows.append(
            [link(arm, group=g), link(estimate(m["accuracy"]), group=g),
             estimate(m["mean_p_correct"]), f"{cal['brier']:.3f}", f"{cal['ece']:.3f}",
             estimate(pb["first_listed_minus_half"], True) if pb else "-",
             estimate(sides["honest_advantage"], True) if sides and sides["honest_advantage"]["value"] is not None
             else "-",
             link(estimate(sides["fooled_by_wrong_speaker"]), group=g, judge="wrong") if sides else "-",
             f"{m['judge_calls_per_match']:.1f}", link(str(m["matches"]), group=g)]
        )  # fmt: skip
    diffs = [[k, estimate(d, True), sign_p(d)] for k, d in results["paired_differences"].items()]
    return {
        "title": f"Protocol comparison (judge {results['judge']})",
        "tables": [
            {
                "columns": [
                    "arm",
                    "accuracy",
                    "P(true answer)",
                    "Brier",
                    "ECE",
                    "first-listed bias",
                    "honest advantage (95% CI over items)",
                    "fooled by wrong speaker",
                    "judge calls/match",
                    "matches",
                ],
                "rows": rows,
            },
            {
                "columns": ["paired difference in accuracy", "value (95% CI)", "sign test p"],
                "rows": diffs,
            },
        ],  # fmt: skip
    }


def training_section(lines: list[dict]) -> dict:
    rows = []
    for r in lines:
        g, e = r["generation"], r.get("eval", {})
        base = f"eval/gen-{g}"
        mine = r.get("elo", {}).get(f"gen-{g}")
        share = r.get("watch", {}).get("unverified_quote_share")
        rows.append(
            [f"gen-{g}",
             link(pct(e["selfplay_accuracy"]), group=f"{base}/selfplay")
             if "selfplay_accuracy" in e else "-",
             link(pct(e["consultancy_accuracy"]), group=f"{base}/consultancy")
             if "consultancy_accuracy" in e else "-",
             signed_pct(e["honest_advantage"]) if "honest_advantage" in e else "-",
             elo(mine["elo"], mine["ci95"]) if mine else "-",
             link(f"{r['train_reward']:.3f}", group=f"rollouts/gen-{g}")
             if r.get("train_reward") is not None else "-",
             str(r.get("pairs", 0)), "-" if share is None else f"{share:.0%}",
             "; ".join(r.get("flags", [])), f"{r.get('wall_s', 0):.0f} s"]
        )  # fmt: skip
    return {
        "title": "Training generations",
        "tables": [{"columns": ["generation", "self-play judge accuracy", "consultancy accuracy",
                                "honest advantage (95% CI over items)", "Elo vs anchors", "train reward", "pairs",
                                "unverified quotes", "flags", "time"], "rows": rows}],
    }  # fmt: skip


def summary(run_dir: Path) -> tuple[str, list[dict]]:
    """The folder's kind and its summary sections, from results.json or generations.jsonl."""
    folder = RunFolder(run_dir)
    results = folder.read_results() if folder.results_path.exists() else {}
    gens = run_dir / "generations.jsonl"
    try:
        if gens.exists():
            kind = "training"
            records = [json.loads(x) for _, x in read_lines(gens, "records", RunFolderError)
                       if x.strip()]  # fmt: skip
            section = training_section(records)
        elif "ratings" in results:
            kind, section = "tournament", tournament_section(results)
        elif results.get("suite") == "protocols":
            kind, section = "eval", eval_section(results)
        elif "judge_accuracy" in results:
            kind, section = "run", run_section(results, run_dir.name)
        else:  # a run still going: no results yet
            return "run", []
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        # a results file from another version, or edited by hand: one line, not a traceback
        where = gens if gens.exists() else folder.results_path
        raise RunFolderError(
            f"{where} does not hold the results this viewer reads ({type(e).__name__}: "
            f"{' '.join(str(e).split())[:80]}); fix or remove it"
        ) from None
    section["notes"] = report_notes(run_dir) + section.get("notes", [])
    section["plots"] = plots_of(run_dir)
    if kind == "training":
        from debate.present.training_curves import training_plots

        section["plots"] = training_plots(records) + section["plots"]
    return kind, [section]
