"""The Market Analyst's lens: news, cross-asset context at the decision's horizon, and regime.

- **news**: the memo's decayed sentiment (``news.bias``), weighed by how much news there is and
  how much of it names the symbol (``news.symbol_count_24h``) rather than the market at large;
  with no headline (``unknown.no_news``) the news reading is *unknown*, not calm, and says so.
- **cross-asset**: BTC's own move over the last 24 h (``corr.btc_return_24h``) times the symbol's
  correlation to BTC — the horizon the desk decides at, not a 1–5 bar lead-lag.
- **regime**: the 7-day and 24-hour returns; a 7-day trend and a 24-hour move that agree are a
  regime, disagreeing ones are chop (no regime reading).
"""

from __future__ import annotations

from typing import Any

from agents.lenses.reading import (
    DECISION_HORIZON,
    Data,
    clip,
    num,
    short,
    stance_of,
    unknown,
    view,
)
from memos.models import (
    F_BTC_CORR,
    F_BTC_RET_24H,
    F_NEWS_BIAS,
    F_NEWS_COUNT,
    F_NEWS_SYMBOL_COUNT,
    F_RET_7D,
    F_RET_24H,
    U_NO_NEWS,
)

MARKET_THRESHOLD = 0.2
"""|score| above which the Market Analyst takes a side (chosen on the tune window)."""


def news_reading(memo: Data) -> tuple[float, float, list[str], str]:
    """(score, weight, evidence, note): decayed sentiment weighed by volume and specificity."""
    bias = num(memo, F_NEWS_BIAS)
    count = num(memo, F_NEWS_COUNT) or 0.0
    own = num(memo, F_NEWS_SYMBOL_COUNT)
    if unknown(memo, U_NO_NEWS) or bias is None or count <= 0:
        return (
            0.0,
            0.0,
            [],
            f"news unknown ({U_NO_NEWS if unknown(memo, U_NO_NEWS) else 'no bias'})",
        )
    specific = min(1.0, (own or 0.0) / 3.0)
    importance = min(1.0, count / 10.0)
    weight = 0.3 * importance + 0.7 * specific
    ev = [F_NEWS_BIAS, F_NEWS_COUNT] + ([F_NEWS_SYMBOL_COUNT] if own is not None else [])
    scope = f"{own or 0:.0f} of {count:.0f} headlines name the symbol"
    return clip(bias, -1, 1), weight, ev, f"news {bias:+.2f} ({scope})"


def cross_asset_reading(memo: Data) -> tuple[float, float, list[str], str]:
    """BTC's 24 h move carried over by the correlation (none for BTC itself)."""
    btc = num(memo, F_BTC_RET_24H)
    corr = num(memo, F_BTC_CORR)
    if btc is None or corr is None:
        return 0.0, 0.0, [], "no cross-asset reading"
    score = clip(btc / 0.04, -1, 1) * clip(corr, 0, 1)
    return score, 0.8, [F_BTC_RET_24H, F_BTC_CORR], f"BTC 24h {btc:+.1%} at corr {corr:.2f}"


def regime_reading(memo: Data) -> tuple[float, float, list[str], str]:
    """A regime when the 7-day trend and the 24 h move agree; chop otherwise."""
    r7, r24 = num(memo, F_RET_7D), num(memo, F_RET_24H)
    if r7 is None or r24 is None:
        return 0.0, 0.0, [], "no regime reading"
    week, day = clip(r7 / 0.10, -1, 1), clip(r24 / 0.03, -1, 1)
    if week * day <= 0:
        return 0.0, 0.6, [F_RET_7D, F_RET_24H], f"chop (7d {r7:+.1%}, 24h {r24:+.1%})"
    return 0.5 * (week + day), 1.0, [F_RET_7D, F_RET_24H], f"regime 7d {r7:+.1%}, 24h {r24:+.1%}"


def market_view(memo: Data, horizon: str | None = None) -> dict[str, Any]:
    parts = [news_reading(memo), cross_asset_reading(memo), regime_reading(memo)]
    weight = sum(w for _, w, _, _ in parts)
    why = "; ".join(n for _, _, _, n in parts)
    evidence = [e for _, w, ev, _ in parts if w > 0 for e in ev]
    if weight <= 0:
        return view("FLAT", 0.5, horizon or DECISION_HORIZON, f"No market reading: {why}.", [])
    score = sum(s * w for s, w, _, _ in parts) / weight
    stance = stance_of(score, MARKET_THRESHOLD)
    conf = 0.5 + 0.3 * min(1.0, abs(score)) if stance != "FLAT" else 0.5
    return view(
        stance,
        conf,
        horizon or DECISION_HORIZON,
        f"Market read {score:+.2f}: {why}.",
        evidence,
    )


__all__ = ["cross_asset_reading", "market_view", "news_reading", "regime_reading", "short"]
