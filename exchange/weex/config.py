"""The WEEX client's configuration. Every point weex-api.md marks INFERRED or open (§17) is a
field here, with the reference's best guess as the default, so it can be changed without code."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_BASE_URL = "https://api-contract.weex.com"
COMPETITION_PAIRS = (
    "cmt_btcusdt", "cmt_ethusdt", "cmt_solusdt", "cmt_dogeusdt",
    "cmt_xrpusdt", "cmt_adausdt", "cmt_bnbusdt", "cmt_ltcusdt",
)  # fmt: skip


class RateLimits(BaseModel):
    """Client-side limits, the strictest documented (weex-api §6); all configurable because
    which regime is in force is an open question."""

    model_config = ConfigDict(frozen=True)

    weight_per_window: int = Field(default=1000, ge=1, description="IP and UID buckets each")
    window_s: float = Field(default=10.0, gt=0)
    orders_per_second: int = Field(default=10, ge=1, description="place/cancel (plan too)")
    orders_per_minute: int = Field(default=50, ge=1, description="2026 FAQ; INFERRED in force")
    after_429_s: float = Field(default=10.0, ge=0, description="'wait 10 seconds' after a 429")


class WeexConfig(BaseModel):
    """How to reach WEEX and the behaviours the docs leave open."""

    model_config = ConfigDict(frozen=True)

    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr = SecretStr("")
    api_secret: SecretStr = SecretStr("")
    passphrase: SecretStr = SecretStr("")
    locale: str = "en-US"
    timeout_s: float = Field(default=10.0, gt=0)
    retries: int = Field(default=4, ge=0, description="extra attempts after the first")
    backoff_s: float = Field(default=0.5, ge=0, description="first backoff; doubles each retry")
    backoff_max_s: float = Field(default=8.0, ge=0)
    limits: RateLimits = Field(default_factory=RateLimits)
    margin_mode: Literal[1, 3] = Field(default=1, description="1 cross, 3 isolated; must match")
    market_price_from_ticker: bool = Field(
        default=True, description="send price=last with market orders (bots do; CONFIRMED code)"
    )
    preset_tpsl: bool = Field(
        default=True, description="preset TP/SL on the opening order; turned off on rejection"
    )
    size_step_is_min_order_size: bool = Field(
        default=True,
        description="INFERRED: the observed size step equals minOrderSize (weex-api §12); when "
        "false the step is 10^-size_increment only",
    )
    client_oid_lookup: Literal["current_then_history", "detail_only"] = Field(
        default="current_then_history",
        description="how an ambiguous placeOrder is looked up by client_oid before a retry",
    )
    lookup_attempts: int = Field(default=3, ge=1, description="lookups before giving up")
    allowed_symbols: tuple[str, ...] = COMPETITION_PAIRS
    max_leverage: int = Field(default=20, ge=1, description="the competition cap")
    close_cooldown_s: float = Field(default=2.0, ge=0, description="between close retries")
    close_attempts: int = Field(default=3, ge=1)
    max_hold_s: float | None = Field(default=None, description="close positions older than this")
    evidence_path: str | None = Field(default=None, description="JSONL of every request/answer")

    def secrets(self) -> list[str]:
        """The secret values, for masking (non-empty only)."""
        vals = [self.api_key, self.api_secret, self.passphrase]
        return [v.get_secret_value() for v in vals if v.get_secret_value()]
