"""Characters that hide or reorder text: refused in names, escaped wherever text is shown.

A right-to-left override (U+202E) makes the rest of a line print backwards; a zero-width
space makes two clients look like one; an escape sequence repaints the terminal. validate.py
refuses them in names and short fields; render.py, progress_view.py and the CLI's messages pass
every stored string through `visible()`, so text stored by an older version, or written into the
database with another tool, reaches a terminal as `<U+202E>` instead of raw.

Long free text (SOAP notes, reasons) may hold them: pasted from a word processor or an EHR it
often carries soft hyphens, zero-width spaces, direction marks and embeddings around
right-to-left words; refusing the paste would lose the therapist's work for a character they
cannot see. It is stored as typed and escaped on display like everything else.

Cheap by design: printable ASCII (most output) is recognised by str.isprintable() in C; other
text by one compiled regex, built on first use (no per-character Python loop); unicodedata is
imported only when a joiner or a character's name must be looked at.
"""

from __future__ import annotations

import re

# What a terminal would not show as itself:
# - Unicode's format characters (category Cf): bidi embeddings, overrides, isolates and marks
#   (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C), zero-width space and joiners, word
#   joiner and invisible operators (U+2060–U+2064), the BOM (U+FEFF), the soft hyphen (U+00AD),
#   interlinear annotation marks, the tag characters (U+E0001, U+E0020–U+E007F: "ASCII
#   smuggling") and the rest;
# - the line and paragraph separators U+2028/U+2029 (some terminals break the line, others not);
# - the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0): letters that draw nothing, the usual
#   way to make an "invisible name".
# Written as ranges: scanning unicodedata for category Cf at start-up would cost 0.2 s. As of
# Unicode 15.1; tests/test_text_safety.py checks it covers every Cf character the running Python
# knows (U+2065 and U+2028–U+2029 are in the ranges on purpose).
INVISIBLE_RANGES = (
    r"\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e"
    r"\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    r"\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    r"\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_SOURCES = {
    "invisible": f"[{INVISIBLE_RANGES}]",
    # Shown escaped: the invisible characters, and C0 controls (but tab and line break), DEL, C1.
    "shown": rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{INVISIBLE_RANGES}]",
    "ascii": r"[\x00-\x08\x0b-\x1f\x7f]",
    # Escaped in JSON text (json.dumps escapes C0 itself): \uXXXX keeps the value exact.
    "json": rf"[\x7f-\x9f{INVISIBLE_RANGES}]",
}
_COMPILED: dict[str, re.Pattern[str]] = {}


def _regex(kind: str) -> re.Pattern[str]:
    """Compiled on first use: each of the long classes costs about 1 ms to compile, and most
    output is ASCII, which needs only the short one."""
    found = _COMPILED.get(kind)
    if found is None:
        found = _COMPILED[kind] = re.compile(_SOURCES[kind])
    return found


ZWNJ, ZWJ = "\u200c", "\u200d"


def joiner_in_word(text: str, at: int) -> bool:
    """Whether the ZWNJ/ZWJ at `text[at]` spells a word rather than hides a difference.

    They are part of correct spelling in Persian and Kurdish (ZWNJ between Arabic letters, as
    in the surname Mahdi-zadeh), in Indic scripts (ZWJ after a virama: Sinhala "Sri", Malayalam
    chillu letters at the end of a name, Devanagari half forms) and in emoji sequences (woman +
    ZWJ + medical symbol). After a Latin letter, a digit or a space they only make "Jo<ZWJ>hn"
    look like, and not match, "John".
    So: allowed right after a letter or mark outside the Latin blocks (U+0370 and up), and ZWJ
    after an emoji too.
    """
    if at == 0:
        return False
    before = text[at - 1]
    if before < "\u0370":  # ASCII, Latin-1, Latin Extended, IPA, combining diacritics
        return False
    import unicodedata

    category = unicodedata.category(before)
    return category[0] in "LM" or (text[at] == ZWJ and category == "So")


def invisible_at(text: str) -> int | None:
    """Where the first invisible character of `text` is (a joiner inside a word is not one)."""
    if text.isascii():
        return None
    for found in _regex("invisible").finditer(text):
        if found.group() in (ZWNJ, ZWJ) and joiner_in_word(text, found.start()):
            continue
        return found.start()
    return None


def describe(char: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE`: how a message names a character it cannot show."""
    import unicodedata

    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    if char in (ZWNJ, ZWJ) and joiner_in_word(found.string, found.start()):
        return char
    return f"<U+{ord(char):04X}>"


def visible(text: str) -> str:
    """`text` as a terminal may show it: control characters (but tab and line break) and
    invisible characters written `<U+202E>`; joiners inside a word kept. Idempotent; one regex
    search when there is nothing to escape (almost always)."""
    if not needs_escape(text):
        return text
    if "\r\n" in text:  # a Windows line end, from another tool: a line break, not a character
        text = text.replace("\r\n", "\n")
    return _regex("shown").sub(_escape, text)


def needs_escape(text: str) -> bool:
    """Whether visible(text) could differ from text (also for a whole column at once)."""
    if text.isascii():  # printable ASCII (the usual case) is checked in C, without a regex
        return not text.isprintable() and _regex("ascii").search(text) is not None
    return _regex("shown").search(text) is not None


def _json_escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    if code > 0xFFFF:  # JSON spells astral characters as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_visible(text: str) -> str:
    """JSON text with invisible characters, DEL and C1 as \\u escapes: the same data for any
    JSON reader, and nothing raw on a terminal. They can only occur inside strings."""
    if text.isascii():
        return text if "\x7f" not in text else text.replace("\x7f", "\\u007f")
    return _regex("json").sub(_json_escape, text)


def ascii_caps(value: object) -> str:
    """Text for a payer's machines (the CMS-1500's OCR, X12): accents dropped (JOSÉ → JOSE),
    anything else outside ASCII left out, upper case, runs of white space as one space; "" for
    None. The claim printer and the 837P writer both use it, so a name reads alike in both."""
    if value is None:
        return ""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", str(value))
    return " ".join(decomposed.encode("ascii", "ignore").decode("ascii").upper().split())
