"""Speakers that are not language models: scripted agents and a person at the terminal."""

from __future__ import annotations

from debate.models.base import LanguageModel
from debate.registry import register


@register("backend", "scripted")
def scripted(spec: str, rest: str) -> LanguageModel:
    """scripted:NAME: a scripted agent (honest, liar, random, assert, say@FILE)"""
    from debate.models.scripted import ScriptedModel

    return ScriptedModel(spec, rest)


@register("backend", "human")
def human(spec: str, rest: str) -> LanguageModel:
    """human: a person at the terminal"""
    from debate.models.human import HumanModel

    return HumanModel()
