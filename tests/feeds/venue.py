"""A loopback Binance-like venue for the tests: real HTTP on 127.0.0.1, a free port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd

MIN_MS = 60_000
T0 = pd.Timestamp("2024-03-01T00:00:00Z")


def _price(open_ms: int) -> float:
    return 100.0 + 10.0 * np.sin(open_ms / MIN_MS / 30.0) + (open_ms // MIN_MS) % 7 * 0.1


class Venue:
    """Binance-like klines for any window up to ``now`` (the bar open at ``now`` is the current,
    unclosed one and is returned too, as Binance does); ``holes`` are opens it never had."""

    def __init__(self) -> None:
        self.now = T0
        self.holes: set[int] = set()
        self.fail = False
        self.requests = 0
        self.volumes = {"bitcoin": 3e10, "ethereum": 2e10, "solana": 5e9, "dogecoin": 1e9,
                        "ripple": 2.5e10, "cardano": 4e8, "binancecoin": 1e9, "litecoin": 6e8}  # fmt: skip

    def klines(self, q: dict[str, str]) -> list[list[Any]]:
        start, end, limit = int(q["startTime"]), int(q["endTime"]), int(q["limit"])
        now_ms = int(self.now.value // 1_000_000)
        out = []
        t = -(-start // MIN_MS) * MIN_MS
        while t <= min(end, now_ms) and len(out) < limit:
            if t not in self.holes:
                p = _price(t)
                out.append([t, f"{p:.2f}", f"{p + 1:.2f}", f"{p - 1:.2f}", f"{p + 0.5:.2f}",
                            "12.5", t + MIN_MS - 1, "1000", 10, "6", "600", "0"])  # fmt: skip
            t += MIN_MS
        return out


@contextmanager
def serve_venue() -> Iterator[tuple[Venue, str]]:
    v = Venue()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            v.requests += 1
            u = urlparse(self.path)
            q = {k: vals[0] for k, vals in parse_qs(u.query).items()}
            if v.fail:
                body, code = b'{"error": "down"}', 500
            elif u.path == "/api/v3/klines":
                body, code = json.dumps(v.klines(q)).encode(), 200
            elif u.path == "/api/v3/coins/markets":
                ids = q["ids"].split(",")
                rows = [{"id": i, "symbol": i[:3], "name": i, "total_volume": v.volumes[i]}
                        for i in ids]  # fmt: skip
                body, code = json.dumps(rows).encode(), 200
            else:
                body, code = b"{}", 404
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield v, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
