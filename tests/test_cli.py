import json

from typer.testing import CliRunner

from debate.cli.main import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


def scripted(tmp_path, *extra):
    return (
        "run",
        "--out",
        str(tmp_path),
        "--name",
        "r",
        "--n-items",
        "3",
        "--debater",
        "h=scripted:honest",
        "--debater",
        "l=scripted:liar",
        "--judge-kind",
        "oracle",
        *extra,
    )


def test_run_and_show(tmp_path):
    res = invoke(*scripted(tmp_path))
    assert res.exit_code == 0, res.output
    assert "judge accuracy" in res.output
    shown = invoke("show", str(tmp_path / "r"), "--limit", "1")
    assert shown.exit_code == 0 and "verdict" in shown.output


def one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [x for x in res.output.strip().splitlines() if x.strip()]
    text = " ".join(lines)
    for n in needles:
        assert n in text, text


def test_unknown_names_list_the_valid_ones(tmp_path):
    one_line_error(
        invoke(*scripted(tmp_path, "--protocol", "nope")), "unknown protocol", "sequential"
    )
    one_line_error(invoke(*scripted(tmp_path, "--judge-kind", "nope")), "unknown judge", "cloze")
    one_line_error(invoke(*scripted(tmp_path, "--task", "nope")), "unknown task", "hidden-passage")


def test_unknown_config_key_is_named(tmp_path):
    one_line_error(invoke(*scripted(tmp_path, "--set", "protocol.roundz=2")), "protocol.roundz")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("judge:\n  kindd: cloze\n")
    one_line_error(invoke(*scripted(tmp_path, "--config", str(cfg))), "judge.kindd")


def test_bad_model_specs(tmp_path):
    bad = ["run", "--out", str(tmp_path), "--debater", "x=warp:9", "--judge-kind", "oracle"]
    one_line_error(invoke(*bad), "unknown model spec")
    one_line_error(
        invoke(*scripted(tmp_path, "--judge-kind", "cloze", "--judge", "gguf:/no/such.gguf")),
        "GGUF file not found",
    )
    one_line_error(
        invoke(*scripted(tmp_path, "--judge-kind", "cloze", "--judge", "hf:/no/such/dir")),
        "model folder not found",
    )


def test_corrupt_transcript_line_is_reported_and_kept(tmp_path):
    assert invoke(*scripted(tmp_path)).exit_code == 0
    path = tmp_path / "r" / "transcripts.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = lines[1][:40]
    path.write_text("\n".join(lines) + "\n")
    before = path.read_text()
    one_line_error(invoke(*scripted(tmp_path)), "line 2", "corrupt")
    assert path.read_text() == before


def test_folder_of_another_run_is_refused(tmp_path):
    assert invoke(*scripted(tmp_path)).exit_code == 0
    one_line_error(invoke(*scripted(tmp_path, "--rounds", "3")), "protocol.rounds")


def test_resume_through_the_cli(tmp_path):
    assert invoke(*scripted(tmp_path)).exit_code == 0
    again = invoke(*scripted(tmp_path))
    assert "0 played, 6 resumed" in again.output
    assert json.loads((tmp_path / "r" / "results.json").read_text())["n_matches"] == 6


def test_models_lists_sources():
    res = invoke("models")
    assert res.exit_code == 0 and "scripted:honest" in res.output and "sequential" in res.output


def transcripts(run_dir):
    lines = (run_dir / "transcripts.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def human_consultancy(tmp_path) -> list[str]:
    return ["run", "--out", str(tmp_path), "--name", "h", "--n-items", "1", "--protocol",
            "consultancy", "--debater", "me=human", "--judge-kind", "oracle"]  # fmt: skip


def test_a_person_at_the_terminal_debates(tmp_path):
    speech = "I quote <quote>something the passage may say</quote> for my side."
    res = runner.invoke(
        app,
        human_consultancy(tmp_path),
        input=f"{speech}\n\n{speech}\n",  # the second reply ends at the end of input
    )
    assert res.exit_code == 0, res.output
    assert "your turn" in res.output
    runs = transcripts(tmp_path / "h")  # consulting for the true and for the false answer
    assert [[turn["text"] for turn in t["turns"]] for t in runs] == [[speech], [speech]]


def test_a_person_who_leaves_gets_a_clear_error(tmp_path):
    res = runner.invoke(
        app,
        human_consultancy(tmp_path),
        input="",
    )
    assert res.exit_code == 2 and "input ended" in res.output


def test_a_person_at_the_terminal_judges(tmp_path):
    # two items argued both ways: three readable verdicts, one that names no answer (recorded as
    # unreadable, not guessed)
    res = runner.invoke(
        app,
        [
            "run",
            "--out",
            str(tmp_path),
            "--name",
            "j",
            "--n-items",
            "2",
            "--protocol",
            "sequential",
            "--debater",
            "h=scripted:honest",
            "--debater",
            "l=scripted:liar",
            "--judge",
            "human",
            "--judge-kind",
            "verdict",
        ],  # fmt: skip
        input="The quotes favour it.\nFinal answer: A\n\nI cannot tell.\n\n"
        "Final answer: B\n\nFinal answer: A\n\n",
    )
    assert res.exit_code == 0, res.output
    verdicts = [t["verdict"] for t in transcripts(tmp_path / "j")]
    assert sorted(v["parsed"] for v in verdicts) == [False, True, True, True]
    for v in verdicts:
        assert sorted(v["probs"]) == ([0.0, 1.0] if v["parsed"] else [0.5, 0.5])
