"""Typed errors for bad input data: one message that names file, row, column and value."""

from __future__ import annotations

from typing import Any


class DataValidationError(ValueError):
    """A file (or downloaded batch) that cannot be stored as it is.

    The message names where the problem is so a user can open the file and fix it:
    ``BTCUSDT_1m.csv: row 3, column high: high is below max(open, close) (value 24890.5)``.
    ``row`` is the 1-based data row (the header is not counted); ``None`` means the header.
    """

    def __init__(self, file: str, row: int | None, column: str, value: Any, problem: str) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        self.problem = problem
        where = "header" if row is None else f"row {row}"
        super().__init__(f"{file}: {where}, column {column}: {problem} (value {value!r})")


class StoreError(LookupError):
    """A request the store cannot answer, e.g. a symbol that was never imported."""


class DownloadError(RuntimeError):
    """A download that failed after its retries; nothing was written."""
