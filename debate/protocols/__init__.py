"""Protocols: each a readable async function over a `debate.match.Match`, registered by name.
The registry imports the built-in modules on first use."""
