"""`python -m debate.cli.main`: the `debate` command."""

from debate.cli.entry import main

main()
