"""Evidence: a debater's text made safe to show, and its quotes checked against the passage.

Three rules make evidence unforgeable:

1. Only the harness writes markup. `sanitize` is applied to everything a debater writes, on
   every path (judge views, other debaters' prompts, terminal, markdown, HTML): control
   characters, escape sequences, bidi overrides and zero-width characters are removed; `<`,
   `>` and their look-alikes become `‹` `›`, so no chat-template token (`<|im_start|>`), speech
   header (`<speech by=...>`) or quote mark (`<v_quote>`) can come from a debater; the names of
   the harness's quote marks are broken up even when written with other brackets; and any other
   special token of the models in play (`[INST]`) is broken up too.
2. A verified quote is shown as the passage's own text, never the debater's characters, and
   as the whole sentence(s) that hold it, with the quoted words marked ⟦ ⟧ inside (no marks
   when it is whole sentences): a fragment never stands alone, so no qualifier around it
   ("not", "only a fool would think that", "Tom said", "except") can be left out. Sentences are
   `debate.segmenter`'s. A quote is one contiguous run of the passage's words inside one
   sentence, or whole sentences; an ellipsis inside a quote makes separate quotes, each
   checked and shown on its own, so nothing verifies a statement assembled from pieces. Every
   verified quote records its place in the passage (character offsets), and every rule that
   compares quotes (`debate.quoted`) compares places, never words. `evidence.fragments: bare`
   shows a fragment alone, marked with `…`, for experiments only.
3. One normalisation (`debate.passage.words`) for matching and display: case, Unicode forms,
   whitespace and punctuation between words aside, and a number is one word. Every word of a
   quote must be a word of the span, in order, none added, dropped or swapped.

`evidence.quote_threshold` below 1.0 forgives typos, nothing else: up to (1 - threshold) of a
quote's words may each be one edit (a letter added, dropped, changed, or two swapped) away from
the passage's word, if both have 5 or more letters, neither holds a digit, and the debater's
word is not itself a word of the item (passage, question or answers), so "not", a changed word
or the other answer never verifies. Since the judge reads the passage's word, a forgiven typo
cannot change what it reads.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from debate.passage import (  # noqa: F401 (the normalisation and splitter every module uses)
    MARK_CLOSE,
    MARK_OPEN,
    Passage,
    read_passage,
    sentences,
    words,
)
from debate.schema import QuoteCheck

QUOTE_RE = re.compile(r"<\s*quote\s*>(.*?)(?:<\s*/\s*quote\s*>|$)", re.I | re.S)
ELLIPSIS_RE = re.compile(r"\[\s*(?:…|\.{3,})\s*\]|…|\.{3,}")
# ESC sequences (CSI, OSC, and two-character ones) go whole: their tails are printable.
ESCAPE_SEQ_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_]?)")
ANGLES = str.maketrans(
    {c: "‹" for c in "<‹〈⟨＜﹤ᐸ❮⧼⟪《〈"} | {c: "›" for c in ">›〉⟩＞﹥ᐳ❯⧽⟫》〉"}
)
# The harness's quote marks, however a debater brackets or spells them.
HARNESS_NAMES_RE = re.compile(r"([vu])[\W_]*(quote)", re.I)


# -- safe text ---------------------------------------------------------------------------------
def strip_controls(text: str) -> str:
    """Text with nothing a terminal or a reader would act on: no ESC sequences, no C0/C1
    controls but newline and tab, no bidi overrides, zero-width or other format characters."""
    text = ESCAPE_SEQ_RE.sub("", text).replace("\r\n", "\n")
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
        elif ch in "\r\u2028\u2029":
            out.append("\n")
        elif ch in "\x0b\x0c":
            out.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"):
            out.append(ch)
    return "".join(out)


def sanitize(text: str, special_tokens: Iterable[str] = ()) -> str:
    """A debater's text (or any untrusted text) as it may be shown anywhere: see rule 1 above.
    For HTML, escape the result as usual; for markdown, escape its markup characters."""
    text = strip_controls(text).translate(ANGLES)
    text = HARNESS_NAMES_RE.sub(r"\1 \2", text)
    for token in special_tokens:
        if token and token in text and not re.fullmatch(r"\w+", token):
            text = text.replace(token, break_token(token))
    return text


def break_token(token: str) -> str:
    """A special token written so no tokenizer reads it as one: ASCII marks become full-width."""
    return "".join(
        chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and not c.isalnum() else c for c in token
    )


def special_tokens_of(model: object) -> frozenset[str]:
    """Every token string a model's tokenizer would read as one added or special token."""
    tok = getattr(model, "tokenizer", None)
    if tok is None:
        return frozenset()
    added = [t.content for t in getattr(tok, "added_tokens_decoder", {}).values()]
    return frozenset(added + list(getattr(tok, "all_special_tokens", [])))


