"""Run configuration: YAML or TOML file -> pydantic, with `--set key=value` overrides."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from debate import files


def is_embedded(spec: str) -> bool:
    """Whether a model spec names the embedded SmolLM2, whatever its options (`?dtype=...`
    changes how the weights are held, not which model it is, so not how it is used)."""
    return spec.partition("?")[0] == "smollm2"


class ConfigError(ValueError):
    """Bad configuration; the message names the key and is shown to the user as is."""


# Bounds on sizes: far above any real run, low enough that a typo (10^30 items) fails at once
# instead of hanging while memory grows.
MAX_ITEMS = 1_000_000
MAX_TOKENS = 100_000


MAX_BEST_OF = 100  # best-of-N candidates per speech (published work uses up to 16)
MAX_ROUNDS = 1000  # Swiss rounds
MAX_BOOT = 100_000  # bootstrap draws


def _is_number(annotation: object) -> bool:
    return annotation in (int, float) or any(a in (int, float) for a in get_args(annotation))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_number(cls, value: object, info: ValidationInfo) -> object:
        """YAML's `true` is not a count: pydantic would read it as 1 (`n_items: true` ran one
        item)."""
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _is_number(field.annotation):
            raise ValueError(f"expected a number, got {str(value).lower()}")
        return value


class AgentConfig(Strict):
    name: str = Field(min_length=1)
    model: str = "smollm2"
    prompt_style: str = "quote"
    temperature: float = Field(0.7, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    # "free": the model writes its speech; "choose": the speech is built around a passage span
    # the model chooses by its scores (debate/match/actions.py), every quote verified by construction;
    # "auto": choose for the embedded smollm2 (it copies the passage in only 3-8% of free
    # speeches), free for every other model
    speech: Literal["auto", "free", "choose"] = "auto"
    # what scores the spans: "self" = log p(span | own side's prompt + <quote>); "judge" = the
    # match judge's P(own answer) once the span is added to the evidence; "blind" = the same
    # read by the debater's own model as a passage-blind cloze judge
    choose_by: Literal["self", "judge", "blind"] = "judge"
    choice_temperature: float = Field(0.3, ge=0.0)  # 0 = always the best-scored span
    # what can be chosen: whole sentences, or also their clauses (split at , ; :)
    spans: Literal["sentences", "clauses"] = "sentences"
    choice_text_tokens: int = Field(0, ge=0, le=MAX_TOKENS)  # free text after the chosen quote

    def chooses(self) -> bool:
        return self.speech == "choose" or (self.speech == "auto" and is_embedded(self.model))

    # best-of-N speeches (Khan et al. 2024): sample this many candidates and keep the one the
    # preference judge gives the highest probability for the speaker's answer
    best_of: int = Field(1, ge=1, le=MAX_BEST_OF)
    # the judge that ranks the candidates (any kind and model); None: the run's judge
    preference: JudgeConfig | None = None


# Options that 0.1 kept on ProtocolConfig and JudgeConfig for every protocol or judge; each now
# belongs to the plugin that reads it (its `params`). A folder written by 0.1 holds them with
# these defaults; they are moved into `params` (dropped where they hold the default, which is
# the plugin's default too) so that the folder resumes and compares equal.
LEGACY_PROTOCOL_KEYS = {
    "judge_samples": 1,
    "question_tokens": 32,
    "n_agents": 3,
    "aggregate": "vote",
}
LEGACY_JUDGE_KEYS = {"max_new_tokens": 96}


def _move_legacy(data: object, legacy: dict[str, object]) -> object:
    if not isinstance(data, dict) or not legacy.keys() & data.keys():
        return data
    data = dict(data)
    params = dict(data.get("params") or {})
    for key, default in legacy.items():
        if key in data:
            value = data.pop(key)
            if value != default:
                params.setdefault(key, value)
    data["params"] = params
    return data


class JudgeConfig(Strict):
    kind: str = "cloze"
    model: str = "smollm2"
    prompt_format: Literal["chat", "plain"] = "chat"
    # "speeches": the judge reads every speech as shown; "evidence": only the verified quotes,
    # deduplicated (claims and unverified quotes never reach it). Small judges follow whichever
    # claim they read last; reading evidence alone removes that lever from a liar.
    reads: Literal["speeches", "evidence"] = "evidence"
    # reading evidence: name the answer argued by the side that quoted each quote
    attribute: bool = False
    # "both": judge every transcript with the answers in the given and the swapped order and
    # average, which cancels position bias and measures it
    orders: Literal["given", "both"] = "given"
    # "both": also read the speeches last to first and average: the order of the quotes is an
    # artefact of speaking order, and a small judge sides with the quote it read last
    evidence_order: Literal["given", "both"] = "given"
    temperature: float = Field(0.0, ge=0.0)
    # the judge kind's own options, validated by its `options` model (e.g. verdict's
    # max_new_tokens)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: object) -> object:
        return _move_legacy(data, LEGACY_JUDGE_KEYS)


class ProtocolConfig(Strict):
    name: str = "sequential"
    rounds: int = Field(1, ge=1, le=1000)
    speech_tokens: int = Field(48, ge=1, le=MAX_TOKENS)
    # "both": every item is argued with each assignment of debaters to answers;
    # "random": one match per item, sides drawn from the match's seed.
    sides: Literal["both", "random"] = "both"
    # the protocol's own options, validated by its `options` model (e.g. interactive's
    # question_tokens, collaborative's n_agents and aggregate)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: object) -> object:
        return _move_legacy(data, LEGACY_PROTOCOL_KEYS)


class TaskConfig(Strict):
    name: str = "hidden-passage"
    n_items: int = Field(20, ge=1, le=MAX_ITEMS)
    seed: int = 0
    params: dict[str, Any] = Field(default_factory=dict)


class EvidenceConfig(Strict):
    # share of a quote's words that must match the passage exactly (1.0, the default); the rest
    # may only be typos of the passage's words, never other words (see debate.evidence)
    quote_threshold: float = Field(1.0, ge=0.0, le=1.0)
    # what others read of a quote of part of a sentence: the whole sentence with the quote
    # marked (the default), or, for experiments only, the fragment alone ("bare"), which lets
    # a quote leave out the words around it that change its meaning
    fragments: Literal["sentence", "bare"] = "sentence"


class Price(Strict):
    """Dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


