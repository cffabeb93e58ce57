"""Protocols: each a readable async function over a `debate.match.Match`, registered by name.
The registry imports the built-in modules (debate, consultancy, baselines) on first use."""
