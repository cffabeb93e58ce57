import pytest

from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, RunConfig, TaskConfig


@pytest.fixture
def scripted_cfg(tmp_path):
    """A run of scripted debaters and the oracle judge: no model weights, milliseconds."""

    def make(**kw) -> RunConfig:
        base = dict(
            name="t",
            out=str(tmp_path / "runs"),
            debaters=[
                AgentConfig(name="honest", model="scripted:honest"),
                AgentConfig(name="liar", model="scripted:liar"),
            ],
            judge=JudgeConfig(kind="oracle"),
            protocol=ProtocolConfig(name="sequential", rounds=2),
            task=TaskConfig(n_items=6),
        )
        base.update(kw)
        return RunConfig(**base)

    return make
