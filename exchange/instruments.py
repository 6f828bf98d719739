"""Contract specifications of the tradable USDT perpetuals, matching WEEX's rules.

Tick, size step and minimum size are WEEX's observed values (reference weex-api.md §12);
leverage is capped at 20x, the competition cap. Synthetic series (``SYNTH-BTCUSDT``) trade under
the rules of the real pair they imitate, so a backtest on generated data is validated the same way.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

SYNTHETIC_PREFIX = "SYNTH-"
_EPS = 1e-9


class Instrument(BaseModel):
    """One contract's trading rules (prices and quantities in the quote / base currency)."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    tick_size: float = Field(gt=0, description="price increment")
    step_size: float = Field(gt=0, description="quantity increment (base asset)")
    min_quantity: float = Field(gt=0, description="smallest order quantity (base asset)")
    max_leverage: float = Field(default=20.0, ge=1)
    min_notional: float = Field(
        default=0.0, ge=0, description="smallest order notional (quantity x price), quote"
    )
    max_quantity: float | None = Field(default=None, gt=0, description="largest order quantity")
    price_band: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="a limit price may be at most this fraction above (buy) / below (sell) the mark",
    )
    maintenance_tiers: tuple[tuple[float, float, float], ...] = Field(
        default=(),
        description="(notional_cap, maintenance_rate, cumulative_amount), rising; empty: the "
        "config's maintenance_margin_rate",
    )

    def on_tick(self, price: float) -> bool:
        """True when ``price`` is a whole number of ticks (within float noise)."""
        return _is_multiple(price, self.tick_size)

    def on_step(self, quantity: float) -> bool:
        """True when ``quantity`` is a whole number of size steps (within float noise)."""
        return _is_multiple(quantity, self.step_size)

    def round_price(self, price: float) -> float:
        """The nearest price on the tick grid."""
        return _snap(round(price / self.tick_size) * self.tick_size, self.tick_size)

    def snap_quantity(self, quantity: float) -> float:
        """The nearest quantity on the step grid."""
        return _snap(round(quantity / self.step_size) * self.step_size, self.step_size)

    def floor_quantity(self, quantity: float) -> float:
        """The largest quantity on the step grid not above ``quantity`` (for position sizing)."""
        steps = math.floor(quantity / self.step_size + _EPS)
        return _snap(steps * self.step_size, self.step_size)


def _is_multiple(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) <= 1e-6


_DECIMALS: dict[float, int] = {}


def _snap(value: float, step: float) -> float:
    """Round away binary noise (0.30000000000000004 -> 0.3) using the step's decimals."""
    decimals = _DECIMALS.get(step)
    if decimals is None:  # a handful of steps exist: the logarithm is taken once each
        decimals = _DECIMALS[step] = max(0, -math.floor(math.log10(step)) + 2)
    return round(value, decimals)


def _spec(symbol: str, tick: float, step: float, min_qty: float) -> Instrument:
    return Instrument(symbol=symbol, tick_size=tick, step_size=step, min_quantity=min_qty)


_REGISTRY: dict[str, Instrument] = {
    i.symbol: i
    for i in (
        _spec("BTCUSDT", 0.1, 0.001, 0.001),
        _spec("ETHUSDT", 0.01, 0.001, 0.001),
        _spec("SOLUSDT", 0.01, 0.1, 0.1),
        _spec("DOGEUSDT", 0.00001, 100, 100),
        _spec("XRPUSDT", 0.0001, 10, 10),
        _spec("ADAUSDT", 0.0001, 10, 10),
        _spec("BNBUSDT", 0.01, 0.1, 0.1),
        _spec("LTCUSDT", 0.01, 0.1, 0.1),
    )
}


def default_instruments() -> dict[str, Instrument]:
    """A copy of the registry: the eight WEEX pairs plus anything registered since."""
    return dict(_REGISTRY)


def register_instrument(instrument: Instrument) -> Instrument:
    """Add (or replace) a symbol in the registry used by configs created afterwards."""
    _REGISTRY[instrument.symbol] = instrument
    return instrument


def synthetic(symbol: str, like: str | None = None) -> Instrument:
    """The spec for a synthetic series: ``synthetic('SYNTH-BTCUSDT')`` trades as BTCUSDT."""
    base = like or symbol.removeprefix(SYNTHETIC_PREFIX)
    if base not in _REGISTRY:
        raise KeyError(f"symbol: no instrument {base!r} to model {symbol!r} on")
    return _REGISTRY[base].model_copy(update={"symbol": symbol})


def resolve(symbol: str, instruments: dict[str, Instrument]) -> Instrument | None:
    """The instrument for ``symbol``; ``SYNTH-<PAIR>`` resolves to a copy of ``<PAIR>``."""
    spec = instruments.get(symbol)
    if spec is None and symbol.startswith(SYNTHETIC_PREFIX):
        base = instruments.get(symbol.removeprefix(SYNTHETIC_PREFIX))
        if base is not None:
            spec = base.model_copy(update={"symbol": symbol})
    return spec
