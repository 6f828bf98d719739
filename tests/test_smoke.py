"""The shell imports and answers --help."""

from typer.testing import CliRunner

from auraquant.cli import app


def test_help_lists_the_command_groups() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("data", "memo", "exchange", "backtest", "meet"):
        assert name in result.output
