"""The order state machine: the table, and illegal transitions raising instead of changing."""

from __future__ import annotations

import pytest

from exchange.errors import IllegalTransition
from exchange.state_machine import OPEN, TERMINAL, TRANSITIONS, OrderEvent, next_status
from exchange.types import OrderStatus as S

LEGAL = [
    (None, OrderEvent.ACCEPTED, S.NEW),
    (None, OrderEvent.REJECTED, S.REJECTED),
    (S.NEW, OrderEvent.TRIGGERED, S.NEW),
    (S.NEW, OrderEvent.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.NEW, OrderEvent.FILLED, S.FILLED),
    (S.NEW, OrderEvent.UPDATED, S.NEW),
    (S.NEW, OrderEvent.CANCELED, S.CANCELED),
    (S.NEW, OrderEvent.EXPIRED, S.EXPIRED),
    (S.PARTIALLY_FILLED, OrderEvent.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, OrderEvent.FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, OrderEvent.CANCELED, S.CANCELED),
    (S.PARTIALLY_FILLED, OrderEvent.EXPIRED, S.EXPIRED),
]


@pytest.mark.parametrize(("status", "event", "after"), LEGAL)
def test_legal_transitions(status: S | None, event: OrderEvent, after: S) -> None:
    assert next_status("O-000001", status, event) == after


@pytest.mark.parametrize("status", sorted(TERMINAL))
@pytest.mark.parametrize("event", list(OrderEvent))
def test_nothing_leaves_a_terminal_state(status: S, event: OrderEvent) -> None:
    with pytest.raises(IllegalTransition) as err:
        next_status("O-000007", status, event)
    assert (
        str(err.value)
        == f"order O-000007: event {event.value} is not allowed in status {status.value}"
    )


def test_table_shape() -> None:
    assert {S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED} == TERMINAL
    assert {S.NEW, S.PARTIALLY_FILLED} == OPEN
    assert all(src is None or src in OPEN for src, _ in TRANSITIONS)
    assert not any(src is None and ev is OrderEvent.FILLED for src, ev in TRANSITIONS)
    with pytest.raises(IllegalTransition):
        next_status("O-000001", S.NEW, OrderEvent.ACCEPTED)


def test_the_exchange_never_moves_a_filled_order() -> None:
    """Matching goes through the table: a filled bracket child cannot be canceled by its OCO."""
    from tests.exchange.kit import brief, make, mkt, run

    ex = make()
    fills = run(
        ex,
        [(100, 100, 100, 100), (100, 101, 94, 96)],
        {0: [mkt("BUY", stop_loss=95, take_profit=100.5)]},
    )
    assert [f[1] for f in brief(fills)] == ["BUY", "SELL"]
    statuses = sorted(o.status.value for o in ex.orders())
    assert statuses == ["CANCELED", "FILLED", "FILLED"]
