"""`python -m debate.cli.main`: the `debate` command."""

from debate.cli.main import app

app()
