"""What crosses the news pipeline: a raw item, a labelled item, an alert (pydantic, versioned).

Times are tz-aware UTC. Three clocks meet here:

- ``published_at``: when the source says the story was published;
- ``seen_at``: when the item became known on its own timeline (first seen by a live collector;
  for a replayed dataset, the dataset's stamp, moved to the end of the day when date-only). The
  store files items by ``seen_at``, so a memo at ``at`` never reads an item seen later;
- ``collected_at``: the wall-clock moment the collector emitted it; latencies are measured from it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.sentiment import clean_title

SCHEMA_VERSION = 1


def utc_now() -> datetime:
    """The wall clock, UTC."""
    return datetime.now(UTC)


class RawItem(BaseModel):
    """One collected headline, before labelling."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    id: str = Field(description="stable id: hash of source, url and title")
    title: str = Field(min_length=1, max_length=1000)
    url: str = ""
    source: str = Field(min_length=1, description="where it came from (site, channel, feed)")
    collector: str = Field(description="which collector produced it: replay, rss, cryptopanic …")
    published_at: datetime
    seen_at: datetime
    collected_at: datetime
    symbols: list[str] = Field(default_factory=list)
    summary: str = ""

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, v: str) -> str:
        if not clean_title(v):
            raise ValueError("title is blank")
        return v

    @field_validator("published_at", "seen_at", "collected_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("time has no timezone")
        return v.astimezone(UTC)


def item_id(source: str, url: str, title: str) -> str:
    """The id of an item: the same story from the same source always gets the same id."""
    key = json.dumps([source, url.strip(), clean_title(title)], ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:20]


class LabelledItem(RawItem):
    """A raw item plus its labels. ``label_fallback`` says why the LLM label was not used."""

    category: str
    importance: float = Field(ge=0.0, le=1.0)
    sentiment: float = Field(ge=-1.0, le=1.0)
    labeler: str = Field(description="offline, or the model id that labelled it")
    label_fallback: str = ""
    labelled_at: datetime


class Alert(BaseModel):
    """An item important enough to push to a phone."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    item_id: str
    story: str = Field(description="the dedup key: the same story is alerted once")
    summary: str
    symbol: str = Field(description="the main symbol, or MARKET when it names none")
    stars: int = Field(ge=1, le=3)
    importance: float = Field(description="decayed importance when alerted")
    sentiment: float
    category: str
    source: str
    url: str
    title: str
    published_at: datetime
    collected_at: datetime
    alerted_at: datetime

    @property
    def latency_seconds(self) -> float:
        """Collection -> alert, wall clock."""
        return (self.alerted_at - self.collected_at).total_seconds()


def to_fields(model: BaseModel) -> dict[str, str]:
    """A model as one stream entry: ``{"json": ...}`` (streams hold flat string fields)."""
    return {"json": model.model_dump_json()}


def from_fields(cls: type[Any], fields: dict[str, str]) -> Any:
    """The model back out of a stream entry (raises pydantic.ValidationError when malformed)."""
    return cls.model_validate_json(fields["json"])
