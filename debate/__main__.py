"""`python -m debate`: the `debate` command."""

from debate.entry import main

main()
