"""`auraquant news collect | label | alert | run` and `auraquant alerts last N`.

``news run`` runs the whole pipeline in this process: on Redis Streams when ``REDIS_URL`` is set,
on in-memory queues otherwise. ``collect``, ``label`` (labeler + store writer) and ``alert``
(alert service + notifiers) run one part each, as separate processes sharing Redis.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import threading
import time
import traceback
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.logging import RichHandler
from rich.text import Text

from auraquant.cli.common import console, emit_json, err_console, fail
from auraquant.cli.tables import Col, cli_table
from auraquant.settings import Settings, get_settings
from feeds.bus import Bus, RedisBus, Topology
from feeds.labeler import make_labeler
from feeds.models import Alert, from_fields
from feeds.notifiers import ConsoleNotifier, DiscordNotifier, Notifier, TelegramNotifier
from feeds.pipeline import DEFAULT_DATASET, Pipeline, PipelineConfig, make_bus
from feeds.sources import (
    CryptoPanicSource,
    FileReplayer,
    PollingSource,
    RssSource,
    Source,
)
from tools.paths import home_dir, store_dir

app = typer.Typer(
    help="News intelligence: collect, label, store and alert on crypto headlines.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(help="The alerts the news pipeline emitted.", no_args_is_help=True)

Prefix = Annotated[
    str | None,
    typer.Option(
        "--prefix", help="Redis stream/key prefix (default $AURAQUANT_NEWS_PREFIX or news)."
    ),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
Replay = Annotated[
    Path | None,
    typer.Option(
        "--replay", help="Replay a headline CSV file or folder, e.g. ../shared/data/news."
    ),
]
Speed = Annotated[
    float | None,
    typer.Option("--speed", help="Replay at the original pace x SPEED (3600 = an hour a second)."),
]
Rate = Annotated[
    float | None, typer.Option("--rate", help="Replay at a fixed RATE items per second.")
]
Limit = Annotated[int | None, typer.Option("--limit", help="Replay only the first N headlines.")]
Rss = Annotated[
    list[str] | None,
    typer.Option("--rss", help="An RSS/Atom feed URL (repeat; default $AURAQUANT_NEWS_FEEDS)."),
]
Panic = Annotated[bool, typer.Option("--cryptopanic", help="Poll CryptoPanic (CRYPTOPANIC_TOKEN).")]
Tg = Annotated[
    bool, typer.Option("--telegram", help="Read Telegram channels (the telegram extra).")
]
Interval = Annotated[
    float, typer.Option("--interval", help="Seconds between polls of network sources.")
]
Threshold = Annotated[
    float | None,
    typer.Option(
        "--threshold", help="Importance 0..1 from which an item is alerted (default 0.7)."
    ),
]
Notify = Annotated[
    str,
    typer.Option("--notify", help="Notifiers, comma-separated: console, telegram, discord."),
]
LabelerOpt = Annotated[str, typer.Option("--labeler", help="offline (default) or llm.")]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="provider:model for --labeler llm (default $AURAQUANT_MODEL)."),
]
Dataset = Annotated[
    str, typer.Option("--dataset", help="News dataset in the store the labelled items go to.")
]
Consumer = Annotated[
    str | None, typer.Option("--consumer", help="Consumer name (default host-pid-role).")
]
ClaimIdle = Annotated[
    int,
    typer.Option(
        "--claim-idle-ms", help="Take over entries a dead consumer left pending this long."
    ),
]
Batch = Annotated[int, typer.Option("--batch", help="Entries read per batch.")]
MaxLen = Annotated[
    int,
    typer.Option("--maxlen", help="Cap on stream length (only processed entries are trimmed)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON summary object at the end.")]


def _redact(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)


class _Guard:
    """Turns expected failures into one clear line; a traceback only with --debug."""

    def __init__(self, debug: bool) -> None:
        self.debug = debug

    def __enter__(self) -> _Guard:
        return self

    def __exit__(self, et: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, typer.Exit | KeyboardInterrupt):
            return
        if self.debug:
            traceback.print_exception(exc)
        fail(f"{type(exc).__name__}: {exc}")


def _logging(debug: bool) -> None:
    root = logging.getLogger("feeds")
    root.handlers[:] = [RichHandler(console=err_console, show_path=False, show_time=False)]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    root.propagate = False


def _bus(settings: Settings, need_redis: bool, what: str) -> Bus:
    url = settings.redis_url
    if need_redis and not url:
        fail(
            f"`auraquant news {what}` runs as its own process and talks to the others over Redis: "
            "set REDIS_URL (e.g. redis://127.0.0.1:6379/0), or run everything in one process "
            "with `auraquant news run`"
        )
    try:
        return make_bus(url)
    except Exception as exc:
        fail(
            f"REDIS_URL {_redact(url or '')}: cannot connect ({type(exc).__name__}); start Redis "
            "or unset REDIS_URL to run in memory"
        )


def _sources(
    settings: Settings,
    replay: Path | None,
    speed: float | None,
    rate: float | None,
    limit: int | None,
    rss: list[str] | None,
    cryptopanic: bool,
    telegram: bool,
    interval: float,
) -> list[Source]:
    out: list[Source] = []
    if replay is not None:
        if speed is not None and rate is not None:
            fail("--speed and --rate: choose one (original pace x speed, or items per second)")
        try:
            files = FileReplayer.discover(replay)
            out.append(FileReplayer(files, speed=speed, rate=rate, limit=limit))
        except (FileNotFoundError, ValueError) as exc:
            fail(f"--replay: {exc}")
    feeds = list(rss or []) or [u.strip() for u in settings.news_feeds.split(",") if u.strip()]
    if rss is not None or (feeds and replay is None and not cryptopanic and not telegram):
        if not feeds:
            fail("--rss: no feed URL given and AURAQUANT_NEWS_FEEDS is empty")
        out.append(PollingSource(RssSource(feeds), interval))
    if cryptopanic:
        token = settings.cryptopanic_token.get_secret_value() if settings.cryptopanic_token else ""
        if not token:
            fail("--cryptopanic: set CRYPTOPANIC_TOKEN (a free token from cryptopanic.com)")
        out.append(PollingSource(CryptoPanicSource(token), interval))
    if telegram:
        from feeds.telegram import (
            TelegramSource,
            TelegramUnavailable,
            parse_channels,
            require_telethon,
        )

        try:
            require_telethon()
            api_hash = (
                settings.telegram_api_hash.get_secret_value()
                if settings.telegram_api_hash
                else None
            )
            out.append(
                TelegramSource(
                    parse_channels(settings.telegram_channels),
                    settings.telegram_api_id,
                    api_hash,
                    home_dir() / "telegram",
                    interval=interval,
                )
            )
        except TelegramUnavailable as exc:
            fail(f"--telegram: {exc}")
    if not out:
        fail(
            "no source: choose --replay ../shared/data/news, --rss URL, --cryptopanic or "
            "--telegram (or set AURAQUANT_NEWS_FEEDS)"
        )
    return out


class AlertLog:
    """Appends every alert to ``$AURAQUANT_HOME/news/alerts.ndjson`` (read by `alerts last`
    when there is no Redis)."""

    name = "log"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(alert.model_dump_json() + "\n")


def _alert_log_path() -> Path:
    return home_dir() / "news" / "alerts.ndjson"


def _notifiers(settings: Settings, notify: str) -> list[Notifier]:
    out: list[Notifier] = []
    for name in [n.strip() for n in notify.split(",") if n.strip()]:
        if name == "console":
            out.append(ConsoleNotifier(console))
        elif name == "telegram":
            token = (
                settings.telegram_bot_token.get_secret_value()
                if settings.telegram_bot_token
                else ""
            )
            if not token or not settings.telegram_chat_id:
                fail("--notify telegram: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID")
            out.append(TelegramNotifier(token, settings.telegram_chat_id))
        elif name == "discord":
            url = (
                settings.discord_webhook_url.get_secret_value()
                if settings.discord_webhook_url
                else ""
            )
            if not url:
                fail("--notify discord: set DISCORD_WEBHOOK_URL")
            out.append(DiscordNotifier(url))
        elif name != "none":
            fail(f"--notify {name!r} is not one of console, telegram, discord, none")
    return out


def _config(
    settings: Settings, prefix: str | None, dataset: str, threshold: float | None, **kw: Any
) -> PipelineConfig:
    try:
        return PipelineConfig(
            prefix=prefix or settings.news_prefix,
            dataset=dataset,
            store=store_dir(),
            threshold=settings.alert_threshold if threshold is None else threshold,
            **kw,
        )
    except ValueError as exc:
        fail(str(exc))


def _labeler(settings: Settings, labeler: str, model: str | None, bus: Bus, prefix: str) -> Any:
    try:
        return make_labeler(labeler, model or settings.model, getattr(bus, "r", None), prefix)
    except ValueError as exc:
        fail(str(exc))


def _install_sigterm(pipe: Pipeline) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: pipe.stop.set())


def _progress_line(st: dict[str, int]) -> str:
    keys = ("collected", "duplicates", "malformed", "labelled", "stored", "alerts", "notified")
    return " · ".join(f"{k} {st.get(k, 0)}" for k in keys)


def _replay_note(pipe: Pipeline) -> str:
    for s in pipe.sources:
        if isinstance(s, FileReplayer) and s.position is not None:
            return f" · replay at {s.position.strftime('%Y-%m-%dT%H:%M:%SZ')} of {s.total} rows"
    return ""


def _serve(pipe: Pipeline, roles: tuple[str, ...], until_drained: bool, quiet: bool) -> None:
    _install_sigterm(pipe)
    pipe.start(roles)
    last = 0.0
    try:
        while not pipe.stop.is_set():
            time.sleep(0.1)
            if until_drained and pipe.drained():
                break
            if "collect" in roles and not until_drained and not pipe.collecting():
                break
            if not quiet and time.monotonic() - last >= 2.0:
                last = time.monotonic()
                err_console.print(
                    Text(_progress_line(pipe.stats()) + _replay_note(pipe)), style="dim"
                )
    except KeyboardInterrupt:
        err_console.print("interrupted: stopping (entries not acknowledged stay pending)")
    finally:
        pipe.shutdown()
    if pipe.errors:
        fail(f"{type(pipe.errors[0]).__name__}: {pipe.errors[0]}")


@app.command("run")
def run(
    replay: Replay = None,
    speed: Speed = None,
    rate: Rate = None,
    limit: Limit = None,
    rss: Rss = None,
    cryptopanic: Panic = False,
    telegram: Tg = False,
    interval: Interval = 60.0,
    threshold: Threshold = None,
    notify: Notify = "console",
    labeler: LabelerOpt = "offline",
    model: ModelOpt = None,
    dataset: Dataset = DEFAULT_DATASET,
    prefix: Prefix = None,
    maxlen: MaxLen = 10_000,
    json_out: JsonOpt = False,
    debug: Debug = False,
) -> None:
    """Run the whole pipeline in this process (Redis with REDIS_URL, in memory without).

    With --replay it stops once every headline went through; with network sources it runs
    until Ctrl-C.
    """
    _logging(debug)
    with _Guard(debug):
        settings = get_settings()
        sources = _sources(
            settings, replay, speed, rate, limit, rss, cryptopanic, telegram, interval
        )
        notifiers = _notifiers(settings, notify)
        cfg = _config(settings, prefix, dataset, threshold, maxlen=maxlen)
        bus = _bus(settings, False, "run")
        where = (
            f"Redis {_redact(settings.redis_url)} (streams {cfg.prefix}:*)"
            if settings.redis_url
            else "in-memory queues (no REDIS_URL)"
        )
        err_console.print(
            Text(
                f"news pipeline on {where}; store {cfg.store} dataset {cfg.dataset}; "
                f"alert threshold {cfg.threshold:g}"
            )
        )
        pipe = Pipeline(
            bus,
            cfg,
            sources,
            _labeler(settings, labeler, model, bus, cfg.prefix),
            [*notifiers, AlertLog(_alert_log_path())],
        )
        start = pipe.stats()
        t0 = time.monotonic()
        _serve(
            pipe,
            ("collect", "label", "store", "alert", "notify"),
            until_drained=replay is not None and not (rss or cryptopanic or telegram),
            quiet=json_out,
        )
        end = pipe.stats()
        summary: dict[str, Any] = {
            k: end.get(k, 0) - start.get(k, 0) for k in sorted(set(end) | set(start))
        }
        summary |= {
            "seconds": round(time.monotonic() - t0, 2),
            "store": str(cfg.store),
            "dataset": cfg.dataset,
            "backend": "redis" if settings.redis_url else "memory",
        }
        if json_out:
            emit_json(summary)
            return
        err_console.print(Text("done: " + _progress_line(summary) + f" in {summary['seconds']}s"))
        err_console.print(
            Text(
                f"labelled items are in {cfg.store}/news/{cfg.dataset}/ (memos read them); "
                "list the alerts with: auraquant alerts last 10"
            )
        )


@app.command("collect")
def collect(
    replay: Replay = None,
    speed: Speed = None,
    rate: Rate = None,
    limit: Limit = None,
    rss: Rss = None,
    cryptopanic: Panic = False,
    telegram: Tg = False,
    interval: Interval = 60.0,
    prefix: Prefix = None,
    maxlen: MaxLen = 10_000,
    debug: Debug = False,
) -> None:
    """Collect headlines onto the raw stream (Redis). A replay exits when the file is done."""
    _logging(debug)
    with _Guard(debug):
        settings = get_settings()
        bus = _bus(settings, True, "collect")
        sources = _sources(
            settings, replay, speed, rate, limit, rss, cryptopanic, telegram, interval
        )
        cfg = _config(settings, prefix, DEFAULT_DATASET, None, maxlen=maxlen)
        pipe = Pipeline(bus, cfg, sources)
        _serve(pipe, ("collect",), until_drained=False, quiet=False)
        err_console.print(Text("collector done: " + _progress_line(pipe.stats())))


@app.command("label")
def label(
    labeler: LabelerOpt = "offline",
    model: ModelOpt = None,
    dataset: Dataset = DEFAULT_DATASET,
    prefix: Prefix = None,
    consumer: Consumer = None,
    claim_idle_ms: ClaimIdle = 5_000,
    batch: Batch = 100,
    maxlen: MaxLen = 10_000,
    debug: Debug = False,
) -> None:
    """Label raw items into the labelled stream and the Parquet store (Redis; until stopped)."""
    _logging(debug)
    with _Guard(debug):
        settings = get_settings()
        bus = _bus(settings, True, "label")
        cfg = _config(
            settings,
            prefix,
            dataset,
            None,
            maxlen=maxlen,
            batch=batch,
            claim_idle_ms=claim_idle_ms,
            consumer=consumer,
        )
        pipe = Pipeline(bus, cfg, labeler=_labeler(settings, labeler, model, bus, cfg.prefix))
        _serve(pipe, ("label", "store"), until_drained=False, quiet=True)


@app.command("alert")
def alert(
    threshold: Threshold = None,
    notify: Notify = "console",
    prefix: Prefix = None,
    consumer: Consumer = None,
    claim_idle_ms: ClaimIdle = 5_000,
    batch: Batch = 100,
    debug: Debug = False,
) -> None:
    """Turn labelled items over the threshold into alerts and send them (Redis; until stopped)."""
    _logging(debug)
    with _Guard(debug):
        settings = get_settings()
        bus = _bus(settings, True, "alert")
        cfg = _config(
            settings,
            prefix,
            DEFAULT_DATASET,
            threshold,
            claim_idle_ms=claim_idle_ms,
            consumer=consumer,
        )
        pipe = Pipeline(bus, cfg, notifiers=_notifiers(settings, notify))
        _serve(pipe, ("alert", "notify"), until_drained=False, quiet=True)


def _read_alerts(settings: Settings, prefix: str | None, n: int) -> list[Alert]:
    if settings.redis_url:
        bus = _bus(settings, True, "alerts")
        assert isinstance(bus, RedisBus)
        topo = Topology(prefix or settings.news_prefix)
        return [from_fields(Alert, f) for _, f in bus.last(topo.alerts, n)]
    path = _alert_log_path()
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[-n:]
    return [Alert.model_validate_json(line) for line in reversed(lines) if line.strip()]


@alerts_app.command("last")
def alerts_last(
    n: Annotated[int, typer.Argument(help="How many of the latest alerts.")] = 10,
    prefix: Prefix = None,
    json_out: JsonOpt = False,
    debug: Debug = False,
) -> None:
    """The last N alerts, newest first, with their end-to-end latency (collection -> alert)."""
    if n < 1:
        fail(f"N={n}: must be at least 1")
    with _Guard(debug):
        settings = get_settings()
        alerts = _read_alerts(settings, prefix, n)
        if json_out:
            emit_json(
                {
                    "alerts": [
                        json.loads(a.model_dump_json()) | {"latency_seconds": a.latency_seconds}
                        for a in alerts
                    ]
                }
            )
            return
        if not alerts:
            where = "Redis" if settings.redis_url else str(_alert_log_path())
            err_console.print(
                f"no alerts yet in {where}: run `auraquant news run --replay ../shared/data/news`"
            )
            return
        rows = [
            [a.alerted_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), "★" * a.stars, a.symbol,
             a.summary, a.source, f"{a.latency_seconds * 1000:.0f} ms"]
            for a in alerts
        ]  # fmt: skip
        cols = (Col("alerted (UTC)"), Col("stars"), Col("symbol", fold=True),
                Col("summary", fold=True), Col("source", fold=True), Col("latency", right=True))  # fmt: skip
        console.print(cli_table(cols, rows, title=f"Last {len(alerts)} alerts"))


__all__ = ["alerts_app", "app"]
