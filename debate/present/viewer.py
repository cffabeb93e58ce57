"""`debate view`: one self-contained HTML page for any run folder (a run, a tournament, an eval
suite, a training run): the matches with filters, each transcript, the summary tables and plots.

This module only gathers the page's data; `templates/viewer.html.j2` and `viewer.js` draw it.
Nothing a model wrote ever becomes markup: speeches are split here into plain-text segments
(quotes marked by the harness, never by the speaker), the data travels as JSON with every `<`
escaped, and the page builds its DOM with `textContent` under a Content-Security-Policy that
runs only the page's own script.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import string
import time
from pathlib import Path

import jinja2

from debate.config import one_line
from debate.files import read_lines
from debate.match.prompts import speaker_label
from debate.pixels.evidence import image_view
from debate.present.view_summary import summary
from debate.runfolder import RunFolder, RunFolderError
from debate.schema import Transcript, Turn

TEMPLATES = Path(__file__).parent / "templates"
# only the harness writes these tags: a speaker's `<` and `>` are escaped in `Turn.shown`
QUOTE_TAG = re.compile(r"<(v_quote|u_quote)>(.*?)</\1>", re.S)
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "“”‘’«»"})


def transcript_files(run_dir: Path) -> list[Path]:
    """Every transcripts file under a run folder: its own, arms of an eval suite, a training
    run's eval folders and rollouts."""
    files = sorted(run_dir.rglob("transcripts.jsonl")) + sorted(run_dir.glob("rollouts/*.jsonl"))
    return [f for f in files if "checkpoints" not in f.relative_to(run_dir).parts]


def check_run_folder(run_dir: Path) -> None:
    """Refuse a folder that holds run folders rather than being one (`runs/`): reading every
    run below it as one would pool runs with different settings without a word. (A folder of
    saved transcripts with no config.yaml, and no runs in it, is read as one run.)"""
    if (run_dir / "config.yaml").exists():
        return
    inside = sorted(p.parent.name for p in run_dir.glob("*/config.yaml"))
    if inside:
        raise RunFolderError(f"{run_dir} is not a run folder but holds {len(inside)}: "
                             f"{', '.join(inside[:10])}{', ...' if len(inside) > 10 else ''}; "
                             "give one of them")  # fmt: skip


def group_of(run_dir: Path, file: Path) -> str:
    rel = file.relative_to(run_dir)
    if rel.name == "transcripts.jsonl":
        # resolved: a run folder given as "." is named by its own name, never ""
        return str(rel.parent) if rel.parent != Path(".") else run_dir.resolve().name
    return str(rel.with_suffix(""))


def read_file(file: Path) -> list[Transcript]:
    if file.name == "transcripts.jsonl":
        return RunFolder(file.parent).read_transcripts(failed=True)  # failed ones shown as such
    out = []
    for n, line in read_lines(file, "rollouts file", RunFolderError):
        if line.strip():
            try:
                out.append(Transcript.model_validate_json(line))
            except ValueError as e:
                raise RunFolderError(
                    f"line {n} of {file} is corrupt ({one_line(e)[:120]})"
                ) from None
    return out


def load_transcripts(run_dir: Path) -> list[tuple[str, Transcript]]:
    """(group, transcript) for every transcript under the folder, group = where it lies."""
    return [(group_of(run_dir, f), t) for f in transcript_files(run_dir) for t in read_file(f)]


def segments(turn: Turn) -> list[dict]:
    """The speech as shown to the judge, split into text and quote segments. A quote counts as
    verified only if the harness's check of that quote says so, whatever the tags claim."""
    verified = {x for q in turn.quotes if q.verified for x in (q.text, q.passage_text) if x}
    out, pos = [], 0
    for m in QUOTE_TAG.finditer(turn.shown):
        if m.start() > pos:
            out.append({"t": turn.shown[pos : m.start()]})
        ok = m.group(1) == "v_quote" and m.group(2) in verified
        out.append({"t": m.group(2), "q": "v" if ok else "u"})
        pos = m.end()
    if pos < len(turn.shown):
        out.append({"t": turn.shown[pos:]})
    return out


def find_span(passage: str, quote: str) -> tuple[int, int] | None:
    """Where a quote occurs in the passage, compared word by word as the quote check does
    (case and punctuation ignored)."""
    low = passage.lower().translate(_PUNCT)
    if len(low) != len(passage):  # lower() changed a length: fall back to an exact search
        i = passage.find(quote)
        return (i, i + len(quote)) if i >= 0 else None
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", low)]
    q = quote.lower().translate(_PUNCT).split()
    for i in range(len(words) - len(q) + 1):
        if q and all(words[i + k][2] == w for k, w in enumerate(q)):
            return words[i][0], words[i + len(q) - 1][1]
    return None


