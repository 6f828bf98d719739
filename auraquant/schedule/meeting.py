"""A scheduled meeting, decide only, checkpointed under the thread of its key.

The same decide-only meeting as a replay step (``backtest.replay_worker``), with a checkpointer:
SQLite under ``$AURAQUANT_HOME`` by default, PostgreSQL (``langgraph-checkpoint-postgres``) when
``DATABASE_URL`` is set. A meeting killed half-way resumes from its last checkpoint (the nodes
already run are not run again; checkpoints are written synchronously, ``durability="sync"``,
so a SIGKILL cannot lose one that the next node already relied on); a meeting that finished returns its saved state. The AI-log
records a meeting produces are staged in a file per key as they are written, so a resumed
meeting hands back the records from before the crash too (no gap), and only once.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from auraquant.schedule import hooks
from backtest.replay_worker import MeetingOutcome, MeetingTask
from graph.ailog import AILogCollector, secrets_from_env
from graph.context import MeetingContext
from graph.meeting import MeetingGraph, MeetingResult, build_meeting_graph
from graph.services import MeetingServices, register_services, unregister_services
from memos.market import MarketData

CHECKPOINTS_FILE = "checkpoints.sqlite"


def open_checkpointer(
    home: Path, database_url: str | None, *, schema: str | None = None
) -> BaseCheckpointSaver[Any]:
    """PostgreSQL with ``database_url`` (tables created once), else a SQLite file under home."""
    if database_url:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        if schema:
            with psycopg.connect(database_url, autocommit=True) as c:
                c.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conninfo = psycopg.conninfo.make_conninfo(
            database_url, **({"options": f"-c search_path={schema}"} if schema else {})
        )
        conn = psycopg.connect(conninfo, autocommit=True, prepare_threshold=0, row_factory=dict_row)
        saver = PostgresSaver(conn)  # type: ignore[arg-type]
        saver.setup()
        return saver
    from langgraph.checkpoint.sqlite import SqliteSaver

    home.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(home / CHECKPOINTS_FILE, check_same_thread=False))


class StagedCollector(AILogCollector):
    """An in-memory AI-log collector that also appends every record to ``path`` at once, and
    starts from what the file already holds (a resumed meeting's earlier records)."""

    def __init__(self, path: Path, secrets: list[str] | None = None) -> None:
        super().__init__(secrets)
        self.stage_path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    self.records.append(json.loads(line))

    def write(self, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        for hook in hooks.BEFORE_RECORD:
            hook(dict(kwargs))
        return super().write(**kwargs)

    def keep(self, clean: dict[str, Any]) -> None:
        """Keep the record and stage it in the file, both under the collector's lock: parallel
        seats (the two analysts) must not stage each other's record twice."""
        super().keep(clean)
        with self.stage_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(clean, sort_keys=True, default=str) + "\n")
            f.flush()


_GRAPHS: dict[int, MeetingGraph] = {}


def _graph(checkpointer: BaseCheckpointSaver[Any]) -> MeetingGraph:
    if id(checkpointer) not in _GRAPHS:
        _GRAPHS[id(checkpointer)] = build_meeting_graph(checkpointer=checkpointer)
    return _GRAPHS[id(checkpointer)]


def hold_checkpointed(
    task: MeetingTask,
    *,
    thread: str,
    checkpointer: BaseCheckpointSaver[Any],
    market: MarketData,
    stage: Path,
) -> MeetingOutcome:
    """Hold (or resume, or read back) the decide-only meeting of ``task`` on ``thread``."""
    collector = StagedCollector(stage, secrets_from_env())
    services = MeetingServices(market=market, account=task.account, ailog=collector)
    ctx = MeetingContext(
        **{**task.context, "decide_only": True, "journal": False, "run_id": task.run_id}
    )
    key = f"scheduled-{uuid.uuid4().hex}"
    register_services(key, services)
    ctx.services_key = key
    g = _graph(checkpointer)
    cfg: RunnableConfig = {"configurable": {"thread_id": thread}}
    try:
        snap = g.get_state(cfg)
        if snap.next:  # killed half-way: carry on from the last checkpoint
            state = g.invoke(None, cfg, context=ctx, durability="sync")
        elif snap.values:  # finished before: its saved state
            state = dict(snap.values)
        else:
            state = g.invoke(
                {"symbol": task.symbol, "at": task.at}, cfg, context=ctx, durability="sync"
            )
    finally:
        unregister_services(key)
    r = MeetingResult.from_state(state, thread_id=thread, home=None)
    return MeetingOutcome(
        symbol=r.symbol, at=r.at, meeting_id=r.meeting_id or f"{r.symbol}-{r.at}",
        memo=r.memo or {}, decision=r.decision or {}, turns=r.turns, interrupts=r.interrupts,
        ended_by=r.ended_by, fallback=r.fallback, records=collector.records,
    )  # fmt: skip
