"""The Celery app for the crash tests: the real app and tasks, plus one fault (SIGKILL of the
whole worker, once) at the point the test names in ``AQ_TEST_CRASH``:

- ``after_cto``: when the node after the CTO (``validate``) starts reporting, i.e. the CTO's
  turn is checkpointed and no order exists yet;
- ``after_place``: once the order is on the exchange, before the ledger records it.

``AQ_TEST_CRASH_MARK`` is a file: the fault fires only while it does not exist (it is created
just before the kill), so the restarted worker runs clean.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from auraquant.schedule import hooks
from auraquant.schedule.celery_app import app

__all__ = ["app"]

CRASH = os.environ.get("AQ_TEST_CRASH", "")
MARK = Path(os.environ.get("AQ_TEST_CRASH_MARK", "/nonexistent/mark"))


def _die() -> None:
    if MARK.exists():
        return
    MARK.write_text(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)


def _before_record(rec: dict[str, Any]) -> None:
    if rec.get("node") == "validate":
        _die()


if CRASH == "after_cto":
    hooks.BEFORE_RECORD.append(_before_record)
elif CRASH == "after_place":
    hooks.AFTER_PLACE.append(lambda key: _die())
