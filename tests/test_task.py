import pytest

from debate.tasks.hidden_passage import hidden_passage, make_item


def test_items_are_seeded_and_reproducible():
    assert hidden_passage(5, seed=3) == hidden_passage(5, seed=3)
    assert hidden_passage(5, seed=3) != hidden_passage(5, seed=4)


@pytest.mark.parametrize("hops", [1, 2])
def test_deciding_sentences_are_in_the_passage_and_name_the_true_answer(hops):
    for i in range(30):
        item = make_item(1, i, n_facts=6, distractors=2, hops=hops)
        assert all(s in item.context for s in item.deciding)
        assert item.answers[item.correct] in item.deciding[-1]
        assert len(item.deciding) == hops
        # distractors carry the false answer for someone else, so it can be quoted
        assert item.answers[1 - item.correct] in item.context


def test_offset_gives_disjoint_held_out_items():
    train = {i.id for i in hidden_passage(10, seed=0)}
    held = {i.id for i in hidden_passage(10, seed=0, offset=10)}
    assert not train & held


def test_bad_knobs_are_refused():
    with pytest.raises(ValueError):
        make_item(0, 0, n_facts=1, distractors=2)
    with pytest.raises(ValueError):
        make_item(0, 0, hops=3)


def test_scripted_debaters_find_answers_stated_in_the_plural():
    """The fruit questions state the answer in the plural ("likes to eat bananas"): the honest
    quoter must still quote the deciding sentence there, and the liar must change it."""
    import random

    from debate.models.scripted import honest, liar
    from debate.run.runner import load_items
    from debate.schema import names_answer

    fruit = [it for it in load_items("hidden-passage", 60, 0, {}) if "fruit" in it.question]
    assert fruit
    for it in fruit:
        wrong = 1 - it.correct
        meta = {"answers": it.answers, "correct": it.correct, "deciding": it.deciding,
                "context": it.context}  # fmt: skip
        assert names_answer(it.deciding[0], it.answers[it.correct])
        assert f"<quote>{it.deciding[0]}</quote>" in honest({**meta, "side": it.correct}, None)
        lie = liar({**meta, "side": wrong}, random.Random(0))
        assert it.deciding[0] not in lie and names_answer(lie, it.answers[wrong])
    assert not names_answer("Mira plays the harpsichord.", "harp")
