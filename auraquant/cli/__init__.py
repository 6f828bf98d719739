"""The ``auraquant`` command line (Typer). Each command group lives in its own module."""

from __future__ import annotations

from typing import Any

import typer

from auraquant.cli import backtest as backtest_cli
from auraquant.cli import data as data_cli
from auraquant.cli import data_feed as data_feed_cli
from auraquant.cli import demo as demo_cli
from auraquant.cli import exchange as exchange_cli
from auraquant.cli import meet as meet_cli
from auraquant.cli import memo as memo_cli
from auraquant.cli import news as news_cli
from auraquant.cli import replay as replay_cli
from auraquant.cli import review as review_cli
from auraquant.cli import run as run_cli
from auraquant.cli import status as status_cli
from auraquant.cli import view as view_cli
from auraquant.cli import weex as weex_cli
from auraquant.cli import workers as workers_cli
from auraquant.cli.common import console, fail
from auraquant.cli.tables import fit_to_output
from auraquant.settings import load_environment

app = typer.Typer(
    name="auraquant",
    help="AuraQuant: an AI trading desk for crypto futures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """AuraQuant: agents debate, a risk gate disposes, every step is logged."""
    from pydantic import ValidationError

    try:
        load_environment()
    except ValidationError as exc:  # a setting in the environment or .env that cannot be read
        fail(settings_error(exc))
    fit_to_output(console)


def settings_error(exc: Any) -> str:
    """One line per unreadable setting: its variable, its value (never a secret's), why."""
    parts = []
    for e in exc.errors():
        name = str(e["loc"][0]) if e.get("loc") else "settings"
        secret = any(w in name.upper() for w in ("KEY", "SECRET", "PASS", "TOKEN", "HASH", "HOOK"))
        value = "(hidden)" if secret else repr(e.get("input"))
        parts.append(f"{name}={value}: {e['msg']}")
    return "settings: " + "; ".join(parts) + " (fix it in the environment or .env)"


data_cli.app.command("follow")(data_feed_cli.follow)
data_cli.app.command("serve")(data_feed_cli.serve)
app.add_typer(data_cli.app, name="data")
app.command("memo")(memo_cli.memo)
app.add_typer(exchange_cli.app, name="exchange")
app.command("backtest")(backtest_cli.backtest)
app.add_typer(meet_cli.app, name="meet")
app.command("demo")(demo_cli.demo)
app.command("replay")(replay_cli.replay)
app.command("review")(review_cli.review)
app.add_typer(news_cli.app, name="news")
app.add_typer(news_cli.alerts_app, name="alerts")
app.add_typer(weex_cli.app, name="weex")
app.command("run")(run_cli.run)
app.command("status")(status_cli.status)
app.command("worker")(workers_cli.worker)
app.command("beat")(workers_cli.beat)
app.command("view")(view_cli.view)


def main() -> None:
    """Console-script entry point."""
    app()