def default_debaters() -> list[AgentConfig]:
    return [AgentConfig(name="smollm2")]


def folder_name(name: str) -> str:
    """A run's name is a folder under `out` (sub-folders allowed): never `out` itself, never a
    place outside it (an absolute path, a `..` step), and one line of printable text."""
    if not name.strip() or name.strip() in (".", "..") or not name.isprintable():
        raise ValueError(f"{name!r} cannot name a run folder (control characters or blank)")
    if Path(name).is_absolute() or name.startswith("~"):
        raise ValueError(f"{name!r} is a path of its own; a run name is a folder under --out")
    if ".." in Path(name).parts:
        raise ValueError(f"{name!r} steps out of --out with '..'; a run name is a folder under it")
    return name


def printable_path(path: str) -> str:
    if not path.strip() or not path.isprintable():
        raise ValueError(f"{path!r} cannot name a folder (control characters or blank)")
    return path


RunName = Annotated[str, AfterValidator(folder_name)]
OutFolder = Annotated[str, AfterValidator(printable_path)]


class RunConfig(Strict):
    name: RunName = "run"
    out: OutFolder = "runs"
    seed: int = 0
    max_live: int = Field(32, ge=1, le=100_000, description="matches in flight at once")
    # a match whose model fails for good is recorded as failed and retried on resume; the run
    # stops starting new ones once more than this many matches have failed
    max_failures: int = Field(0, ge=0)
    task: TaskConfig = Field(default_factory=TaskConfig)
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig)
    debaters: list[AgentConfig] = Field(default_factory=default_debaters)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    # per model spec or API model name; with prices known, usage reports cost
    prices: dict[str, Price] = Field(default_factory=dict)
    # stop starting matches once this run has spent this much (finished matches kept, resumable)
    max_cost: float | None = Field(None, gt=0, description="dollars")
    max_tokens: int | None = Field(None, gt=0, description="input plus output tokens")

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / self.name


# Command-line flags (and the Python API's keywords) that are shorthands for config keys.
FLAG_KEYS = {
    "protocol": "protocol.name",
    "task": "task.name",
    "n_items": "task.n_items",
    "rounds": "protocol.rounds",
    "seed": "seed",
    "judge": "judge.model",
    "judge_kind": "judge.kind",
    "name": "name",
    "out": "out",
    "schedule": "schedule.kind",
    "outcome": "ratings.outcome",
    "checkpoint": "checkpoint",
    "max_cost": "max_cost",
    "max_tokens": "max_tokens",
    "max_failures": "max_failures",
}


def parse_debater(text: str) -> dict:
    """`NAME=SPEC` or a bare `SPEC` (then the spec, made path-safe, is the name). Only a plain
    word before the first `=` is a name: in `openai:m@http://h/v1?concurrency=8` the `=` belongs
    to the spec's options."""
    name, sep, spec = text.partition("=")
    if not sep or any(c in name for c in ":/@?&"):
        name, spec = text.replace(":", "-").replace("/", "-"), text
    return {"name": name, "model": spec}


# -- tournaments (here so that standings and reports need not import the tournament runner) --


class ScheduleConfig(Strict):
    kind: Literal["round-robin", "swiss"] = "round-robin"
    self_play: bool = True
    swiss_rounds: int = Field(4, ge=1, le=MAX_ROUNDS)
    swiss_items_per_round: int = Field(4, ge=1, le=MAX_ITEMS)


