"""The honest advantage's interval: a bootstrap over items, since in a two-player debate the
true side's win and the false side's loss are one event, not two independent samples."""

import pytest

from debate.stats.estimates import boot_mean, difference, grouped_difference


def self_play(n_items: int, right: int):
    """One debate per item: the true side wins on `right` items, the false side on the rest."""
    items = [f"item-{i:03d}" for i in range(n_items)]
    true_wins = [i < right for i in range(n_items)]
    return true_wins, items, [not w for w in true_wins], items


def test_one_debate_per_item_is_the_bootstrap_of_each_items_difference():
    a, a_items, b, b_items = self_play(100, 72)
    got = grouped_difference(a, a_items, b, b_items, seed=0)
    per_item = boot_mean([float(x) - float(y) for x, y in zip(a, b)], seed=0)
    assert got["value"] == pytest.approx(per_item["value"]) and per_item["value"] == 0.44
    assert got["ci95"] == pytest.approx(per_item["ci95"])
    assert got["n"] == 100


def test_treating_the_two_sides_as_independent_narrows_the_interval():
    a, a_items, b, b_items = self_play(100, 72)
    grouped = grouped_difference(a, a_items, b, b_items)
    unpaired = difference(a, b)
    assert grouped["value"] == pytest.approx(unpaired["value"])
    width = lambda d: d["ci95"][1] - d["ci95"][0]  # noqa: E731
    assert width(grouped) > 1.3 * width(unpaired)


def test_items_with_several_flags_are_resampled_whole():
    # an item judged twice (both seats) counts once per resample with both its flags
    a = [True, True, False, True]
    b = [False, False, True, True]
    items = ["x", "x", "y", "z"]
    got = grouped_difference(a, items, b, items)
    assert got["value"] == pytest.approx(0.75 - 0.5) and got["n"] == 3
    lo, hi = got["ci95"]
    assert lo <= got["value"] <= hi
    assert grouped_difference([], [], b, items)["value"] is None
