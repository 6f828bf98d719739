"""Run the loopback WEEX as its own process on a SYNTHETIC flat-ish path (for the uploader's
kill test and the benchmark, where the price path does not matter):

    python -m exchange.weex.mock.run --port-file PATH [--faults JSON] [--key K --secret S
        --passphrase P]

Writes its URL to ``--port-file`` once listening. ``auraquant weex mock`` is the command that
replays real candles from the store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from exchange.weex.mock.app import MockServer
from exchange.weex.mock.config import Account, FaultRule, MockConfig
from exchange.weex.mock.engine import Bar, MockWeex


def synthetic_path(
    n: int = 600, start_ms: int = 1_700_000_000_000, price: float = 100.0
) -> list[Bar]:
    """A labelled synthetic path: a slow zig-zag around ``price`` (not market data)."""
    out: list[Bar] = []
    for i in range(n):
        p = price + (i % 20 - 10) * 0.1
        out.append((start_ms + i * 60_000, p, p + 0.2, p - 0.2, p + 0.1, 1.0))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port-file", type=Path, required=True)
    ap.add_argument("--faults", default="[]", help="JSON list of fault rules")
    ap.add_argument("--fault-seed", type=int, default=0)
    ap.add_argument("--key", default="mock-key")
    ap.add_argument("--secret", default="mock-secret")
    ap.add_argument("--passphrase", default="mockpass")
    ap.add_argument("--ailog-file", type=Path, help="append every received AI log here (JSONL)")
    a = ap.parse_args(argv)
    cfg = MockConfig(
        accounts=[Account(api_key=a.key, secret=a.secret, passphrase=a.passphrase)],
        faults=[FaultRule.model_validate(r) for r in json.loads(a.faults)],
        fault_seed=a.fault_seed,
    )
    mock = MockWeex(cfg, {"cmt_btcusdt": synthetic_path()})
    if a.ailog_file is not None:
        sink = a.ailog_file.open("a", encoding="utf-8")

        def record(body: dict[str, object]) -> None:
            sink.write(json.dumps(body) + "\n")
            sink.flush()

        mock.on_ai_log = record
    server = MockServer(mock).start()
    a.port_file.write_text(server.url)
    try:
        server._thread.join()  # type: ignore[union-attr]
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
