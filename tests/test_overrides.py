"""An override changes exactly the key it names, on top of the command's own defaults (not the
base config classes' defaults): every command's default config, under one unrelated override,
resolves to that default with only that key changed. Lists are indexed into, a config file's
mappings merge key by key, and a name nobody gave is derived from what the config changes."""

from __future__ import annotations

import pytest

from debate.config import ConfigError, RunConfig, TournamentConfig, flatten, load_config, named
from debate.suites.protocols import ProtocolSuiteConfig
from debate.suites.truthfulqa import TruthfulQAConfig
from debate.training.config import TrainConfig

# every command that takes a config (the mnist commands take plain options, no config)
COMMANDS = {
    "run": RunConfig,
    "tournament": TournamentConfig,
    "eval protocols": ProtocolSuiteConfig,
    "eval truthfulqa": TruthfulQAConfig,
    "train": TrainConfig,
}
# one override per command, of a key unrelated to the defaults that used to be lost
UNRELATED = {
    "run": ("task.seed", 7),
    "tournament": ("protocol.rounds", 2),
    "eval protocols": ("task.seed", 7),
    "eval truthfulqa": ("seed", 3),
    "train": ("task.params.distractors", 0),
}


def changed(a, b) -> dict:
    fa, fb = flatten(a.model_dump(mode="json")), flatten(b.model_dump(mode="json"))
    return {k: (fa.get(k), fb.get(k)) for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k)}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("form", ["text", "pair"])
def test_one_override_changes_only_its_key(command, form):
    model = COMMANDS[command]
    key, value = UNRELATED[command]
    override = f"{key}={value}" if form == "text" else (key, value)
    cfg = load_config(model, None, [override])
    old = flatten(model().model_dump(mode="json")).get(key)
    assert changed(model(), cfg) == {key: (old, value)}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_override_is_the_command_default(command):
    model = COMMANDS[command]
    assert changed(model(), load_config(model, None, [])) == {}


def test_the_issue_s_measured_cases():
    # eval protocols keeps its 100 items and both orders under a judge or seed override
    cfg = load_config(ProtocolSuiteConfig, None, ["task.seed=7", "judge.kind=letter"])
    assert (cfg.task.n_items, cfg.judge.orders) == (100, "both")
    cfg = load_config(ProtocolSuiteConfig, None, ['judge.model="scripted:honest"'])
    assert cfg.judge.orders == "both"
    # a rounds override keeps the eval's random sides
    assert load_config(ProtocolSuiteConfig, None, ["protocol.rounds=2"]).protocol.sides == "random"
    # training keeps its 8 items per generation
    assert load_config(TrainConfig, None, ["task.params.distractors=0"]).task.n_items == 8
    # a list item is indexed into, its other keys kept
    cfg = load_config(RunConfig, None, ["debaters.0.temperature=0.5"])
    assert (cfg.debaters[0].temperature, cfg.debaters[0].name) == (0.5, "smollm2")
    cfg = load_config(TournamentConfig, None, ["debaters.2.temperature=0.5"])
    assert [a.name for a in cfg.debaters] == [a.name for a in TournamentConfig().debaters]
    # an unset sub-config starts from its own defaults
    cfg = load_config(RunConfig, None, ["debaters.0.preference.kind=letter"])
    assert cfg.debaters[0].preference.kind == "letter" and cfg.debaters[0].preference.model


def test_a_config_file_merges_over_the_command_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: {seed: 7}\njudge: {model: smollm2}\n")
    cfg = load_config(ProtocolSuiteConfig, path, [])
    assert (cfg.task.n_items, cfg.task.seed, cfg.judge.orders) == (100, 7, "both")


def test_bad_keys_stay_one_line_errors():
    with pytest.raises(ConfigError, match="'debaters.5.temperature' does not exist"):
        load_config(RunConfig, None, ["debaters.5.temperature=0.5"])
    with pytest.raises(ConfigError, match="'nope' does not exist"):
        load_config(RunConfig, None, ["nope.x=1"])


def test_a_run_nobody_named_is_named_by_what_it_changes():
    plain = named(load_config(RunConfig, None, []))
    assert plain.name == "run"
    a = named(load_config(RunConfig, None, ["protocol.name=consultancy"]))
    b = named(load_config(RunConfig, None, ['debaters=[{name: h, model: "scripted:honest"}]']))
    again = named(load_config(RunConfig, None, [("protocol.name", "consultancy")]))
    assert a.name.startswith("run-") and a.name != b.name and a.name == again.name
    # speed and spending settings do not make another run
    assert named(load_config(RunConfig, None, ["max_live=4"])).name == "run"
    assert named(load_config(RunConfig, None, ["name=mine", "task.seed=3"])).name == "mine"
    assert named(load_config(TournamentConfig, None, [])).name == "tournament"


@pytest.mark.parametrize("form", ["text", "pair", "object"])
def test_a_whole_mapping_keeps_the_commands_defaults_for_that_key(form):
    # issue 26's trap: `--set 'judge={kind: oracle}'` lost eval protocols' `orders: both`
    from debate.api.calls import resolve
    from debate.config import JudgeConfig

    given = {"text": "judge={kind: oracle}", "pair": ("judge", {"kind": "oracle"})}
    if form == "object":
        cfg = resolve(ProtocolSuiteConfig, None, {"judge": JudgeConfig(kind="oracle")})
    else:
        cfg = load_config(ProtocolSuiteConfig, None, [given[form]])
    assert (cfg.judge.kind, cfg.judge.orders) == ("oracle", "both")
    # a value it names still wins
    cfg = load_config(ProtocolSuiteConfig, None, ["judge={kind: oracle, orders: given}"])
    assert cfg.judge.orders == "given"
