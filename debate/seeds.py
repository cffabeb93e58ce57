"""Seeds and timings every layer shares: a stable seed from any parts, and a rounded duration."""

from __future__ import annotations

import hashlib


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts: never Python's salted `hash`, never the global RNG."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def round_s(seconds: float) -> float:
    return round(seconds, 4)
