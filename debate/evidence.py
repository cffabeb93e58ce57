"""Evidence: a debater's text made safe to show, and its quotes checked against the passage.

Three rules make evidence unforgeable:

1. Only the harness writes markup. `sanitize` is applied to everything a debater writes, on
   every path (judge views, other debaters' prompts, terminal, markdown, HTML): control
   characters, escape sequences, bidi overrides and zero-width characters are removed; `<`,
   `>` and their look-alikes become `‹` `›`, so no chat-template token (`<|im_start|>`), speech
   header (`<speech by=...>`) or quote mark (`<v_quote>`) can come from a debater; the names of
   the harness's quote marks are broken up even when written with other brackets; and any other
   special token of the models in play (`[INST]`) is broken up too.
2. A verified quote is shown as the passage's own text, never the debater's characters. Every
   verified quote is one contiguous span of the passage inside one sentence (or whole
   sentences), shown as its own quoted span, with `…` where the span starts or ends inside a
   sentence. An ellipsis inside a quote makes separate quotes, each checked and shown on its
   own; nothing verifies a statement assembled from pieces. A span cut out of a sentence that
   holds a negation ("not", "never", "n't", ...) outside the span is not verified: leaving the
   negation out would reverse what the passage says.
3. One normalisation (`words`) for matching and display: Unicode compatibility forms (NFKC),
   case, whitespace, punctuation between words (typographic quotes and dashes included),
   apostrophes and hyphens inside a word. Every word of a quote must be a word of the span, in
   order, none added, dropped or swapped.

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
from dataclasses import dataclass

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
WORD_RE = re.compile(r"[^\W_]+(?:['’ʼ\-‐‑][^\W_]+)*")
INNER_MARKS = str.maketrans("", "", "'’ʼ-‐‑")
SENTENCE_END_RE = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)|\n\s*\n")
NEGATIONS = frozenset(
    {"not", "no", "never", "nor", "neither", "none", "nobody", "nothing", "nowhere", "without"}
    | {"cannot", "false", "untrue"}
)
TYPO_MIN_LETTERS = 5


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


# -- one normalisation -------------------------------------------------------------------------
@dataclass(frozen=True)
class Word:
    key: str  # what matching compares
    start: int  # where the word is in the text it came from
    end: int
    sentence: int
    negation: bool


def word_key(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).casefold().translate(INNER_MARKS)


def is_negation(raw: str, key: str) -> bool:
    low = unicodedata.normalize("NFKC", raw).casefold()
    return key in NEGATIONS or bool(re.search(r"n['’ʼ]t$", low))


def words(text: str) -> list[Word]:
    """The words of a text, normalised, with their places and sentences."""
    ends = [m.end() for m in SENTENCE_END_RE.finditer(text)]
    out, sentence = [], 0
    for m in WORD_RE.finditer(text):
        while sentence < len(ends) and ends[sentence] <= m.start():
            sentence += 1
        key = word_key(m.group())
        out.append(Word(key, m.start(), m.end(), sentence, is_negation(m.group(), key)))
    return out


def sentences(text: str) -> list[str]:
    """The text's sentences in order, where `words` ends them (a "…" that ends a fragment too)."""
    out, start = [], 0
    for m in SENTENCE_END_RE.finditer(text):
        out.append(text[start : m.end()].strip())
        start = m.end()
    return [s for s in [*out, text[start:].strip()] if s]


def one_edit(a: str, b: str) -> bool:
    """True when b is a, one letter added, dropped, changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )  # fmt: skip
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[i:] == long[i + 1 :]


def typo_of(said: str, passage_word: str, vocabulary: frozenset[str]) -> bool:
    return (
        said not in vocabulary
        and min(len(said), len(passage_word)) >= TYPO_MIN_LETTERS
        and not any(c.isdigit() for c in said + passage_word)
        and one_edit(said, passage_word)
    )


# -- quotes ------------------------------------------------------------------------------------
class Passage:
    """A passage read once: its words, sentences and vocabulary, for checking many quotes."""

    def __init__(self, text: str, item_text: Iterable[str] = ()):
        self.text = text
        self.words = words(text)
        self.vocabulary = frozenset(w.key for w in self.words) | frozenset(
            w.key for t in item_text for w in words(t)
        )
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        for i, w in enumerate(self.words):
            self.first.setdefault(w.sentence, i)
            self.last[w.sentence] = i

    def find(self, quote: list[str], typos_allowed: int) -> tuple[int, int] | None:
        """The first span of passage words the quote matches (a slice), else None."""
        n, pw = len(quote), self.words
        for start in range(len(pw) - n + 1):
            typos = 0
            for k, said in enumerate(quote):
                key = pw[start + k].key
                if said != key:
                    typos += 1
                    if typos > typos_allowed or not typo_of(said, key, self.vocabulary):
                        break
            else:
                if self.allowed(start, start + n):
                    return start, start + n
        return None

    def allowed(self, a: int, b: int) -> bool:
        """One sentence, or whole sentences; a cut-out piece must leave no negation out."""
        pw = self.words
        s, e = pw[a].sentence, pw[b - 1].sentence
        whole = a == self.first[s] and b - 1 == self.last[e]
        if s != e:
            return whole
        left_out = pw[self.first[s] : a] + pw[b : self.last[s] + 1]
        return not any(w.negation for w in left_out)

    def shown(self, a: int, b: int) -> str:
        """The passage's own text of a span, whitespace collapsed, `…` where a sentence is cut."""
        pw = self.words
        end = pw[b - 1].end
        if b - 1 == self.last[pw[b - 1].sentence]:  # keep the sentence's closing punctuation
            m = SENTENCE_END_RE.match(self.text, end)
            end = m.end() if m and m.group().strip() else end
        text = " ".join(self.text[pw[a].start : end].split())
        if a != self.first[pw[a].sentence]:
            text = "…" + text
        if b - 1 != self.last[pw[b - 1].sentence]:
            text += "…"
        return text


def check_quote(
    quote: str, passage: str | Passage, threshold: float = 1.0, item_text: Iterable[str] = ()
) -> QuoteCheck:
    """Check one quote (no ellipsis inside: `split_quote` first). `item_text`: the question
    and answers, whose words are never forgiven as typos."""
    p = passage if isinstance(passage, Passage) else Passage(passage, item_text)
    said = [w.key for w in words(strip_controls(quote))]
    text = quote.strip()
    if not said or not p.words:
        return QuoteCheck(text=text, verified=False, similarity=0.0)
    typos_allowed = int(len(said) * (1.0 - threshold) + 1e-9)
    span = p.find(said, typos_allowed)
    if span is None:
        return QuoteCheck(text=text, verified=False, similarity=0.0)
    a, b = span
    exact = sum(s == w.key for s, w in zip(said, p.words[a:b]))
    return QuoteCheck(
        text=text,
        verified=True,
        similarity=round(exact / len(said), 4),
        passage_text=sanitize(p.shown(a, b)),
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
) -> tuple[str, list[QuoteCheck]]:
    """What others read of a speech, and its quote checks. A verified quote is shown as
    `<v_quote>` holding the passage's own text; an unverified one as `<u_quote>` holding the
    debater's (sanitised); every quote mark is set apart by spaces."""
    p = Passage(passage, item_text)
    specials = tuple(special_tokens)
    shown, checks, pos = [], [], 0
    for m in QUOTE_RE.finditer(text):
        shown.append(sanitize(text[pos : m.start()], specials))
        for piece in split_quote(m.group(1)):
            check = check_quote(piece, p, threshold)
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