class RatingsConfig(Strict):
    # "hard": the judge's pick is the winner; "soft": the judge's probability for each side
    outcome: Literal["hard", "soft"] = "hard"
    n_boot: int = Field(1000, ge=0, le=MAX_BOOT)
    # resample whole items (games on one item share its difficulty) or single games
    resample: Literal["item", "game"] = "item"


def default_lineup() -> list[AgentConfig]:
    """Four debaters of clearly different strength: a quoter that always quotes the deciding
    sentence when it supports its side, SmolLM2 with two prompt styles, and a random quoter."""
    return [
        AgentConfig(name="honest-quoter", model="scripted:honest"),
        AgentConfig(name="smollm2-quote", model="smollm2", prompt_style="quote"),
        AgentConfig(name="smollm2-claim", model="smollm2", prompt_style="claim", speech="free"),
        AgentConfig(name="random-quoter", model="scripted:random"),
    ]


class TournamentConfig(RunConfig):
    name: RunName = "tournament"
    task: TaskConfig = Field(default_factory=lambda: TaskConfig(n_items=10))
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig)
    debaters: list[AgentConfig] = Field(default_factory=default_lineup)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    ratings: RatingsConfig = Field(default_factory=RatingsConfig)


def read_text(path: Path, what: str = "config file") -> str:
    """A UTF-8 text file's contents (at most files.TEXT_LIMIT), or a ConfigError that says why
    it cannot be read."""
    return files.read_text(path, what, ConfigError)


# deeper than any config; PyYAML's composer recurses once per level (5,000 levels overflow it)
MAX_DEPTH = 50
# values after YAML aliases are expanded: `&a [*b, *b, ...]` nine levels deep is 10^9 values
MAX_VALUES = 1_000_000


def parse_yaml(text: str, where: str) -> Any:
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(f"cannot parse {where}: nested more than {MAX_DEPTH} deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"cannot parse {where}: {one_line(e)}") from None
    if count_values(data, {}) > MAX_VALUES:
        raise ConfigError(f"cannot parse {where}: more than {MAX_VALUES} values (YAML aliases?)")
    return data


def count_values(data: object, seen: dict[int, int]) -> int:
    """How many values `data` holds once shared parts (YAML aliases) are counted each time they
    occur; each shared part is counted once and remembered, so this is quick even when the
    total is huge."""
    if not isinstance(data, (dict, list)):
        return 1
    if id(data) not in seen:
        seen[id(data)] = 0  # a part that holds itself counts once
        parts = [*data.keys(), *data.values()] if isinstance(data, dict) else data
        seen[id(data)] = 1 + sum(count_values(p, seen) for p in parts)
    return seen[id(data)]


def one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200]


def read_file(path: Path) -> dict:
    text = read_text(path)
    if path.suffix != ".toml":
        data = parse_yaml(text, str(path))
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"cannot parse {path}: {one_line(e)}") from None
        except RecursionError:
            raise ConfigError(f"cannot parse {path}: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys")
    return data


def parse_assignment(assignment: str) -> tuple[str, Any]:
    """`a.b.c=value` -> ("a.b.c", value), the value read as YAML."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set needs key=value, got {assignment!r}")
    return key, parse_yaml(raw, f"--set {key}= (values are YAML)") if raw else ""


def set_key(data: dict, key: str, value: Any) -> None:
    """Set the one config key `key` (a dotted path; list items by index, e.g. debaters.0.model)
    in `data`, leaving every other key as it is. A sub-config that is unset (None) is started
    empty, so its own defaults fill the rest (debaters.0.preference.kind=letter)."""
    parts = key.split(".")
    if "" in parts:
        raise ConfigError(f"--set {key!r}: a key has no empty parts (write a.b.c=value)")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        elif isinstance(node, dict):
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        else:
            above = ".".join(parts[:i])
            raise ConfigError(f"config key {key!r} does not exist ({above!r} is a single value)")
        if node is None:
            raise ConfigError(f"config key {key!r} does not exist")
    if not isinstance(node, (list, dict)):
        above = ".".join(parts[:-1])
        raise ConfigError(f"config key {key!r} does not exist ({above!r} is a single value)")
    if isinstance(node, list):
        if not (parts[-1].isdigit() and int(parts[-1]) < len(node)):
            raise ConfigError(f"config key {key!r} does not exist")
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def apply_override(data: dict, assignment: str) -> None:
    """`a.b.c=value` (value parsed as YAML; list items by index, e.g. debaters.0.model=...)."""
    set_key(data, *parse_assignment(assignment))


def merge(base: dict, given: dict) -> dict:
    """`given` laid over `base`: mappings merge key by key, anything else (a value, a list)
    replaces what `base` held."""
    out = dict(base)
    for k, v in given.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def defaults(model: type[BaseModel]) -> dict:
    """A config class's own defaults, as data (empty for a class with required keys)."""
    try:
        return model().model_dump(mode="json")
    except ValidationError:
        return {}