# -- quotes ------------------------------------------------------------------------------------
def check_quote(
    quote: str,
    passage: str | Passage,
    threshold: float = 1.0,
    item_text: Iterable[str] = (),
    fragments: str = "sentence",
) -> QuoteCheck:
    """Check one quote (no ellipsis inside: `split_quote` first). `item_text`: the question
    and answers, whose words are never forgiven as typos. A verified quote carries its place
    in the passage and what others read of it (`fragments`: see rule 2 above)."""
    p = passage if isinstance(passage, Passage) else read_passage(passage)
    said = [w.key for w in words(strip_controls(quote))]
    text = quote.strip()
    if not said or not p.words:
        return QuoteCheck(text=text, verified=False, similarity=0.0)
    vocabulary = p.vocabulary | frozenset(w.key for t in item_text for w in words(t))
    run = p.find(said, int(len(said) * (1.0 - threshold) + 1e-9), vocabulary)
    if run is None:
        return QuoteCheck(text=text, verified=False, similarity=0.0)
    exact = sum(s == p.words[i].key for s, i in zip(said, run))
    return quote_check(p, run, text=text, similarity=round(exact / len(said), 4),
                       fragments=fragments)  # fmt: skip


def quote_check(
    p: Passage, run: range, *, text: str, similarity: float = 1.0, fragments: str = "sentence"
) -> QuoteCheck:
    """The record of a verified quote of the passage words `run`."""
    sents = p.sentences_of(run)
    bare = fragments == "bare" and len(sents) == 1
    start, end = p.chars(run)
    return QuoteCheck(
        text=text,
        verified=True,
        similarity=similarity,
        passage_text=sanitize(p.shown_bare(run) if bare else p.shown([run], sents)),
        start=start,
        end=end,
        sentence_start=p.spans[sents[0]][0],
        sentence_end=p.spans[sents[-1]][1],
    )


def split_quote(body: str) -> list[str]:
    """A quote's pieces between ellipses: each is a quote of its own."""
    parts = [p for p in ELLIPSIS_RE.split(body) if words(p)]
    return parts or [body]


def mark_quotes(
    text: str,
    passage: str,
    threshold: float = 1.0,
    *,
    item_text: Iterable[str] = (),
    special_tokens: Iterable[str] = (),
    fragments: str = "sentence",
) -> tuple[str, list[QuoteCheck]]:
    """What others read of a speech, and its quote checks. A verified quote is shown as
    `<v_quote>` holding the passage's own text (its whole sentences, the quote marked); an
    unverified one as `<u_quote>` holding the debater's (sanitised); every quote mark is set
    apart by spaces."""
    p = read_passage(passage)
    specials, item_text = tuple(special_tokens), tuple(item_text)
    shown, checks, pos = [], [], 0
    for m in QUOTE_RE.finditer(text):
        shown.append(sanitize(text[pos : m.start()], specials))
        for piece in split_quote(m.group(1)):
            check = check_quote(piece, p, threshold, item_text, fragments)
            checks.append(check)
            if check.verified:
                shown.append(f" <v_quote>{check.passage_text}</v_quote> ")
            else:
                body = " ".join(sanitize(check.text, specials).split())
                shown.append(f" <u_quote>{body}</u_quote> ")
        pos = m.end()
    shown.append(sanitize(text[pos:], specials))
    return re.sub(r"[ \t]{2,}", " ", "".join(shown)).strip(), checks


# -- length ------------------------------------------------------------------------------------
def cut_to_budget(text: str, budget: int, tokenizer: object = None) -> tuple[str, int | None]:
    """The text cut to `budget` tokens, and its length before the cut (None when it fit).
    With no tokenizer, words stand in for tokens: every tokenizer here needs at least one token
    a word, so a speech within budget is never cut."""
    if tokenizer is not None:

        def encode(t: str) -> list[int]:
            return tokenizer(t, add_special_tokens=False)["input_ids"]

        ids = encode(text)
        if len(ids) <= budget:
            return text, None
        # decoding then encoding again can merge tokens differently: shrink until it fits
        keep = budget
        while True:
            cut = tokenizer.decode(ids[:keep]).rstrip("\ufffd")
            over = len(encode(cut)) - budget
            if over <= 0 or keep <= 1:
                return cut, len(ids)
            keep -= over
    spans = list(re.finditer(r"\S+", text))
    if len(spans) <= budget:
        return text, None
    return text[: spans[budget - 1].end()], len(spans)
