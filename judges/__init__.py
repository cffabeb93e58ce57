"""Judges: each returns a probability for every answer, registered by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from debate.config import JudgeConfig
    from judges.base import Judge


def make_judge(cfg: JudgeConfig) -> Judge:
    from debate.registry import get

    return get("judge", cfg.kind)(cfg)
