"""The offline HTML view of a run (``auraquant view RUN_DIR``): self-contained pages, no network."""

from auraquant.view.run import ViewError, meeting_html, run_kind, write_view

__all__ = ["ViewError", "meeting_html", "run_kind", "write_view"]
