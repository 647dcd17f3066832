"""A Markdown version of the report's summary, to paste into an issue or a pull request.

Every piece of text that comes from data (review words, class names, file names) is escaped, so a
word such as `*`, `|` or `<script>` shows as itself instead of breaking the table or turning into
markup. GitHub-flavoured Markdown has no way to put a line break in a table cell, so newlines
become spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reportgen.rendering.characters import displayable

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that can start or
# end markup inline (emphasis, code, links, HTML, entities, tables, strikethrough, headings' ends)…
_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~#])")
# …and these start a block (list item, thematic break "---") when they open a line.
_BLOCK_START = re.compile(r"^(?:([-+])(?=[\s+-]|$)|(\d+)([.)])(?=\s|$))")


def one_line(text: str) -> str:
    """Newlines and runs of whitespace as single spaces, no leading or trailing space."""
    return " ".join(text.split())


def escape_inline(text: str) -> str:
    """A piece of a line that Markdown shows literally: specials escaped, line breaks as spaces,
    spaces at the ends kept (the piece is joined to others)."""
    return _SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text))


def escape_line_start(line: str) -> str:
    """Escape what would make a line a list item or a rule ("- ", "1. ", "---")."""
    return _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)


def escape(text: str) -> str:
    """Text that Markdown shows literally, as one line without spaces at its ends."""
    return escape_line_start(escape_inline(one_line(text)))


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; short rows are padded with empty cells."""
    if not header:
        raise ValueError("a table needs at least one column")
    lines = [_row([escape(h) for h in header]), _row(["---"] * len(header))]
    for number, row in enumerate(rows, start=1):
        if len(row) > len(header):
            raise ValueError(f"row {number} has {len(row)} cells but the header has {len(header)}")
        lines.append(_row([escape(c) for c in row] + [""] * (len(header) - len(row))))
    return "\n".join(lines)


def markdown_document(title: str, facts: Sequence[tuple[str, str]], table_header: Sequence[str],
                      table_rows: Sequence[Sequence[str]], sentences: Sequence[tuple[str, str]]) -> str:
    """The header facts as a bullet list, the summary table, then each sample's label and sentence.

    `sentences` are (label, sentence) with the sentence already Markdown (see
    `reportgen.rendering.reading.describe`); everything else is plain text and escaped here.
    """
    parts = [f"# {escape(title)}"]
    if facts:
        parts.append("\n".join(f"- **{escape(name)}:** {escape(value)}" for name, value in facts))
    parts.append("## Summary\n\n" + markdown_table(table_header, table_rows))
    if sentences:
        parts.append("## Samples")
        parts.extend(f"### {escape(label)}\n\n{sentence}" for label, sentence in sentences)
    return displayable("\n\n".join(parts) + "\n")
