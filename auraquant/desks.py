"""Where a desk lives between commands: its exchange snapshot, its ledger row, its run's AI log.

- The ``default`` desk's exchange is the one ``auraquant exchange …`` operates
  (``$AURAQUANT_HOME/exchange/state.json``, or the Redis key when ``REDIS_URL`` is set); another
  desk ``NAME`` keeps ``$AURAQUANT_HOME/exchange/desks/NAME.json`` (or the key ``…:NAME``).
- Its breaker and cycle state are a row of the ledger (``Ledger.desk_state``): SQLite under the
  home, PostgreSQL with ``DATABASE_URL``.
- Run directories never mix: ``unique_run_id`` adds ``-2``, ``-3``… to a base id already used,
  and an explicit ``--run-id`` must be new and match ``[A-Za-z0-9._-]{1,64}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from auraquant.settings import get_settings
from decisions.ledger import Ledger
from decisions.limits import RiskLimits
from exchange.snapshot import JsonFileSnapshot, RedisSnapshot, SnapshotConflict, VersionedStore
from exchange.virtual import VirtualExchange
from graph.ailog import AILOG_FILE, secrets_from_env
from graph.desk import DEFAULT_DESK, Desk, DeskError, check_desk_name
from graph.services import AILOGS
from tools.paths import home_dir, runs_dir


def desk_snapshot_store(name: str) -> VersionedStore:
    """The desk's exchange snapshot (see the module docstring)."""
    check_desk_name(name)
    url = get_settings().redis_url
    if url:
        key = get_settings().exchange_redis_key
        return RedisSnapshot(url, key if name == DEFAULT_DESK else f"{key}:{name}")
    base = home_dir() / "exchange"
    return JsonFileSnapshot(
        base / "state.json" if name == DEFAULT_DESK else base / "desks" / f"{name}.json"
    )


def open_ledger(home: Path | None = None) -> Ledger:
    """The ledger: PostgreSQL when ``DATABASE_URL`` is set, else ``<home>/ledger.sqlite``."""
    return Ledger.for_home(home or home_dir(), get_settings().database_url)


def check_run_id(run_id: str) -> str:
    """``[A-Za-z0-9._-]{1,64}``: a run id names a directory under the home, nothing else."""
    try:
        return check_desk_name(run_id)
    except DeskError:
        raise DeskError(f"--run-id: {run_id!r} must match [A-Za-z0-9._-]{{1,64}}") from None


def unique_run_id(base: str, home: Path | None = None, *, explicit: bool = False) -> str:
    """A run id whose directory does not exist yet: ``base``, else ``base-2``, ``base-3``…
    An explicit id that is taken is refused (it would mix two runs)."""
    check_run_id(base)
    root = runs_dir(home)
    if not (root / base).exists():
        return base
    if explicit:
        raise DeskError(f"--run-id: {base!r} exists in {root}; choose a new id")
    n = 2
    while (root / f"{base[:60]}-{n}").exists():
        n += 1
    return f"{base[:60]}-{n}"


def reset_desk(name: str, home: Path | None = None) -> None:
    """Start the desk afresh: a new account (its snapshot removed) and no breaker or cycle
    state. Its past decisions stay in the ledger. (The demo uses it to be repeatable.)"""
    desk_snapshot_store(name).clear()
    ledger = open_ledger(home)
    try:
        ledger.forget_desk_state(name)
    finally:
        ledger.close()


@contextmanager
def open_desk(
    name: str, run_id: str, *, limits: RiskLimits | None = None, home: Path | None = None
) -> Iterator[Desk]:
    """Load the desk (exchange snapshot, breaker and cycles), yield it, save it on success.

    On an exception nothing is saved: the snapshot and the desk's state keep what they were
    before the command (the AI log keeps what happened, including the error). The exchange is
    saved by compare-and-swap: if another writer (``auraquant exchange …``, ``exchange serve``)
    changed the account while the meeting ran, nothing is saved, the decisions this command
    recorded are marked ``NOT_SAVED`` in the ledger, and ``DeskError`` says so."""
    store = desk_snapshot_store(name)
    state, version = store.load_versioned()
    exchange = VirtualExchange() if state is None else VirtualExchange.from_state(state)
    ledger = open_ledger(home)
    path = runs_dir(home) / run_id / AILOG_FILE
    desk = Desk(
        name=name, exchange=exchange, limits=limits or RiskLimits(), ledger=ledger,
        run_id=run_id, ailog=AILOGS.writer(path, secrets_from_env()),
    )  # fmt: skip
    try:
        desk.load_state(ledger.desk_state(name))
        yield desk
        try:
            store.save_if(exchange.state_dict(), version)
        except SnapshotConflict:
            for decision_id in desk.concluded:
                ledger.update_decision(decision_id, execution={
                    "status": "NOT_SAVED", "note": "the account changed under the meeting"})  # fmt: skip
            raise DeskError(
                f"desk {name}: its exchange was changed by another command while this one ran "
                "(auraquant exchange …, or exchange serve); nothing was saved, run it again"
            ) from None
        desk.save_state()
    finally:
        ledger.close()
