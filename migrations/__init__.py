"""The database schema as plain SQL files, one folder per dialect (`sqlite/`, `postgresql/`).

Files are named `NNNN_what.sql` and applied in order by `jobs.migrate`. This folder is a package so the
files are installed with the code (a non-editable install needs no path setting).
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def folder(dialect: str) -> Path:
    """The migrations of one dialect: `sqlite` or `postgresql`."""
    return FOLDER / dialect
