"""The curves of a training run, by generation, for the viewer's training page: one PNG per
figure, drawn from `generations.jsonl` (judge accuracy, honest advantage, Elo against the
anchors, the judge's reward on training games, the update's loss, and what the watch counts).
95% intervals are drawn as bands where the record holds them."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _estimate(records: list[dict], *keys: str) -> tuple[list[int], list[float], list, list]:
    """(generations, values, lows, highs) of an estimate {"value", "ci95"} under `keys`."""
    gs, vs, lo, hi = [], [], [], []
    for r in records:
        x = r
        for k in keys:
            x = (x or {}).get(k)
        if isinstance(x, dict) and x.get("value") is not None:
            gs.append(r["generation"])
            vs.append(x["value"])
            ci = x.get("ci95") or [x["value"], x["value"]]
            lo.append(ci[0])
            hi.append(ci[1])
    return gs, vs, lo, hi


def _series(records: list[dict], *keys: str) -> tuple[list[int], list[float]]:
    gs, vs = [], []
    for r in records:
        x = r
        for k in keys:
            x = (x or {}).get(k)
        if isinstance(x, int | float) and not isinstance(x, bool):
            gs.append(r["generation"])
            vs.append(float(x))
    return gs, vs


def _band(ax, records, label: str, *keys: str) -> None:
    gs, vs, lo, hi = _estimate(records, *keys)
    if gs:
        (line,) = ax.plot(gs, vs, "o-", ms=4, label=label)
        ax.fill_between(gs, lo, hi, color=line.get_color(), alpha=0.15, lw=0)


def _line(ax, records, label: str, *keys: str) -> None:
    gs, vs = _series(records, *keys)
    if gs:
        ax.plot(gs, vs, "o-", ms=4, label=label)


def _elo(ax, records: list[dict]) -> None:
    """Every generation's Elo as the last record fits it: one scale for all of them."""
    fitted = records[-1].get("elo", {}) if records else {}
    rows = [(r["generation"], fitted.get(f"gen-{r['generation']}")) for r in records]
    rows = [(g, e) for g, e in rows if e and e.get("elo") is not None]
    if rows:
        gs = [g for g, _ in rows]
        (line,) = ax.plot(gs, [e["elo"] for _, e in rows], "o-", ms=4, label="policy")
        ax.fill_between(gs, [e["ci95"][0] for _, e in rows], [e["ci95"][1] for _, e in rows],
                        color=line.get_color(), alpha=0.15, lw=0)  # fmt: skip
    for name, e in fitted.items():
        if not name.startswith("gen-") and e.get("elo") is not None:
            ax.axhline(e["elo"], color="grey", lw=0.8, ls=":")
            ax.annotate(name, (0, e["elo"]), fontsize=7, color="grey", va="bottom")


def _accuracy(ax, records) -> None:
    _band(ax, records, "self-play debate", "eval", "selfplay_accuracy")
    _band(ax, records, "consultancy", "eval", "consultancy_accuracy")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set(ylabel="judge accuracy", ylim=(0, 1.02))


def _advantage(ax, records) -> None:
    _band(ax, records, "honest advantage", "eval", "honest_advantage")
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set(ylabel="win rate as true - as false")


def _reward(ax, records) -> None:
    _line(ax, records, "judge reward (training games)", "train_reward")
    _line(ax, records, "groups that differ", "update", "groups_that_differ")
    ax.set(ylim=(0, 1.02))


def _loss(ax, records) -> None:
    _line(ax, records, "mean loss", "update", "train_loss")


def _watch(ax, records) -> None:
    _line(ax, records, "unverified quotes", "watch", "unverified_quote_share")
    _line(ax, records, "concessions", "watch", "concession_rate")
    _line(ax, records, "honest quotes deciding", "eval", "choices", "honest_quotes_deciding")
    _line(ax, records, "liar quotes deciding", "eval", "choices", "liar_quotes_deciding")
    ax.set(ylabel="share", ylim=(0, 1.02))


PANELS = [
    ("judge accuracy on held-out items, by generation", _accuracy),
    ("honest advantage against the anchors, by generation", _advantage),
    ("Elo by generation, all on the latest fit (anchors dotted)", _elo),
    ("training reward, by generation", _reward),
    ("update loss, by generation", _loss),
    ("what the watch counts, by generation", _watch),
]


def panel_png(records: list[dict], draw) -> bytes:
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    draw(ax, records)
    gens = [r["generation"] for r in records]
    ax.set_xlabel("generation")
    if gens:
        ax.set_xticks(range(min(gens), max(gens) + 1))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    else:  # reference lines alone: nothing of this run was drawn
        ax.text(0.5, 0.5, "not recorded", ha="center", va="center", color="grey",
                transform=ax.transAxes)  # fmt: skip
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def training_plots(records: list[dict]) -> list[dict]:
    """The viewer's plot entries (title, data URI) for a training run's records, one per
    figure; bands are 95% intervals."""
    if not records:
        return []
    return [{"title": title,
             "src": "data:image/png;base64," + base64.b64encode(panel_png(records, draw)).decode()}
            for title, draw in PANELS]  # fmt: skip


__all__ = ["training_plots", "panel_png", "PANELS"]
