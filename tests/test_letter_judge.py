"""The letter judge reads answer probabilities from the first reply token's distribution: from
`top_logprobs` of a chat API, or exactly from a local model, with the same numbers either way."""

import json
import math

import pytest
from fakes.provider import FakeProvider, LocalModelBrain
from typer.testing import CliRunner

from debate.cli.main import app
from debate.judges.scored import label_probs
from debate.models import load_model

runner = CliRunner()


def lp(p):
    return math.log(p)


def test_tokenisation_variants_of_a_label_are_merged():
    top = {" A": lp(0.3), "A": lp(0.2), "(A": lp(0.1), "B.": lp(0.2), " B": lp(0.1), "The": lp(0.1)}
    probs, found = label_probs(top, ["A", "B"])
    assert found and probs == pytest.approx([0.6 / 0.9, 0.3 / 0.9])


def test_a_label_missing_from_the_list_gets_the_rest_capped_at_the_smallest_listed():
    # listed mass 0.95: the missing B gets min(0.05, 0.05) = 0.05
    probs, _ = label_probs({"A": lp(0.9), "The": lp(0.05)}, ["A", "B"])
    assert probs == pytest.approx([0.9 / 0.95, 0.05 / 0.95])
    # listed mass 0.6, smallest listed 0.1: B gets 0.1, not 0.4
    probs, _ = label_probs({"A": lp(0.5), "I": lp(0.1)}, ["A", "B"])
    assert probs == pytest.approx([0.5 / 0.6, 0.1 / 0.6])


def test_no_label_listed_is_uniform_and_unparsed():
    probs, found = label_probs({"The": lp(0.7), "I": lp(0.2)}, ["A", "B"])
    assert probs == [0.5, 0.5] and not found


def letter_run(judge_spec: str, out, name: str) -> dict:
    args = [
        "run", "--judge-kind", "letter", "--judge", judge_spec, "--debater", "h=scripted:honest",
        "--debater", "l=scripted:liar", "--n-items", "3", "--out", str(out), "--name", name,
    ]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    lines = (out / name / "transcripts.jsonl").read_text().splitlines()
    return {t["match_id"]: t["verdict"] for t in map(json.loads, lines)}


def test_the_same_judge_on_a_laptop_and_behind_an_api_gives_the_same_probabilities(
    tiny_model_dir, tmp_path
):
    """A local transformers model, and the same model served over HTTP with top_logprobs."""
    local = letter_run(f"hf:{tiny_model_dir}", tmp_path, "local")
    with FakeProvider(LocalModelBrain(load_model(f"hf:{tiny_model_dir}"))) as p:
        served = letter_run(f"openai:tiny@{p.url}", tmp_path, "api")
        judged = [r for r in p.log if r.body.get("top_logprobs") == 20]
    assert len(judged) == len(local) == 6
    for match_id, verdict in local.items():
        assert served[match_id]["probs"] == pytest.approx(verdict["probs"], abs=1e-5)
    assert any(abs(v["probs"][0] - 0.5) > 1e-3 for v in local.values())  # real, not uniform
