"""Exactly once: every scheduled meeting (desk, symbol, time) has one row, claimed before the
meeting and closed after it, in SQLite under ``$AURAQUANT_HOME`` or in PostgreSQL
(``DATABASE_URL``), beside the decision ledger.

Statuses: ``running`` (claimed; a crash leaves it so and the next attempt resumes it),
``vetted`` (the gate's verdict is stored and the order may be on the exchange: a retry looks
the order up by its client id instead of placing another), ``done`` (concluded and in the
ledger), ``skipped`` (never held, with the recorded reason). A ``done`` or ``skipped`` meeting is
never held again, however often it is scheduled. Callers serialise a desk's steps (one loop, or
the desk lock on Celery); the row makes a second scheduling, a retry or a second worker a no-op.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from tools.timeutil import iso

CLAIMS_FILE = "schedule.sqlite"
Status = Literal["running", "vetted", "done", "skipped"]
FINAL: frozenset[str] = frozenset({"done", "skipped"})

_DDL = (
    """CREATE TABLE IF NOT EXISTS schedule_meetings (
        key TEXT PRIMARY KEY,
        desk TEXT NOT NULL,
        symbol TEXT NOT NULL,
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        attempts INTEGER NOT NULL,
        vetting TEXT,
        decision_id TEXT,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS schedule_meetings_desk ON schedule_meetings (desk, at)",
    """CREATE TABLE IF NOT EXISTS schedule_desks (
        desk TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
)


@dataclass(frozen=True)
class Claim:
    key: str
    desk: str
    symbol: str
    at: str
    status: str
    reason: str | None
    attempts: int
    vetting: dict[str, Any] | None
    decision_id: str | None


def _now() -> str:
    return iso(pd.Timestamp.now(tz="UTC"))


class Claims:
    """The schedule's claim table (see the module docstring). One connection, thread-safe."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.kind = "postgres" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
        self._lock = threading.RLock()
        if self.kind == "postgres":
            import psycopg

            self._conn: Any = psycopg.connect(url, autocommit=True)
            if schema:
                if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
                    raise ValueError(f"schema: {schema!r} is not a plain lower-case name")
                self._conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                self._conn.execute(f"SET search_path TO {schema}")
        else:
            path = url.removeprefix("sqlite:///")
            self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None,
                                         check_same_thread=False)  # fmt: skip
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
        for stmt in _DDL:
            self._exec(stmt)

    @classmethod
    def for_home(cls, home: Path, database_url: str | None = None) -> Claims:
        if database_url:
            return cls(database_url)
        home.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{home / CLAIMS_FILE}")

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.kind == "postgres":
            sql = sql.replace("?", "%s")
        with self._lock:
            return self._conn.execute(sql, tuple(params))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- meetings --------------------------------------------------------------------------
    def get(self, key: str) -> Claim | None:
        r = self._exec(
            "SELECT key, desk, symbol, at, status, reason, attempts, vetting, decision_id "
            "FROM schedule_meetings WHERE key = ?",
            (key,),
        ).fetchone()
        return None if r is None else _claim(r)

    def claim(self, key: str, desk: str, symbol: str, at: str, reason: str | None = None) -> Claim:
        """Claim the meeting: a new row ``running``, or one more attempt of an unfinished one.
        A finished one comes back as it is (``done`` / ``skipped``): hold nothing."""
        self._exec(
            "INSERT INTO schedule_meetings (key, desk, symbol, at, status, reason, attempts, "
            "updated_at) VALUES (?, ?, ?, ?, 'running', ?, 0, ?) ON CONFLICT (key) DO NOTHING",
            (key, desk, symbol, at, reason, _now()),
        )
        self._exec(
            "UPDATE schedule_meetings SET attempts = attempts + 1, updated_at = ? "
            "WHERE key = ? AND status IN ('running', 'vetted')",
            (_now(), key),
        )
        got = self.get(key)
        assert got is not None
        return got

    def vetted(self, key: str, vetting: dict[str, Any]) -> None:
        """The gate's verdict, stored before any order is placed."""
        self._exec(
            "UPDATE schedule_meetings SET status = 'vetted', vetting = ?, updated_at = ? "
            "WHERE key = ? AND status IN ('running', 'vetted')",
            (json.dumps(vetting, sort_keys=True, default=str), _now(), key),
        )

    def done(self, key: str, decision_id: str) -> None:
        self._exec(
            "UPDATE schedule_meetings SET status = 'done', decision_id = ?, updated_at = ? "
            "WHERE key = ?",
            (decision_id, _now(), key),
        )

    def skip(self, key: str, desk: str, symbol: str, at: str, reason: str) -> bool:
        """Record a meeting that will never be held, with why; False if it already has a row."""
        cur = self._exec(
            "INSERT INTO schedule_meetings (key, desk, symbol, at, status, reason, attempts, "
            "updated_at) VALUES (?, ?, ?, ?, 'skipped', ?, 0, ?) ON CONFLICT (key) DO NOTHING",
            (key, desk, symbol, at, reason, _now()),
        )
        return bool(cur.rowcount)

    def meetings(self, desk: str, *, limit: int | None = None) -> list[Claim]:
        """The desk's meetings, newest first."""
        sql = (
            "SELECT key, desk, symbol, at, status, reason, attempts, vetting, decision_id "
            "FROM schedule_meetings WHERE desk = ? ORDER BY at DESC, symbol"
        )
        rows = self._exec(sql + (f" LIMIT {int(limit)}" if limit else ""), (desk,)).fetchall()
        return [_claim(r) for r in rows]

    def last_at(self, desk: str) -> pd.Timestamp | None:
        """The latest scheduled time the desk has any row for (held or skipped)."""
        r = self._exec("SELECT MAX(at) FROM schedule_meetings WHERE desk = ?", (desk,)).fetchone()
        return None if r is None or r[0] is None else pd.Timestamp(r[0])

    # --- the desk's schedule ---------------------------------------------------------------
    def save_desk(self, desk: str, config: dict[str, Any]) -> None:
        self._exec(
            "INSERT INTO schedule_desks (desk, config, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (desk) DO UPDATE SET config = excluded.config, "
            "updated_at = excluded.updated_at",
            (desk, json.dumps(config, sort_keys=True, default=str), _now()),
        )

    def desk(self, desk: str) -> dict[str, Any] | None:
        r = self._exec("SELECT config FROM schedule_desks WHERE desk = ?", (desk,)).fetchone()
        return None if r is None else dict(json.loads(r[0]))


def _claim(r: Sequence[Any]) -> Claim:
    return Claim(
        key=r[0], desk=r[1], symbol=r[2], at=r[3], status=r[4], reason=r[5], attempts=int(r[6]),
        vetting=None if r[7] is None else json.loads(r[7]), decision_id=r[8],
    )  # fmt: skip