def passage_segments(passage: str, turns: list[Turn]) -> list[dict]:
    """The passage cut at every quoted span; each piece names the turns that quoted it."""
    spans = []
    for n, turn in enumerate(turns):
        for q in turn.quotes:
            # a verified quote knows its place; a record from before places is searched for
            known = q.verified and q.start is not None and q.end is not None
            where = (q.start, q.end) if known else find_span(passage, q.text)
            if where:
                spans.append((*where, n))
    cuts = sorted({0, len(passage), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        by = sorted({n for s, e, n in spans if s <= a and b <= e})
        out.append({"t": passage[a:b], "by": by} if by else {"t": passage[a:b]})
    return out


def match_data(group: str, t: Transcript) -> dict:
    agents = sorted(set(t.agents.values()))
    v = t.verdict
    turns = [
        {
            "label": speaker_label(u.speaker),
            "agent": u.agent,
            "judge": u.speaker == "judge",
            "side": u.side,
            "round": u.round,
            "segments": segments(u),
            "raw": u.text,
            "tokens_in": u.tokens_in,
            "tokens_out": u.tokens_out,
            "wall_s": u.wall_s,
        }
        for u in t.turns
    ]
    sides = {t.agents[r]: [] for r in t.assignment}
    for r, s in t.assignment.items():
        sides[t.agents[r]].append("true" if s == t.item.correct else "false")
    return {
        "id": t.match_id,
        "key": f"{group}::{t.match_id}",
        "group": group,
        "protocol": t.protocol,
        "item": t.item.id,
        "question": t.item.question,
        "answers": t.item.answers,
        "correct": t.item.correct,
        "passage": passage_segments(t.item.context, t.turns),
        "image": image_view(t.item, t.turns),
        "players": [
            {"label": speaker_label(r), "agent": t.agents.get(r, ""), "side": s}
            for r, s in t.assignment.items()
        ],
        "agents": agents,
        "sides": sides,
        "self_play": len(t.agents) >= 2 and len(agents) == 1,
        "turns": turns,
        "verdict": None
        if v is None
        else {
            "probs": v.probs,
            "order_probs": v.order_probs,
            "judge": v.judge,
            "raw": v.raw,
            "parsed": v.parsed,
            "calls": v.calls,
            "wall_s": v.wall_s,
            "members": [
                {"judge": m.judge, "probs": m.probs, "parsed": m.parsed} for m in v.members
            ],
        },  # fmt: skip
        "judge_correct": t.judge_correct if v else None,
        # an unread verdict is no pick, neither right nor wrong: shown as such
        "outcome": "none"
        if v is None
        else "unparsed"
        if not v.parsed
        else "correct"
        if t.judge_correct
        else "wrong",
        "p_correct": t.p_correct if v else None,
        "quotes": [
            sum(q.verified for u in t.turns for q in u.quotes),
            sum(not q.verified for u in t.turns for q in u.quotes),
        ],  # fmt: skip
        "wall_s": t.wall_s,
        "status": "error" if t.error else "done",
        "error": t.error,
        "text": " ".join([t.item.question, *(u.text for u in t.turns)]).lower(),
    }


def page_data(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir} is not a folder")
    if not (run_dir / "config.yaml").exists():
        raise RunFolderError(f"{run_dir} has no config.yaml: not a run folder")
    kind, sections = summary(run_dir)
    matches = [match_data(g, t) for g, t in load_transcripts(run_dir)]
    cfg = RunFolder(run_dir).read_config()
    return {
        "title": f"{kind} {cfg.get('name', run_dir.name)}",
        "folder": str(run_dir.resolve()),
        "kind": kind,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
        "sections": sections,
        "matches": matches,
    }


def safe_json(data: object) -> str:
    """JSON that cannot end its <script> element or open a comment: every `<`, `>` and `&`
    is written as a \\u escape, which JSON.parse reads back as the same character."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(data: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    script = (TEMPLATES / "viewer.js").read_text()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return env.get_template("viewer.html.j2").render(
        title=data["title"], data_json=jinja2.utils.markupsafe.Markup(safe_json(data)),
        script=jinja2.utils.markupsafe.Markup(script), script_hash=f"sha256-{digest}",
    )  # fmt: skip


def inputs(run_dir: Path) -> set[Path]:
    """Every file the page is read from (resolved): a page must never be written over one."""
    run_dir = Path(run_dir)
    files = [*transcript_files(run_dir), *run_dir.glob("plots/*.png")]
    files += [
        run_dir / n for n in ("config.yaml", "results.json", "report.md", "generations.jsonl")
    ]
    return {f.resolve() for f in files}


def check_page_path(run_dir: Path, out: Path) -> None:
    """The page goes to a new or an HTML file in an existing folder, never over an input."""
    if out.is_dir():
        raise RunFolderError(f"--out {out} is a folder; name the HTML file to write")
    if not out.parent.is_dir():
        raise RunFolderError(f"--out {out}: folder {out.parent} does not exist")
    if out.resolve() in inputs(run_dir):
        raise RunFolderError(f"--out {out} is a file the page is read from; choose another file")
    if out.exists() and out.suffix.lower() not in (".html", ".htm"):
        raise RunFolderError(
            f"--out {out} exists and is not an .html file; refusing to write over it"
        )


def write_page(run_dir: Path, out: Path | None = None) -> Path:
    out = Path(out) if out else Path(run_dir) / "view.html"
    page = render(page_data(run_dir))
    check_page_path(run_dir, out)
    tmp = out.with_name(f".{out.name}.tmp")
    try:  # whole or not at all: a full disk leaves the old page as it was
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise RunFolderError(f"cannot write {out}: {e.strerror or e}") from None
    return out


def serve(run_dir: Path, out: Path, port: int, on_ready=None) -> None:
    """Serve the page on 127.0.0.1, rebuilt from the folder on every request (a live run's
    new matches show on reload)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/", "/index.html"):
                self.send_error(404)
                return
            try:
                body = render(page_data(run_dir)).encode()
                out.write_bytes(body)
                status = 200
            except RunFolderError as e:  # e.g. a line half written: say so, keep serving
                body, status = f"cannot read the run folder: {e}".encode(), 503
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if on_ready:
        on_ready(f"http://127.0.0.1:{server.server_address[1]}/")
    try:
        server.serve_forever()
    finally:
        server.server_close()
