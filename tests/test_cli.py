import json

from typer.testing import CliRunner

from debate.cli import app

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
