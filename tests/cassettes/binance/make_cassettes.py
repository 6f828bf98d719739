"""Build the Binance klines cassettes from real rows of the shared 1m CSV (no network here).

Run from the project root: ``.venv/bin/python tests/cassettes/binance/make_cassettes.py``.
The responses have Binance's exact /api/v3/klines shape (12-field arrays, prices and volumes as
8-decimal strings). Fields the CSV lacks are derived: quote volume = volume x close, trades = 0,
taker buy base/quote = "0.00000000". Requests are what tools.download sends.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).parent
CSV = Path("../shared/data/candles/BTCUSDT_1m.csv.gz")
HEADER = (
    "# Made by tests/cassettes/binance/make_cassettes.py from REAL rows of\n"
    "# ../shared/data/candles/BTCUSDT_1m.csv.gz (Binance spot, 2023-03-24, including the trading\n"
    "# halt gap 12:40-13:59) rendered in Binance's exact GET /api/v3/klines response shape.\n"
    "# Not recorded from the live API (no network where it was made). Fields the CSV lacks:\n"
    "# quote volume = volume x close, trades = 0, taker buy base/quote = 0.\n"
)


def ms(t: str) -> int:
    return int(pd.Timestamp(t).value // 1_000_000)


def kline(row: pd.Series) -> list[object]:
    open_ms = int(row.ts.value // 1_000_000)
    return [
        open_ms, f"{row.open:.8f}", f"{row.high:.8f}", f"{row.low:.8f}", f"{row.close:.8f}",
        f"{row.volume:.8f}", open_ms + 59_999, f"{row.volume * row.close:.8f}", 0,
        "0.00000000", "0.00000000", "0",
    ]


def uri(start: int, end: int) -> str:
    return (
        "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m"
        f"&startTime={start}&endTime={end}&limit=1000"
    )


def interaction(u: str, status: int, body: str) -> dict[str, object]:
    return {
        "request": {"body": "", "headers": {}, "method": "GET", "uri": u},
        "response": {
            "status": {"code": status, "message": "OK" if status == 200 else "Internal Server Error"},
            "headers": {"Content-Type": ["application/json;charset=UTF-8"]},
            "body": {"string": body},
        },
    }


def write(name: str, interactions: list[dict[str, object]]) -> None:
    text = yaml.safe_dump({"interactions": interactions, "version": 1}, width=10_000)
    (HERE / name).write_text(HEADER + text)


def main() -> None:
    df = pd.read_csv(CSV)
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    start, end = ms("2023-03-24T00:00:00Z"), ms("2023-03-24T20:00:00Z")
    sel = df[(df.ts >= pd.Timestamp(start, unit="ms", tz="UTC")) & (df.ts < pd.Timestamp(end, unit="ms", tz="UTC"))]
    rows = [kline(r) for r in sel.itertuples()]
    page1, page2 = rows[:1000], rows[1000:]
    second_start = int(page1[-1][0]) + 60_000
    write("klines_paged.yaml", [
        interaction(uri(start, end - 1), 200, json.dumps(page1, separators=(",", ":"))),
        interaction(uri(second_start, end - 1), 200, json.dumps(page2, separators=(",", ":"))),
    ])
    s2, e2 = ms("2023-03-24T00:00:00Z"), ms("2023-03-24T00:10:00Z")
    small = json.dumps(rows[:10], separators=(",", ":"))
    err = '{"code":-1000,"msg":"An unknown error occurred while processing the request."}'
    write("klines_500_then_ok.yaml", [interaction(uri(s2, e2 - 1), 500, err), interaction(uri(s2, e2 - 1), 200, small)])
    write("klines_500_always.yaml", [interaction(uri(s2, e2 - 1), 500, err) for _ in range(5)])


if __name__ == "__main__":
    main()
