"""Reading the rows of a CSV a person wrote (the access CSV, IdP group exports): each row
with the line it starts on, and whatever the csv module refuses (a quote left open, a stray
carriage return, a field past its size limit) as one `CsvProblem` with that line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator


class CsvProblem(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason


def rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every row; blank rows included (callers skip what they skip)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvProblem(reader.line_num or line, _reason(str(exc))) from None
        yield line, cells
        line = reader.line_num + 1


def _reason(message: str) -> str:
    if "unexpected end of data" in message or "EOF" in message:
        return "a quote is opened and never closed"
    if "field larger than field limit" in message:
        return f"a field is longer than {csv.field_size_limit():,} characters"
    if "new-line character" in message:
        return "a line break inside a field that is not quoted"
    if "NUL" in message:
        return "not a text file (it holds a NUL byte)"
    return message.split(" - ")[0]
