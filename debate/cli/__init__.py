"""The `debate` command line: `main` holds the core commands, `eval` the eval suites' group, and
`shared` what every command shares."""
