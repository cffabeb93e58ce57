"""Judges: each returns a probability for every answer, registered by name. The interface and
the judge's view live in the core (`debate.match.judge`); this package holds the built-in kinds."""
