"""The desk's roster as configuration: who sits at the meeting, with which model and budget.

The default roster is ``agents/roster.json``. A JSON file named by ``$AURAQUANT_ROSTER`` (or
passed to ``load_roster``) either replaces it (``{"roles": [...]}``) or adds seats to it
(``{"extra": [...]}``) — a Bull and a Bear, say — without touching code. A role's ``lens``
picks the angle it argues from (and the offline policy that plays it).
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agents.schemas import InterruptKind

DEFAULT_ROSTER_PATH = Path(__file__).with_name("roster.json")
ROSTER_ENV = "AURAQUANT_ROSTER"

Seat = Literal["analyst", "risk", "chair"]
Lens = Literal["market", "technical", "risk", "chair", "bull", "bear"]


class RosterError(ValueError):
    """A roster file that cannot be used, named with the offending field and value."""


class RoleSpec(BaseModel):
    """One seat at the meeting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="node name and turn prefix, e.g. 'market_analyst'")
    title: str
    seat: Seat = Field(description="analysts open in parallel, then risk, the chair closes")
    lens: Lens
    focus: str
    model: str | None = Field(default=None, description="'provider:model'; None = meeting default")
    interrupt_budget: int = Field(default=2, ge=0)
    weight: float = Field(default=1.0, ge=0.0, description="the CTO's weight for this role")
    may_raise: tuple[InterruptKind, ...] = ()
    reads_turns: bool = Field(
        default=True,
        description="risk seat only: its opening turn reads the analysts' turns, so it speaks "
        "after them (one more sequential model call); false: it opens beside them, from the "
        "memo, the desk and the account",
    )

    @model_validator(mode="after")
    def _id_is_a_name(self) -> RoleSpec:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.id):
            raise ValueError(f"role id {self.id!r} must be lower_snake_case")
        return self


class Roster(BaseModel):
    """The seats, in speaking order within each seat."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: tuple[RoleSpec, ...]

    @model_validator(mode="after")
    def _one_chair_one_risk(self) -> Roster:
        ids = [r.id for r in self.roles]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate role id(s): {', '.join(dup)}")
        for seat, want in (("chair", 1), ("risk", 1)):
            n = sum(r.seat == seat for r in self.roles)
            if n != want:
                raise ValueError(f"a roster needs exactly {want} {seat} seat, found {n}")
        if not self.analysts:
            raise ValueError("a roster needs at least one analyst seat")
        return self

    @property
    def analysts(self) -> tuple[RoleSpec, ...]:
        return tuple(r for r in self.roles if r.seat == "analyst")

    @property
    def risk(self) -> RoleSpec:
        return next(r for r in self.roles if r.seat == "risk")

    @property
    def chair(self) -> RoleSpec:
        return next(r for r in self.roles if r.seat == "chair")

    def get(self, role_id: str) -> RoleSpec:
        for r in self.roles:
            if r.id == role_id:
                return r
        raise KeyError(f"no role {role_id!r} in the roster ({', '.join(r.id for r in self.roles)})")


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RosterError(f"roster file {path} does not exist") from exc
    except json.JSONDecodeError as exc:
        raise RosterError(f"roster file {path}: not JSON ({exc})") from exc
    if not isinstance(data, dict) or not ({"roles", "extra"} & data.keys()):
        raise RosterError(f"roster file {path}: expected an object with 'roles' or 'extra'")
    return data


def _validate(path: Path, roles: object) -> Roster:
    try:
        return Roster.model_validate({"roles": roles})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise RosterError(f"roster file {path}: {where}: {err['msg']}") from exc


@lru_cache(maxsize=8)
def _load(path: Path | None) -> Roster:
    base = _read(DEFAULT_ROSTER_PATH)["roles"]
    if path is None:
        return _validate(DEFAULT_ROSTER_PATH, base)
    data = _read(path)
    if "roles" in data:
        return _validate(path, data["roles"])
    extra = data["extra"]
    if not isinstance(extra, list) or not isinstance(base, list):
        raise RosterError(f"roster file {path}: 'extra' must be a list of roles")
    return _validate(path, [*base, *extra])


def load_roster(path: str | Path | None = None) -> Roster:
    """The roster: ``path``, else ``$AURAQUANT_ROSTER``, else the default four seats."""
    chosen = path or os.environ.get(ROSTER_ENV) or None
    return _load(Path(chosen).resolve() if chosen else None)
