"""Evidence chains: which quotes a judge reads together to follow a two-hop question."""

import pytest

from debate.chains import chains, names
from debate.evidence import sentences
from debate.tasks.hidden_passage import make_item


def test_names_are_capitalised_words_less_possessives_and_sentence_starters():
    assert names("Mira's cousin is Tomas.") == {"Mira", "Tomas"}
    assert names("The answer is Oslo. What does Ines play?") == {"Oslo", "Ines"}


def test_a_two_hop_item_chains_its_link_to_its_answer_and_leaves_the_distractor_alone():
    for i in range(20):
        item = make_item(0, i, hops=2)
        link, fact = item.deciding
        wrong = item.answers[1 - item.correct]
        distractor = next(s for s in item.context.split(". ") if wrong in s).rstrip(".") + "."
        pieces = chains(item.question, [distractor, fact, link])
        assert [link, fact] in pieces  # the link first: it is the quote about the question
        assert [distractor] in pieces
        assert [fact] not in pieces and [link] not in pieces  # read only inside the chain


def test_a_one_hop_item_forms_no_chain_from_any_of_its_sentences():
    for i in range(60):
        item = make_item(0, i, hops=1, n_facts=8)
        sentences = [s if s.endswith(".") else s + "." for s in item.context.split(". ")]
        got = chains(item.question, sentences, item.answers)
        assert got == [[s] for s in sentences]


def test_a_candidate_answer_is_no_bridge():
    quotes = ["Tomas lives in Oslo.", "Oslo is where Ines lives."]
    question = "Which city does Tomas live in?"
    assert chains(question, quotes, ["Oslo", "Lima"]) == [[q] for q in quotes]
    assert chains(question, quotes) == [quotes]  # without the answers, Oslo links them


def test_the_second_quote_must_be_about_the_bridge():
    # Mira's filler fact names a city; another person living there is no second hop
    quotes = ["Mira lives in Cairo.", "Pavel lives in Cairo."]
    assert chains("Which instrument does Mira's cousin play?", quotes) == [[q] for q in quotes]


def two_hop_debate(item):
    """The honest side quotes the link and the answering fact, the liar the distractor."""
    from debate.evidence import mark_quotes
    from debate.schema import Turn

    wrong = 1 - item.correct
    distractor = next(s for s in sentences(item.context) if item.answers[wrong] in s)
    said = [(item.correct, item.deciding[1]), (wrong, distractor), (item.correct, item.deciding[0])]
    turns = []
    for k, (side, quote) in enumerate(said):
        text = f"<quote>{quote}</quote>"
        shown, quotes = mark_quotes(text, item.context)
        assert quotes[0].verified
        turns.append(Turn(speaker="AB"[k % 2], agent="x", side=side, round=k // 2, text=text,
                          shown=shown, quotes=quotes))  # fmt: skip
    return turns


@pytest.mark.slow
def test_the_embedded_judge_follows_a_two_hop_chain_it_cannot_follow_quote_by_quote():
    import asyncio

    from debate.config import JudgeConfig
    from debate.match.judge import Case, make_judge

    items = [make_item(3, i, hops=2) for i in range(16)]
    right = {}
    for chain in (False, True):
        judge = make_judge(JudgeConfig(kind="cloze", model="smollm2", params={"chain": chain}))

        async def every(judge=judge):
            return [await judge.decide(Case(it, two_hop_debate(it))) for it in items]

        verdicts = asyncio.run(every())
        right[chain] = sum(v.choice == it.correct for v, it in zip(verdicts, items))
        assert all(("chains:" in v.raw) == chain for v in verdicts)
    assert right[True] >= right[False] + 4, right
