"""Duplicate detection: the same URL, or the same normalised title, within a time window."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from tools.sentiment import clean_title

_NON_WORD = re.compile(r"[^a-z0-9]+")
_TRACKING = re.compile(r"^(utm_|ref$|fbclid$|gclid$)")


def normalise_title(title: str) -> str:
    """Case, accents, punctuation and spacing removed: ``'Bitcoin  hits $30K!'`` ->
    ``'bitcoin hits 30k'``."""
    text = unicodedata.normalize("NFKD", clean_title(title)).encode("ascii", "ignore").decode()
    return _NON_WORD.sub(" ", text.lower()).strip()


def normalise_url(url: str) -> str:
    """Scheme and ``www.`` dropped, tracking query parameters and fragment removed."""
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    query = "&".join(
        q for q in parts.query.split("&") if q and not _TRACKING.match(q.split("=", 1)[0])
    )
    host = parts.netloc.lower().removeprefix("www.")
    return urlunsplit(("", host, parts.path.rstrip("/"), query, ""))


def story_key(title: str, url: str) -> str:
    """The key an alert is deduplicated on: the normalised title (stable across sources)."""
    return normalise_title(title) or normalise_url(url)


class Deduper:
    """Remembers the URLs and normalised titles seen in the last ``window`` (item time), and
    says whether a new item repeats one. Memory is bounded by pruning older keys."""

    def __init__(self, window: timedelta = timedelta(hours=24)) -> None:
        self.window = window
        self._seen: dict[str, datetime] = {}
        self._newest: datetime | None = None

    def is_duplicate(self, title: str, url: str, at: datetime) -> str | None:
        """The reason when the item repeats one seen within the window (and remember it
        otherwise); None for a new item."""
        keys = [("title", normalise_title(title))]
        if normalise_url(url):
            keys.insert(0, ("url", normalise_url(url)))
        for kind, key in keys:
            prev = self._seen.get(f"{kind}:{key}")
            if prev is not None and abs(at - prev) <= self.window:
                return f"duplicate {kind} of an item seen at {prev.isoformat()}"
        for kind, key in keys:
            self._seen[f"{kind}:{key}"] = at
        self._prune(at)
        return None

    def _prune(self, at: datetime) -> None:
        if self._newest is None or at > self._newest:
            self._newest = at
        if len(self._seen) > 50_000:
            cut = self._newest - self.window
            self._seen = {k: t for k, t in self._seen.items() if t >= cut}
