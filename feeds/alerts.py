"""Which labelled items become alerts, and how many stars (pure functions).

Importance is decayed by the item's age when the alert service reads it (never frozen at
labelling): ``age = (now - collected_at) + (seen_at - published_at)``, i.e. how old the story
was when collected plus how long it has waited since. For a live source that is ``now -
published_at``; for a replayed dataset it is the processing delay only, as if live.
"""

from __future__ import annotations

from datetime import datetime

from feeds.dedup import story_key
from feeds.models import Alert, LabelledItem
from tools.news_labels import decay_factor
from tools.sentiment import HALF_LIFE_HOURS

DEFAULT_THRESHOLD = 0.7


def item_age_hours(item: LabelledItem, now: datetime) -> float:
    """The story's age at ``now`` on its own timeline (see the module docstring)."""
    waited = (now - item.collected_at).total_seconds()
    lag = (item.seen_at - item.published_at).total_seconds()
    return max(0.0, waited + max(0.0, lag)) / 3600.0


def stars_for(importance: float, threshold: float) -> int:
    """1 to 3 stars: the span from the threshold to 1 cut in three equal bands."""
    if threshold >= 1.0:
        return 3
    band = (importance - threshold) / (1.0 - threshold)
    return max(1, min(3, 1 + int(band * 3 + 1e-9)))


def main_symbol(symbols: list[str]) -> str:
    """The first symbol the item names, or MARKET for market-wide news."""
    return symbols[0] if symbols else "MARKET"


def decide_alert(
    item: LabelledItem,
    now: datetime,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    half_life_hours: float = HALF_LIFE_HOURS,
) -> Alert | None:
    """The alert for ``item`` when its decayed importance reaches ``threshold``, else None."""
    importance = item.importance * decay_factor(item_age_hours(item, now), half_life_hours)
    if importance < threshold:
        return None
    return Alert(
        item_id=item.id,
        story=story_key(item.title, item.url),
        summary=item.summary,
        symbol=main_symbol(item.symbols),
        stars=stars_for(importance, threshold),
        importance=round(importance, 4),
        sentiment=item.sentiment,
        category=item.category,
        source=item.source,
        url=item.url,
        title=item.title,
        published_at=item.published_at,
        collected_at=item.collected_at,
        alerted_at=now,
    )


def format_alert(alert: Alert) -> str:
    """The one message a phone shows: stars, symbol, one-sentence summary, source."""
    stars = "★" * alert.stars + "☆" * (3 - alert.stars)
    mood = (
        "bullish" if alert.sentiment > 0.05 else "bearish" if alert.sentiment < -0.05 else "neutral"
    )
    text = f"{stars} {alert.symbol} · {alert.category} · {mood}\n{alert.summary}\n{alert.source}"
    return text + (f" {alert.url}" if alert.url else "")
