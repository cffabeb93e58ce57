"""PNG plots for the eval suites (matplotlib, files only)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def reliability_diagram(curves: dict[str, list[dict]], out: Path) -> None:
    """Judge confidence in its pick against how often the pick was right, one line per arm;
    the diagonal is perfect calibration."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    for name, curve in curves.items():
        if curve:
            ax.plot([c["confidence"] for c in curve], [c["accuracy"] for c in curve], "o-",
                    label=name, ms=4)  # fmt: skip
    ax.set_xlim(0.45, 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("judge confidence in its pick")
    ax.set_ylabel("accuracy of the pick")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def history_plot(series: dict[str, list[tuple[str, float, float, float]]], metric: str,
                 out: Path) -> None:  # fmt: skip
    """One line per series: (checkpoint label, value, low, high) in the order they were run."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    labels: list[str] = []
    for pts in series.values():
        for p in pts:
            if p[0] not in labels:
                labels.append(p[0])
    for name, pts in series.items():
        xs = [labels.index(p[0]) for p in pts]
        ys = [p[1] for p in pts]
        err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
        ax.errorbar(xs, ys, yerr=err, fmt="o-", capsize=3, label=name)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_xlabel("checkpoint")
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
