"""The decision ledger: every meeting's decision, gate result, orders, fills, outcome and the role
weights in force, in a real database — SQLite under ``$AURAQUANT_HOME`` by default, PostgreSQL
when ``DATABASE_URL`` is set. The same SQL runs on both (``?`` placeholders are translated).

Schema changes are versioned migrations (``MIGRATIONS``): a database records the versions it has
(``ledger_migrations``), a newer code applies the missing ones in order inside one transaction,
and a database newer than the code is refused with a clear message rather than misread.

Rows carry the desk and the run, so one database holds many desks and many replays; the export
of one run (``export_run``) is canonical JSON (sorted, no wall-clock fields), byte-identical for
identical inputs. Values that are models or dicts are stored as canonical JSON text.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decisions.journal import to_jsonable

LEDGER_FILE = "ledger.sqlite"

MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "decisions, fills, outcomes, desk state, role weights, learner versions",
        (
            """CREATE TABLE ledger_decisions (
                id TEXT PRIMARY KEY,
                desk TEXT NOT NULL,
                run_id TEXT NOT NULL,
                meeting_id TEXT NOT NULL,
                symbol TEXT NOT NULL,
                at TEXT NOT NULL,
                kind TEXT NOT NULL,
                action TEXT NOT NULL,
                confidence DOUBLE PRECISION,
                verdict TEXT,
                status TEXT,
                record TEXT NOT NULL
            )""",
            "CREATE INDEX ledger_decisions_run ON ledger_decisions (run_id, at, symbol)",
            "CREATE INDEX ledger_decisions_desk ON ledger_decisions (desk, symbol, at)",
            """CREATE TABLE ledger_fills (
                desk TEXT NOT NULL,
                run_id TEXT NOT NULL,
                fill_id TEXT NOT NULL,
                decision_id TEXT,
                order_id TEXT NOT NULL,
                symbol TEXT NOT NULL,
                ts TEXT NOT NULL,
                side TEXT NOT NULL,
                quantity DOUBLE PRECISION NOT NULL,
                price DOUBLE PRECISION NOT NULL,
                fee DOUBLE PRECISION NOT NULL,
                realized_pnl DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (desk, run_id, fill_id)
            )""",
            """CREATE TABLE ledger_outcomes (
                decision_id TEXT NOT NULL,
                horizon TEXT NOT NULL,
                known_at TEXT NOT NULL,
                record TEXT NOT NULL,
                PRIMARY KEY (decision_id, horizon)
            )""",
            """CREATE TABLE ledger_desks (
                desk TEXT PRIMARY KEY,
                state TEXT NOT NULL
            )""",
            """CREATE TABLE ledger_weights (
                desk TEXT NOT NULL,
                run_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                at TEXT NOT NULL,
                weights TEXT NOT NULL,
                PRIMARY KEY (desk, run_id, version)
            )""",
            """CREATE TABLE ledger_learner (
                desk TEXT NOT NULL,
                run_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                at TEXT NOT NULL,
                model TEXT NOT NULL,
                PRIMARY KEY (desk, run_id, version)
            )""",
        ),
    ),
)
LATEST = MIGRATIONS[-1][0]


class LedgerError(RuntimeError):
    """The ledger cannot be opened or written; the message says which database and why."""


def canonical(obj: Any) -> str:
    """Canonical JSON text (sorted keys, no wall clock, finite floats) for a stored value."""
    return json.dumps(to_jsonable(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _redact_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


@dataclass(frozen=True)
class DecisionRow:
    """One decision as the ledger keeps it (``record`` holds the full chain as JSON)."""

    id: str
    desk: str
    run_id: str
    meeting_id: str
    symbol: str
    at: str
    kind: str  # "entry" (no position: open or not) | "manage" (a position was open)
    action: str
    confidence: float | None
    verdict: str | None
    status: str | None
    record: dict[str, Any]


class Ledger:
    """A connection to the ledger database. Thread-safe (one lock); open one per process."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        self._lock = threading.RLock()
        self.kind = "postgres" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
        try:
            self._conn: Any = self._connect()
            self.migrate()
        except LedgerError:
            raise
        except Exception as exc:  # the driver's own error types differ per backend
            raise LedgerError(
                f"ledger {_redact_url(url)}: cannot open ({type(exc).__name__}: {exc})"
            ) from exc

    # --- connection ------------------------------------------------------------------------
    @classmethod
    def for_home(cls, home: Path, database_url: str | None = None) -> Ledger:
        """PostgreSQL when ``database_url`` is given, else ``<home>/ledger.sqlite``."""
        if database_url:
            return cls(database_url)
        home.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{home / LEDGER_FILE}")

    def _connect(self) -> Any:
        if self.kind == "postgres":
            import psycopg

            conn: Any = psycopg.connect(self.url, autocommit=True)
            if self.schema:
                if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", self.schema):
                    raise LedgerError(f"schema: {self.schema!r} is not a plain lower-case name")
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                conn.execute(f"SET search_path TO {self.schema}")
            return conn
        path = self.url.removeprefix("sqlite:///")
        lite = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("PRAGMA synchronous=NORMAL")  # WAL: durable against a killed process
        lite.execute("PRAGMA busy_timeout=30000")
        return lite

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgres" else sql

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(self._sql(sql), tuple(params))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit: all of it lands or none (a killed process leaves no half write)."""
        with self._lock:
            if self.kind == "postgres":
                with self._conn.transaction():
                    yield
            else:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- migrations ------------------------------------------------------------------------
    def version(self) -> int:
        with self._lock:
            row = self._exec("SELECT MAX(version) FROM ledger_migrations").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> int:
        """Apply the missing migrations in order; refuse a database newer than this code."""
        with self.transaction():
            self._exec(
                "CREATE TABLE IF NOT EXISTS ledger_migrations "
                "(version INTEGER PRIMARY KEY, description TEXT NOT NULL)"
            )
            row = self._exec("SELECT MAX(version) FROM ledger_migrations").fetchone()
            have = int(row[0] or 0)
            if have > LATEST:
                raise LedgerError(
                    f"ledger {_redact_url(self.url)}: schema version {have} is newer than this "
                    f"AuraQuant understands ({LATEST}); upgrade AuraQuant"
                )
            for version, description, statements in MIGRATIONS:
                if version <= have:
                    continue
                for stmt in statements:
                    self._exec(stmt)
                self._exec(
                    "INSERT INTO ledger_migrations (version, description) VALUES (?, ?)",
                    (version, description),
                )
        return LATEST

    # --- decisions -------------------------------------------------------------------------
    def record_decision(self, row: DecisionRow) -> None:
        """Insert or replace one decision (a resumed meeting writes its final state)."""
        with self.transaction():
            self._exec("DELETE FROM ledger_decisions WHERE id = ?", (row.id,))
            self._exec(
                "INSERT INTO ledger_decisions (id, desk, run_id, meeting_id, symbol, at, kind, "
                "action, confidence, verdict, status, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.id, row.desk, row.run_id, row.meeting_id, row.symbol, row.at, row.kind,
                    row.action, row.confidence, row.verdict, row.status, canonical(row.record),
                ),
            )  # fmt: skip

    def update_decision(self, decision_id: str, **fields: Any) -> None:
        """Merge ``fields`` into a decision's record (status and verdict columns follow)."""
        with self.transaction():
            row = self.decision(decision_id)
            if row is None:
                raise LedgerError(f"decision_id: {decision_id!r} is not in the ledger")
            record = {**row.record, **to_jsonable(fields)}
            status = record.get("execution", {}).get("status") if record.get("execution") else None
            self._exec(
                "UPDATE ledger_decisions SET record = ?, status = ? WHERE id = ?",
                (canonical(record), status or row.status, decision_id),
            )

    def decision(self, decision_id: str) -> DecisionRow | None:
        with self._lock:
            r = self._exec(
                "SELECT id, desk, run_id, meeting_id, symbol, at, kind, action, confidence, "
                "verdict, status, record FROM ledger_decisions WHERE id = ?",
                (decision_id,),
            ).fetchone()
        return None if r is None else _row(r)

    def decisions(
        self, *, run_id: str | None = None, desk: str | None = None, symbol: str | None = None
    ) -> list[DecisionRow]:
        """Decisions in time order (then symbol), filtered by run, desk and symbol."""
        where, params = [], []
        for col, val in (("run_id", run_id), ("desk", desk), ("symbol", symbol)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        sql = (
            "SELECT id, desk, run_id, meeting_id, symbol, at, kind, action, confidence, verdict, "
            "status, record FROM ledger_decisions"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY at, symbol, id"
        )
        with self._lock:
            rows = self._exec(sql, params).fetchall()
        return [_row(r) for r in rows]

    def runs(self) -> list[str]:
        with self._lock:
            rows = self._exec("SELECT DISTINCT run_id FROM ledger_decisions ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    # --- fills -----------------------------------------------------------------------------
    def record_fills(
        self, desk: str, run_id: str, fills: Sequence[Any], owner: Mapping[str, str]
    ) -> int:
        """Store fills not seen before (by fill id); ``owner`` maps order id -> decision id.
        Returns how many were new."""
        new = 0
        with self.transaction():
            for f in fills:
                hit = self._exec(
                    "SELECT 1 FROM ledger_fills WHERE desk = ? AND run_id = ? AND fill_id = ?",
                    (desk, run_id, f.id),
                ).fetchone()
                if hit:
                    continue
                self._exec(
                    "INSERT INTO ledger_fills (desk, run_id, fill_id, decision_id, order_id, "
                    "symbol, ts, side, quantity, price, fee, realized_pnl) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        desk, run_id, f.id, owner.get(f.order_id), f.order_id, f.symbol,
                        to_jsonable(f.ts), str(getattr(f.side, "value", f.side)), f.quantity,
                        f.price, f.fee, f.realized_pnl,
                    ),
                )  # fmt: skip
                new += 1
        return new

    def fills(
        self, *, run_id: str | None = None, decision_id: str | None = None
    ) -> list[dict[str, Any]]:
        where, params = [], []
        for col, val in (("run_id", run_id), ("decision_id", decision_id)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        sql = (
            "SELECT desk, run_id, fill_id, decision_id, order_id, symbol, ts, side, quantity, "
            "price, fee, realized_pnl FROM ledger_fills"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY ts, fill_id"
        )
        cols = ("desk", "run_id", "fill_id", "decision_id", "order_id", "symbol", "ts", "side",
                "quantity", "price", "fee", "realized_pnl")  # fmt: skip
        with self._lock:
            rows = self._exec(sql, params).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # --- outcomes --------------------------------------------------------------------------
    def record_outcome(
        self, decision_id: str, horizon: str, known_at: str, record: Mapping[str, Any]
    ) -> None:
        with self.transaction():
            self._exec(
                "DELETE FROM ledger_outcomes WHERE decision_id = ? AND horizon = ?",
                (decision_id, horizon),
            )
            self._exec(
                "INSERT INTO ledger_outcomes (decision_id, horizon, known_at, record) "
                "VALUES (?, ?, ?, ?)",
                (decision_id, horizon, known_at, canonical(record)),
            )

    def outcomes(
        self, decision_id: str | None = None, *, run_id: str | None = None
    ) -> list[dict[str, Any]]:
        sql = (
            "SELECT o.decision_id, o.horizon, o.known_at, o.record FROM ledger_outcomes o "
            "JOIN ledger_decisions d ON d.id = o.decision_id"
        )
        where, params = [], []
        if decision_id is not None:
            where.append("o.decision_id = ?")
            params.append(decision_id)
        if run_id is not None:
            where.append("d.run_id = ?")
            params.append(run_id)
        sql += (
            f" WHERE {' AND '.join(where)}" if where else ""
        ) + " ORDER BY o.known_at, o.decision_id, o.horizon"
        with self._lock:
            rows = self._exec(sql, params).fetchall()
        return [
            {"decision_id": r[0], "horizon": r[1], "known_at": r[2], **json.loads(r[3])}
            for r in rows
        ]

    # --- desk state, weights, learner ------------------------------------------------------
    def desk_state(self, desk: str) -> dict[str, Any] | None:
        with self._lock:
            r = self._exec("SELECT state FROM ledger_desks WHERE desk = ?", (desk,)).fetchone()
        return None if r is None else dict(json.loads(r[0]))

    def save_desk_state(self, desk: str, state: Mapping[str, Any]) -> None:
        with self.transaction():
            self._exec("DELETE FROM ledger_desks WHERE desk = ?", (desk,))
            self._exec(
                "INSERT INTO ledger_desks (desk, state) VALUES (?, ?)", (desk, canonical(state))
            )

    def forget_desk_state(self, desk: str) -> None:
        """Drop the desk's breaker and cycle state (its decisions stay in the ledger)."""
        with self.transaction():
            self._exec("DELETE FROM ledger_desks WHERE desk = ?", (desk,))

    def _versioned(self, table: str, col: str, desk: str, run_id: str, at: str, value: Any) -> int:
        with self.transaction():
            r = self._exec(
                f"SELECT MAX(version) FROM {table} WHERE desk = ? AND run_id = ?", (desk, run_id)
            ).fetchone()
            version = int(r[0] or 0) + 1
            self._exec(
                f"INSERT INTO {table} (desk, run_id, version, at, {col}) VALUES (?, ?, ?, ?, ?)",
                (desk, run_id, version, at, canonical(value)),
            )
        return version

    def record_weights(self, desk: str, run_id: str, at: str, weights: Mapping[str, float]) -> int:
        """A new version of the role weights, in force from ``at``."""
        return self._versioned("ledger_weights", "weights", desk, run_id, at, dict(weights))

    def weights_history(self, desk: str, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._exec(
                "SELECT version, at, weights FROM ledger_weights WHERE desk = ? AND run_id = ? "
                "ORDER BY version",
                (desk, run_id),
            ).fetchall()
        return [{"version": r[0], "at": r[1], "weights": json.loads(r[2])} for r in rows]

    def latest_weights(self, desk: str) -> dict[str, float]:
        """The desk's most recent role weights, from any run or review (empty if none)."""
        with self._lock:
            r = self._exec(
                "SELECT weights FROM ledger_weights WHERE desk = ? ORDER BY at DESC, version DESC "
                "LIMIT 1",
                (desk,),
            ).fetchone()
        return {} if r is None else dict(json.loads(r[0]))

    def record_learner(self, desk: str, run_id: str, at: str, model: Mapping[str, Any]) -> int:
        """A new version of the online P(win) learner's parameters."""
        return self._versioned("ledger_learner", "model", desk, run_id, at, dict(model))

    def learner_history(self, desk: str, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._exec(
                "SELECT version, at, model FROM ledger_learner WHERE desk = ? AND run_id = ? "
                "ORDER BY version",
                (desk, run_id),
            ).fetchall()
        return [{"version": r[0], "at": r[1], "model": json.loads(r[2])} for r in rows]

    # --- export ----------------------------------------------------------------------------
    def export_run(self, run_id: str) -> dict[str, Any]:
        """Everything the ledger holds for one run, canonical (for ``ledger.json``)."""
        decisions = self.decisions(run_id=run_id)
        desks = sorted({d.desk for d in decisions})
        return to_jsonable(
            {
                "run_id": run_id,
                "schema_version": self.version(),
                "decisions": [
                    {k: v for k, v in d.__dict__.items() if k != "record"} | {"record": d.record}
                    for d in decisions
                ],
                "fills": self.fills(run_id=run_id),
                "outcomes": self.outcomes(run_id=run_id),
                "weights": {d: self.weights_history(d, run_id) for d in desks},
                "learner": {d: self.learner_history(d, run_id) for d in desks},
            }
        )


def _row(r: Sequence[Any]) -> DecisionRow:
    return DecisionRow(
        id=r[0], desk=r[1], run_id=r[2], meeting_id=r[3], symbol=r[4], at=r[5], kind=r[6],
        action=r[7], confidence=None if r[8] is None else float(r[8]), verdict=r[9],
        status=r[10], record=json.loads(r[11]),
    )  # fmt: skip
