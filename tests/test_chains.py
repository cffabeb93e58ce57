"""Evidence chains: which quotes a judge reads together to follow a two-hop question."""

from debate.chains import chains, names
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
