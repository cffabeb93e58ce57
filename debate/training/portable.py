"""Checkpoints that travel with their run folder.

- A LoRA adapter names its base model by the policy's spec (`smollm2`, a hub id, `gguf:FILE`),
  not by the folder this machine happened to convert or cache it in; `debate.models.hf` resolves
  a spec-named base when it loads the adapter.
- `league.json` names the run's own checkpoints by paths relative to the run folder, so a run
  folder moved or copied elsewhere still resumes. A league written with absolute paths (before
  this) still reads; where such a path no longer exists, the checkpoint of the same name in the
  run folder being resumed is used.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from debate.config import is_embedded
from debate.training.league import LeagueState

# model spec schemes whose text after ':' is a path on this machine
PATH_SCHEMES = ("peft", "hf", "gguf")
CHECKPOINT = re.compile(r"(?:^|/)(checkpoints/gen-\d+)/?$")


def base_spec(policy_spec: str) -> str:
    """What an adapter's `base_model_name_or_path` says: the spec without its `?options` (a
    dtype is a choice of the loader, not of the weights); a hub id as the hub id, which peft and
    transformers read directly; a local folder or GGUF file by its absolute path."""
    spec = policy_spec.split("?", 1)[0]
    if is_embedded(spec):
        return spec
    scheme, _, rest = spec.partition(":")
    local = Path(rest).expanduser()
    if scheme == "hf":
        return str(local.resolve()) if local.exists() else rest
    if scheme == "gguf":
        return f"gguf:{local.resolve()}"
    return spec


def name_base(checkpoint: Path, policy_spec: str) -> None:
    """Rewrite a saved adapter's base model (the path it was trained from) as the policy's spec.
    A full fine-tuning checkpoint holds no adapter: nothing to do."""
    config = checkpoint / "adapter_config.json"
    if not config.exists():
        return
    data = json.loads(config.read_text())
    old, new = data.get("base_model_name_or_path"), base_spec(policy_spec)
    data["base_model_name_or_path"] = new
    _replace(config, json.dumps(data, indent=2, sort_keys=True) + "\n")
    card = checkpoint / "README.md"  # peft's model card names the base in its front matter
    if isinstance(old, str) and old and card.exists():
        _replace(card, card.read_text().replace(old, new))


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _split(spec: str) -> tuple[str, str, str] | None:
    """(scheme, path, ?options) of a spec naming a local path, else None."""
    scheme, colon, rest = spec.partition(":")
    if not colon or scheme not in PATH_SCHEMES or not rest:
        return None
    path, q, options = rest.partition("?")
    return scheme, path, q + options


def relative_spec(spec: str, run_dir: Path) -> str:
    """A spec naming a path inside the run folder, relative to it; any other local path
    absolute (a relative one would otherwise be read against the run folder)."""
    parts = _split(spec)
    if parts is None:
        return spec
    scheme, path, options = parts
    target = Path(path).expanduser().resolve()
    try:
        path = str(target.relative_to(run_dir.resolve()))
    except ValueError:
        path = str(target) if Path(path).expanduser().exists() else path
    return f"{scheme}:{path}{options}"


def resolved_spec(spec: str, run_dir: Path) -> str:
    """A spec as league.json holds it, made loadable: a relative path is under the run folder;
    an absolute path to a checkpoint that is gone (the folder was moved) is the run folder's own
    checkpoint of that generation, where it has one."""
    parts = _split(spec)
    if parts is None:
        return spec
    scheme, path, options = parts
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = run_dir / p
    elif not p.exists() and (m := CHECKPOINT.search(path)) and (run_dir / m.group(1)).exists():
        p = run_dir / m.group(1)
    return f"{scheme}:{p.resolve()}{options}"


def write_league(league: LeagueState, path: Path, run_dir: Path) -> None:
    members = [m.model_copy(update={"model": relative_spec(m.model, run_dir)})
               for m in league.members]  # fmt: skip
    path.write_text(league.model_copy(update={"members": members}).model_dump_json(indent=1))


def read_league(path: Path, run_dir: Path) -> LeagueState:
    league = LeagueState.model_validate_json(path.read_text())
    league.members = [m.model_copy(update={"model": resolved_spec(m.model, run_dir)})
                      for m in league.members]  # fmt: skip
    return league


__all__ = ["base_spec", "name_base", "read_league", "write_league"]
