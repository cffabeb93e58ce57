"""The MNIST pixel debate (debate.pixels) on a tiny judge and a few packaged test images."""

import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from debate.cli.main import app
from debate.pixels import data
from debate.pixels import evaluate as ev
from debate.pixels.debaters import GreedyDebater, MCTSDebater, SearchDebater
from debate.pixels.evidence import decode_image, encode_image, mark_pixels, revealed
from debate.pixels.game import Board, Game
from debate.pixels.store import load_judge
from debate.present.viewer import page_data
from debate.schema import Turn

K = 4
runner = CliRunner()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A harness cache holding a tiny judge for k=4, trained through the CLI in about a second."""
    path = tmp_path_factory.mktemp("cache")
    old = os.environ.get("DEBATE_HARNESS_CACHE")
    os.environ["DEBATE_HARNESS_CACHE"] = str(path)
    res = runner.invoke(app, ["mnist", "train-judge", "--k", str(K), "--hidden", "16",
                              "--steps", "40", "--train-images", "300", "--test-images", "200"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "judge k=4:" in res.output and "200 test images" in res.output
    yield path
    if old is None:
        del os.environ["DEBATE_HARNESS_CACHE"]
    else:
        os.environ["DEBATE_HARNESS_CACHE"] = old


@pytest.fixture(scope="module")
def images():
    return data.load("test", limit=3)


def test_packaged_test_split_is_mnist_in_its_standard_order():
    x, y = data.load("test", limit=10)
    assert x.shape == (10, 784) and x.dtype == np.uint8 and x.max() == 255
    assert y.tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    with pytest.raises(ValueError, match="split"):
        data.load("validation")


def test_a_pixel_is_checked_against_the_image_and_one_counts_a_turn(images):
    image = images[0][0]
    context = encode_image(image)
    assert (decode_image(context) == image).all()
    pos = int(np.flatnonzero(image)[0])
    r, c = divmod(pos, 28)
    shown, checks = mark_pixels(f"See pixel ({r}, {c}) and pixel (0, 0), pixel (30, 1)", context)
    assert [q.verified for q in checks] == [True, False, False]
    assert checks[0].passage_text == f"pixel ({r}, {c}) = {image[pos]}"
    assert "<u_quote>pixel (0, 0)</u_quote>" in shown
    turns = [Turn(speaker=s, agent=s, side=0, round=0, text="", shown="", quotes=checks)
             for s in "AB"]  # fmt: skip
    assert revealed(turns) == [(pos, int(image[pos]))]  # each pixel once
    with pytest.raises(ValueError, match="image"):
        decode_image("not hex")


def test_greedy_reveals_the_pixel_the_judge_likes_best_and_search_and_mcts_play_legally(
    cache, images
):
    judge = load_judge(K)
    board = Board(judge, images[0][0])
    game = Game(board, claims=(7, 1), first=0, k=K)
    rng = np.random.default_rng(0)
    cands, margins = game.child_margins(0)
    assert GreedyDebater().move(game, rng) == cands[int(np.argmax(margins))]
    assert SearchDebater(depth=1).move(game, rng) == GreedyDebater().move(game, rng)
    for debater in (SearchDebater(depth=3, width=3), MCTSDebater(simulations=12, width=4)):
        end = ev.play(game, (debater, GreedyDebater()), rng)
        assert len(set(end.revealed)) == K and all(images[0][0][end.revealed] > 0)
        assert abs(sum(end.p_claims()) - 1) < 1e-6 and end.winner() in (0, 1)


def test_the_paper_evaluation_needs_all_nine_lies_beaten_in_each_order(cache, images):
    judge = load_judge(K)
    x, y = images
    out = ev.evaluate(judge, x, y, GreedyDebater(), GreedyDebater())
    assert [o.lies for o in out][0] == [d for d in range(10) if d != y[0]]
    for o in out:
        assert len(o.honest_first) == len(o.liar_first) == 9
        assert o.won("honest_first") == all(p > 0.5 for p in o.p_true_honest_first)
    acc = ev.accuracy(out)
    assert acc["honest_first"]["n"] == 3
    assert acc["liar_first"]["value"] == np.mean([o.won("liar_first") for o in out])
    diff = ev.paired(out, out)
    assert diff["honest_first"]["value"] == 0 and diff["honest_first"]["sign_test_p"] == 1.0
    with pytest.raises(ValueError, match="same images"):
        ev.paired(out, out[:2])


def test_cli_eval_reports_each_debater_and_the_pair_against_greedy(cache, tmp_path):
    out = tmp_path / "eval.json"
    res = runner.invoke(app, ["mnist", "eval", "--k", str(K), "--images", "2", "--debaters",
                              "random,greedy,search?depth=2&width=2", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "search?depth=2&width=2 - greedy" in res.output
    assert set(json.loads(out.read_text())["results"]) == {
        "random",
        "greedy",
        "search?depth=2&width=2",
    }
    bad = runner.invoke(app, ["mnist", "eval", "--k", str(K), "--debaters", "oracle"])
    assert bad.exit_code == 2 and "unknown pixel debater 'oracle'" in bad.output
    none = runner.invoke(app, ["mnist", "eval", "--k", "5"])
    assert none.exit_code == 2 and "train one: debate mnist train-judge --k 5" in none.output


def test_a_harness_debate_reveals_one_checked_pixel_a_turn_and_the_judge_reads_them(
    cache, tmp_path
):
    res = runner.invoke(app, ["run", "--task", "mnist", "--n-items", "2", "--rounds", "2",
                              "--debater", f"pixels:greedy?k={K}", "--judge-kind", "pixels",
                              "--set", f"judge.params.k={K}", "--out", str(tmp_path),
                              "--name", "px"])  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "px" / "transcripts.jsonl").read_text().splitlines()
    judge = load_judge(K)
    for t in map(json.loads, lines):
        assert len(t["turns"]) == K and t["verdict"]["raw"] == f"{K} pixels"
        # what the judge read is on the record, as `debate judge` shows it to a person
        assert t["verdict"]["views"][0]["texts"][0].count("pixel (") == K
        assert all(len(u["quotes"]) == 1 and u["quotes"][0]["verified"] for u in t["turns"])
        # the verdict is the game engine's judgement of the same pixels
        item = t["item"]
        claims = tuple(int(a) for a in item["answers"])
        game = Game(Board(judge, decode_image(item["context"])), claims, first=0, k=K)
        for pos, _ in revealed([Turn(**u) for u in t["turns"]]):
            game = game.play(pos)
        assert np.allclose(game.p_claims(), t["verdict"]["probs"], atol=1e-5)
    # the viewer draws the image with the pixels each side showed
    [m, *_] = page_data(tmp_path / "px")["matches"]
    assert len(m["image"]["levels"]) == 784 and len(m["image"]["shown"]) == K
    assert {s["side"] for s in m["image"]["shown"]} == {0, 1}


def test_random_pixels_baseline_shows_k_pixels_of_the_image(cache, tmp_path):
    res = runner.invoke(app, ["run", "--task", "mnist", "--n-items", "3", "--protocol",
                              "random-pixels", "--judge-kind", "pixels", "--set",
                              f"judge.params.k={K}", "--set", f"protocol.params.k={K}",
                              "--out", str(tmp_path), "--name", "rp"])  # fmt: skip
    assert res.exit_code == 0, res.output
    for t in map(json.loads, (tmp_path / "rp" / "transcripts.jsonl").read_text().splitlines()):
        assert len(revealed([Turn(**u) for u in t["turns"]])) == K


def test_bad_mnist_specs_fail_in_one_line(cache, tmp_path):
    res = runner.invoke(app, ["run", "--task", "mnist", "--n-items", "1", "--debater",
                              "pixels:telepathy", "--judge-kind", "pixels", "--set",
                              f"judge.params.k={K}", "--out", str(tmp_path)])  # fmt: skip
    assert res.exit_code != 0 and "unknown pixel debater 'telepathy'" in res.output
    res = runner.invoke(app, ["run", "--task", "mnist", "--n-items", "1", "--set",
                              "task.params.lies=some", "--judge-kind", "pixels", "--set",
                              f"judge.params.k={K}", "--out", str(tmp_path)])  # fmt: skip
    assert res.exit_code != 0 and "lies must be" in res.output
    res = runner.invoke(app, ["run", "--task", "mnist", "--n-items", "1", "--judge-kind",
                              "pixels", "--set", "judge.params.k=3", "--out", str(tmp_path)])  # fmt: skip
    assert res.exit_code == 2 and "debate mnist train-judge --k 3" in res.output


@pytest.mark.slow
def test_a_self_play_policy_trains_and_debates_and_kinds_meet_in_a_tournament(cache, tmp_path):
    policy = tmp_path / "policy.pt"
    res = runner.invoke(app, ["mnist", "train-policy", "--k", str(K), "--steps", "2", "--images",
                              "1", "--samples", "2", "--out", str(policy)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "judge's P(truth)" in res.output and policy.exists()
    res = runner.invoke(app, ["mnist", "eval", "--k", str(K), "--images", "1", "--debaters",
                              f"greedy,policy@{policy}"])  # fmt: skip
    assert res.exit_code == 0 and f"policy@{policy} - greedy" in res.output, res.output
    res = runner.invoke(app, ["tournament", "--task", "mnist", "--n-items", "2", "--rounds", "2",
                              "--judge-kind", "pixels", "--set", f"judge.params.k={K}",
                              "--debater", f"random=pixels:random?k={K}",
                              "--debater", f"greedy=pixels:greedy?k={K}",
                              "--out", str(tmp_path), "--name", "tour"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "greedy" in res.output and "random" in res.output
