"""Start-up: a command loads only what it uses. `--help` loads no model, plotting, training or
data library, and a run that needs no local model loads no model library either. (How long
start-up takes is measured in docs/benchmarks.md, not here.)"""

import json
import subprocess
import sys

TRAINING_AND_DATA = ["matplotlib", "trl", "peft", "datasets"]
MODEL = ["torch", "transformers"]
NUMERIC = ["numpy"]  # statistics and pixel images need it; help does not

# runs the `debate` command in this process, then prints which of the heavy modules it loaded
PROBE = """
import json, sys
from debate.cli.main import app
try:
    app(sys.argv[1:])
except SystemExit as e:
    assert not e.code, e.code
print(json.dumps(sorted(m for m in {names} if m in sys.modules)))
"""


def loaded(*args: str) -> list[str]:
    code = PROBE.format(names=TRAINING_AND_DATA + MODEL + NUMERIC)
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_loads_no_model_plotting_training_data_or_numeric_library():
    assert loaded("--help") == []
    assert loaded("run", "--help") == []
    assert loaded("tournament", "--help") == []


def test_a_run_without_local_models_loads_none_of_them(tmp_path):
    args = ["run", "--debater", "scripted:honest", "--debater", "scripted:liar", "--judge-kind",
            "oracle", "--n-items", "2", "--out", str(tmp_path), "--no-cache"]  # fmt: skip
    assert [m for m in loaded(*args) if m not in NUMERIC] == []
