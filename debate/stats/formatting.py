"""How statistics are written in tables and terminals: one place, so a report, the viewer and
the command line print the same number the same way."""

from __future__ import annotations


def zeroed(fraction: float, decimals: int) -> float:
    """0.0 for a fraction that prints as zero percent with `decimals` decimals: so that it never
    prints as -0%."""
    return 0.0 if abs(fraction) < 0.5 * 10 ** -(decimals + 2) else fraction


def unread(m: dict) -> str:
    """ ", 40 of 40 verdicts unparsed" for an accuracy that counts unread verdicts (they count as
    not correct, so the number alone would read as a judge that was wrong); "" otherwise."""
    n = m.get("unparsed") or 0
    return f", {n} of {m.get('verdicts', m.get('n'))} verdicts unparsed" if n else ""


def pct(p: dict) -> str:
    """A rate with its interval in whole percent, "71% (65-78%)"."""
    if p["value"] is None:
        return "-" + unread(p)
    value, lo, hi = (zeroed(x, 0) for x in (p["value"], *p["ci95"]))
    return f"{value:.0%} ({lo:.0%}-{hi:.0%}){unread(p)}"


def percent(fraction: float, signed: bool = False) -> str:
    """A fraction as a percentage with one decimal; a value that rounds to zero prints as 0.0%,
    never -0.0%."""
    value = zeroed(fraction, 1)
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def estimate(m: dict | None, signed: bool = False) -> str:
    """A statistic with its 95% interval, "71.5% (65.0% to 78.0%)"; "-" when there is none."""
    if not m or m["value"] is None:
        return "-" + (unread(m) if m else "")
    lo, hi = m["ci95"]
    interval = f"({percent(lo, signed)} to {percent(hi, signed)})"
    return f"{percent(m['value'], signed)} {interval}{unread(m)}"


def signed_pct(d: dict) -> str:
    """A difference with its interval in whole percent, "+18% (+10% to +26%)"."""
    if d["value"] is None:
        return "-"
    value, lo, hi = (zeroed(x, 0) for x in (d["value"], *d["ci95"]))
    return f"{value:+.0%} ({lo:+.0%} to {hi:+.0%})"


def elo(value: float, ci: list[float]) -> str:
    return f"{value:.0f} ({ci[0]:.0f}-{ci[1]:.0f})"


def sign_p(d: dict) -> str:
    """A paired difference's sign-test p ("-" for records written before it was kept)."""
    p = d.get("sign_test_p")
    return "-" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def share(fraction: float | None) -> str:
    """A share in whole percent, "62%"; "-" where there is none."""
    return "-" if fraction is None else f"{zeroed(fraction, 0):.0%}"


def kappa_text(k: dict) -> str:
    """Cohen's kappa with its interval, "0.55 (0.12 to 0.91)"; "-" where it is undefined."""
    if k["value"] is None:
        return "-"
    return f"{k['value']:.2f} ({k['ci95'][0]:.2f} to {k['ci95'][1]:.2f})"