def validate(model: type[BaseModel], data: dict) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"config key {key!r} does not exist") from None
        hint = ""
        if err["type"] == "string_type" and isinstance(err.get("input"), (bool, int, float)):
            hint = f" (YAML read {err['input']!r}; put the value in quotes to keep it as text)"
        raise ConfigError(f"config key {key!r}: {one_line(err['msg'])}{hint}") from None


def parse_options(owner: str, key: str, options: type[BaseModel], params: dict) -> Any:
    """A plugin's `params` (config key `key`), validated by its options model; errors name the
    option and list the valid ones."""
    valid = ", ".join(options.model_fields) or "none"
    try:
        return options.model_validate(params)
    except ValidationError as e:
        err = e.errors()[0]
        name = f"{key}.{'.'.join(str(p) for p in err['loc'])}"
        if err["type"] == "extra_forbidden":
            raise ConfigError(
                f"config key {name!r}: {owner} has no such option; its options: {valid}"
            ) from None
        raise ConfigError(
            f"config key {name!r}: {err['msg']} ({owner}'s options: {valid})"
        ) from None


Override = str | tuple[str, Any]


def in_own_folder(path: Path, given: dict) -> dict:
    """A run folder's own config.yaml (`OUT/NAME/config.yaml`, named `NAME`) places the run
    where that file now lies, not at the `out` it was written with: a moved run resumes in its
    new place (`--config MOVED/NAME/config.yaml`). `--out` or `--set out=` still win."""
    folder = Path(path).resolve().parent
    if Path(path).name == "config.yaml" and "out" in given and given.get("name") == folder.name:
        return {**given, "out": str(folder.parent)}
    return given


def default_at(base: dict, key: str) -> dict:
    """The command's default mapping at dotted `key` (empty where it has none): `--set
    'judge={kind: panel, ...}'` keeps the command's other judge defaults (`orders: both`)."""
    node: Any = base
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def load_config(
    model: type[BaseModel], source: Path | BaseModel | None, overrides: list[Override]
) -> Any:
    """The command's own defaults (the config class's), then the file's values (or a config
    object's), then each override in order: `key=value` text (CLI flags become these) or a
    (key, value) pair. Each changes exactly the key it names; a mapping in a file merges key by
    key, a list in a file replaces the list. A mapping given to an override is laid over the
    command's default for that key (its own defaults fill what it leaves out). When nothing names `name`, the config is left
    without it set (`model_fields_set`), and `named` gives it a name of its own."""
    if isinstance(source, BaseModel):
        given = source.model_dump(mode="json", exclude_unset=False)
        if "name" not in source.model_fields_set:
            given.pop("name", None)
    else:
        given = in_own_folder(source, read_file(source)) if source is not None else {}
    base = defaults(model)
    data = merge(base, given)
    explicit = "name" in given
    for o in overrides:
        key, value = parse_assignment(o) if isinstance(o, str) else o
        if isinstance(value, dict):  # a whole mapping starts from the command's default there
            value = merge(default_at(base, key), value)
        set_key(data, key, value)
        explicit = explicit or key == "name"
    if not explicit:
        data.pop("name", None)
    return validate(model, data)


# Settings that change how fast a run goes or what it may spend, never what it produces: they
# neither name a run's folder nor make two runs differ.
SPEED_KEYS = {"max_live", "max_failures", "prices", "max_cost", "max_tokens"}


def flatten(d: object, prefix: str = "") -> dict[str, object]:
    """Nested mappings as one mapping of dotted keys (lists are single values)."""
    if isinstance(d, dict):
        out: dict[str, object] = {}
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): d}


def named(cfg: BaseModel) -> Any:
    """A config whose name nobody gave gets one from what it changes: the command's default
    name (`run`, `tournament`, ...) alone when it changes nothing, else that name and a digest
    of the keys it sets away from the command's defaults (`run-3f2a9c1d`). The same command
    again lands in the same folder and resumes; a different one never collides with it."""
    if "name" in cfg.model_fields_set or "name" not in type(cfg).model_fields:
        return cfg
    base, now = flatten(defaults(type(cfg))), flatten(cfg.model_dump(mode="json"))
    changed = {k: now.get(k) for k in sorted(base.keys() | now.keys())
               if base.get(k) != now.get(k) and k.split(".")[0] not in SPEED_KEYS | {"name", "out"}}  # fmt: skip
    name = cfg.name
    if changed:
        digest = hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:8]
        name = f"{name}-{digest}"
    return cfg.model_copy(update={"name": name})


def dump_yaml(cfg: BaseModel) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
