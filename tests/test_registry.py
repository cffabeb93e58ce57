"""The registry is strict, lazy, typed and namespaced; third-party plugins register through
entry points and cannot shadow or break the built-in ones."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from debate.match.protocol import protocol
from debate.registry import RegistryError, get, names, register

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = '''
from debate.match.judge import Judge
from debate.match.protocol import protocol
from debate.registry import register
from debate.schema import Verdict


@protocol("quote-off", roles=("A", "B"))
async def quote_off(m):
    """Both debaters speak once, each seeing nothing, then the judge decides."""
    for role in m.roles:
        await m.speak(role, 0, sees=[])
    await m.decide()


@protocol("sequential", roles=("A", "B"))  # a name the harness has: namespaced, never a clash
async def my_sequential(m):
    await m.decide()


@register("judge", "most-evidence")
class MostEvidence(Judge):
    """Favours the side that brought more verified quotes."""

    def models(self):
        return set()

    async def decide(self, case):
        counts = [1.0] * len(case.item.answers)
        for t in case.turns:
            counts[t.side] += sum(q.verified for q in t.quotes)
        return Verdict(probs=[c / sum(counts) for c in counts], judge="most-evidence", calls=0)
'''


def installed(tmp_path: Path, name: str, entry_points: str, files: dict[str, str]) -> dict:
    """A package laid out as pip lays it beside the harness (a folder and its dist-info), and
    the environment of a process that sees it."""
    site = tmp_path / "site"
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    return {"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}


def test_a_plugin_package_adds_a_protocol_and_a_judge_under_its_namespace(tmp_path):
    env = installed(tmp_path, "quote_plugin",
                    "[debate_harness.protocol]\nquotes = quote_plugin\n"
                    "[debate_harness.judge]\nquotes = quote_plugin\n",
                    {"quote_plugin/__init__.py": PLUGIN})  # fmt: skip
    cli = [sys.executable, "-m", "debate.cli.main"]
    helptext = subprocess.run([*cli, "run", "--help"], env=env, capture_output=True, text=True)
    assert "quotes/quote-off" in helptext.stdout and "quotes/most-evidence" in helptext.stdout
    assert "quotes/sequential" in helptext.stdout, "a name the harness has lives beside it"
    args = ["run", "--protocol", "quotes/quote-off", "--judge-kind", "quotes/most-evidence",
            "--debater", "h=scripted:honest", "--debater", "l=scripted:liar",
            "--n-items", "5", "--out", str(tmp_path / "runs"), "--name", "p"]  # fmt: skip
    done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "runs" / "p" / "results.json").read_text())
    assert results["protocol"] == "quotes/quote-off"
    assert results["n_matches"] == 10
    wins = results["win_rate"]  # the honest quoter's quotes verify, the liar's forged ones do not
    assert wins["h"]["as_true"]["value"] >= 0.8 > wins["l"]["as_false"]["value"]
    # the built-in protocol of the same name is untouched
    args[2], args[-1] = "sequential", "s"
    done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "runs" / "s" / "results.json").read_text())["n_matches"] == 10


def test_a_broken_plugin_is_skipped_with_one_warning(tmp_path):
    env = installed(tmp_path, "broken_plugin", "[debate_harness.protocol]\nbad = no_such_module\n",
                    {})  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "debate.cli.main", "run", "--help"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and "sequential" in done.stdout
    assert "plugin 'bad' (no_such_module) skipped" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_second_registration_of_a_name_names_both_origins():
    get("protocol", "sequential")  # the built-ins are in
    with pytest.raises(RegistryError) as e:

        @protocol("sequential", roles=("A", "B"))
        async def shadow(m):  # pragma: no cover - never registered
            await m.decide()

    assert "debate.protocols.debate.sequential_debate" in str(e.value)
    assert "test_registry" in str(e.value) and "shadow" in str(e.value)
    assert get("protocol", "sequential").run.__name__ == "sequential_debate"


def test_an_entry_of_the_wrong_type_is_refused():
    with pytest.raises(RegistryError, match="is not a Judge subclass"):
        register("judge", "not-a-judge")(lambda cfg: None)
    with pytest.raises(RegistryError, match="is not a Protocol"):
        register("protocol", "not-a-protocol")(object())
    assert "not-a-judge" not in names("judge")


def test_plugins_import_when_their_kind_is_first_asked_for():
    code = (
        "import sys\n"
        "import debate.cli.main\n"
        "heavy = ('matplotlib', 'torch', 'transformers', 'datasets', 'trl', 'peft')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from debate.registry import get\n"
        "get('task', 'hidden-passage')\n"
        "print('judges' in sys.modules, 'debate.suites.metrics' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    # the CLI's help lists protocols and judges (cheap), and loads no model or plotting library
    assert done.stdout.splitlines()[0] == "[]"
    code = (
        "import sys\nfrom debate.registry import get\nget('task', 'hidden-passage')\n"
        "print('judges' in sys.modules, 'protocols' in sys.modules, 'debate.suites.metrics' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "False False False", done.stderr


NEW_FILES = {
    "debate/protocols/opening_only.py": '''
from debate.match.protocol import protocol


@protocol("opening-only", roles=("A", "B"))
async def opening_only(m):
    """Each side gives one opening speech; the judge decides."""
    for role in m.roles:
        await m.speak(role, 0)
    await m.decide()
''',
    "debate/judges/longest.py": '''
from debate.match.judge import Case, Judge
from debate.registry import register
from debate.schema import Verdict


@register("judge", "longest")
class Longest(Judge):
    """Favours the side that said more."""

    def models(self):
        return set()

    async def decide(self, case: Case) -> Verdict:
        said = [1.0] * len(case.item.answers)
        for t in case.turns:
            said[t.side] += len(t.text)
        return Verdict(probs=[s / sum(said) for s in said], judge="longest", calls=0)
''',
    "debate/tasks/colours.py": """
