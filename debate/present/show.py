"""Readable transcripts in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from debate.evidence import sanitize, strip_controls
from debate.match.prompts import speaker_label
from debate.schema import Transcript


def safe(text: str) -> str:
    """Untrusted text for the terminal: no control sequences, no Rich markup."""
    return escape(sanitize(text))


def highlight(shown: str) -> str:
    # `shown` holds the harness's quote marks; records written by an older harness may still
    # hold control characters, so those go again here
    text = escape(strip_controls(shown))
    text = text.replace("<v_quote>", "[green]✓«").replace("</v_quote>", "»[/green]")
    return text.replace("<u_quote>", "[red]✗«").replace("</u_quote>", "»[/red]")


def print_transcript(console: Console, t: Transcript, raw: bool = False) -> None:
    item = t.item
    answers = "  ".join(
        f"[bold]{safe(a)}[/bold]{' (true)' if i == item.correct else ''}"
        for i, a in enumerate(item.answers)
    )
    console.rule(safe(t.match_id))
    console.print(f"[bold]Q:[/bold] {safe(item.question)}   {answers}")
    console.print(f"[dim]passage: {safe(item.context)}[/dim]")
    for turn in t.turns:
        argues = item.answers[turn.side] if turn.side is not None else ""
        body = safe(turn.text) if raw else highlight(turn.shown)
        title = safe(
            f"{speaker_label(turn.speaker)} ({turn.agent}) argues {argues!r}, round {turn.round + 1}"
        )
        cut = f", cut from {turn.truncated_from}" if turn.truncated_from else ""
        console.print(
            Panel(body, title=title, subtitle=f"{turn.tokens_out} tokens{cut}, {turn.wall_s:.1f} s")
        )
    if t.verdict:
        probs = ", ".join(f"{safe(a)}: {p:.2f}" for a, p in zip(item.answers, t.verdict.probs))
        mark = ("[yellow]unparsed[/yellow]" if not t.verdict.parsed else
                "[green]correct[/green]" if t.judge_correct else "[red]wrong[/red]")  # fmt: skip
        console.print(f"[bold]verdict[/bold] ({safe(t.verdict.judge)}): {probs} -> {mark}")
