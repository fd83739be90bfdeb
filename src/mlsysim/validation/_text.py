"""Text layout shared by the validation tables. The default fits WIDTH columns (the house rule: a terminal table is
read at 80); `wide` keeps the full-width form, one line per run and notes unwrapped."""
from __future__ import annotations

import re
import textwrap

WIDTH = 80


def _glue(text: str) -> str:
    """Joins (with NUL, a non-space to textwrap) a number or '|error|' to the word before it ('max |error| 8.1%')
    and a word of symbols to both neighbours ('error = our', '(+ relaunch'), so a wrap never splits them."""
    def symbols(word):
        return not any(c.isalnum() for c in word)

    words = text.split(" ")
    out = [words[0]]
    for prev, word in zip(words, words[1:]):
        glue = re.match(r"[+-]?\d|\|", word) or symbols(prev) or symbols(word)
        out.append(("\0" if glue else " ") + word)
    return "".join(out)


def _wrap(text: str, width: int, indent: str, cont: str) -> list[str]:
    """textwrap, never breaking inside a word nor where `_glue` joins two."""
    return [line.replace("\0", " ") for line in
            textwrap.wrap(_glue(text), width, initial_indent=indent, subsequent_indent=indent + cont,
                          break_long_words=False, break_on_hyphens=False)]


def note(text: str, wide: bool = False, indent: str = "", cont: str = "  ") -> list[str]:
    """A footnote or summary line: as it is (wide), or wrapped at WIDTH with its continuation lines indented."""
    return [indent + text] if wide else _wrap(text, WIDTH, indent, cont)


def cell(text: str, width: int) -> tuple[list[str], str]:
    """`text` in a column `width` wide: (lines printed before the row, the cell). A longer text wraps at its spaces
    (keeping its own indentation); a word that still does not fit gets a line of its own and the row's figures go
    on the next line under a blank cell, as `df` does with a long device name."""
    if len(text) <= width:
        return [], text.ljust(width)
    indent = text[:len(text) - len(text.lstrip())]
    parts = _wrap(text.strip(), width, indent, "  ")
    if len(parts[-1]) > width:
        return parts, " " * width
    return parts[:-1], parts[-1].ljust(width)