from debate.registry import register
from debate.schema import Item


@register("task", "colours")
def colours(n_items: int, seed: int = 0) -> list[Item]:
    return [Item(id=f"c{i}", question="What colour is the sky?", answers=["blue", "green"],
                 correct=0, context="The sky is blue. Grass is green.",
                 deciding=["The sky is blue."]) for i in range(n_items)]
""",
    "debate/models/backends/echo.py": '''
from debate.models.base import Generation, LanguageModel
from debate.registry import register


class Echo(LanguageModel):
    """Says the last line of its prompt back."""

    def __init__(self, spec):
        self.spec = spec

    async def generate(self, requests):
        return [Generation(text="I quote: <quote>The sky is blue.</quote>") for r in requests]


@register("backend", "echo")
def echo(spec: str, rest: str) -> LanguageModel:
    return Echo(spec)
''',
}


def test_a_protocol_a_judge_a_task_and_a_backend_are_one_new_file_each(tmp_path):
    """Dropped into a copy of the package, each file is found with no list to edit."""
    import shutil

    shutil.copytree(ROOT / "debate", tmp_path / "debate",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for rel, text in NEW_FILES.items():
        (tmp_path / rel).write_text(text)
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    args = [sys.executable, "-m", "debate.cli.main", "run", "--protocol", "opening-only",
            "--judge-kind", "longest", "--task", "colours", "--debater", "e=echo",
            "--n-items", "2", "--out", str(tmp_path / "runs"), "--name", "new"]  # fmt: skip
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "runs" / "new" / "results.json").read_text())
    assert results["protocol"] == "opening-only" and results["n_matches"] == 4
    lines = (tmp_path / "runs" / "new" / "transcripts.jsonl").read_text().splitlines()
    t = json.loads(lines[0])
    assert t["verdict"]["judge"] == "longest" and t["turns"][0]["quotes"][0]["verified"]


def test_threads_loading_a_kind_at_once_all_see_every_entry():
    # a fresh process: two `debate.arun` gathered there ask for protocols from two threads
    code = """
import threading
from debate import registry
start, seen = threading.Barrier(4), []
def ask():
    start.wait()
    seen.append(len(registry.names("protocol")))
threads = [threading.Thread(target=ask) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(seen, len(registry.names("protocol")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seen, full = out.stdout.rsplit("]", 1)
    assert {int(n) for n in seen.strip("[ ").split(",")} == {int(full)}
