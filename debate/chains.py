"""Evidence chains: quotes a judge must read together to follow a two-hop question.

A judge reading each quote alone cannot link "Mira's cousin is Tomas." with "Tomas plays the
harp." to answer "Which instrument does Mira's cousin play?": the first is about the question
but answers nothing, the second answers but is not about the question. Multi-hop question
answering calls Tomas the bridge entity (HotpotQA's bridge questions). A chain is a quote that
shares a name with the question, followed by a quote about a name the first one adds (the
bridge: the first name the second quote names) that does not name the question's subject.
Names are capitalised words, so this is a heuristic for English text about named people and
places; quotes that share no such name are never joined, and a one-hop question, whose
answering quote names its subject, forms no chain from it.
"""

from __future__ import annotations

import re

# capitalised words that start sentences without naming anyone
NOT_NAMES = frozenset(
    [
        "A",
        "An",
        "And",
        "But",
        "He",
        "Her",
        "His",
        "I",
        "If",
        "In",
        "It",
        "Its",
        "Of",
        "On",
        "Or",
        "She",
        "So",
        "That",
        "The",
        "Their",
        "Then",
        "There",
        "These",
        "They",
        "This",
        "Those",
        "To",
        "We",
        "What",
        "When",
        "Where",
        "Which",
        "Who",
        "Whom",
        "Whose",
        "Why",
        "With",
        "You",
    ]
)


def named(text: str) -> list[str]:
    """The capitalised words of `text` in order (a possessive "'s" dropped), less sentence
    starters."""
    words = re.findall(r"\b[A-Z][\w-]*", re.sub(r"['’]s\b", "", text))
    return [w for w in words if w not in NOT_NAMES]


def names(text: str) -> set[str]:
    return set(named(text))


def chains(question: str, quotes: list[str], answers: list[str] = ()) -> list[list[str]]:
    """What to read, each entry read together: every chain (a quote about the question, then a
    quote reached through a bridge name), and every quote in no chain, alone. A quote in a
    chain is read only inside it: alone, the link answers nothing but still looks relevant.
    A candidate answer is never a bridge (two people living in Oslo are not a chain)."""
    asked = names(question)
    candidates = set().union(*(names(a) for a in answers))
    linked: list[list[str]] = []
    for a in quotes:
        if not names(a) & asked:
            continue
        bridge = names(a) - asked - candidates
        for b in quotes:
            # b is about the bridge: it names it first ("Tomas plays the harp."), and it does
            # not name the question's subject
            if b != a and not names(b) & asked and named(b)[:1] and named(b)[0] in bridge:
                linked.append([a, b])
    in_chain = {q for pair in linked for q in pair}
    return linked + [[q] for q in quotes if q not in in_chain]
