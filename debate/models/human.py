"""A person at the terminal plays a debater: sees the prompt, types the speech."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.panel import Panel

from debate.models.base import Generation, GenerationRequest, LanguageModel, render_plain


class HumanModel(LanguageModel):
    spec = "human"

    def __init__(self, console: Console | None = None):
        self.console = console or Console()

    @property
    def max_batch(self) -> int:
        return 1

    async def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        return [await asyncio.to_thread(self._ask, r) for r in requests]

    def _ask(self, r: GenerationRequest) -> Generation:
        self.console.print(Panel(render_plain(r.prompt), title="your turn"))
        self.console.print(
            "Type your speech; quote the passage as <quote>...</quote>. End with an empty line."
        )
        lines = []
        while (line := input()) != "":
            lines.append(line)
        text = "\n".join(lines)
        return Generation(text=text, tokens_out=len(text.split()))
