"""The replay's speed work changes no decision: a replay by this code and one by the reference
commit's code (extracted with ``git archive``, run in a subprocess on the same store) give the
same ``report.json`` and ``ledger.json``, byte for byte once the code's own identity (the git
commit and the config id derived from it) is set aside.

``REFERENCE`` is the last commit whose decisions this code must reproduce. A change that alters
decisions on purpose (a new policy, a new prompt the offline desk reads differently) moves it to
the commit that makes that change, in the same commit, and says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from tools.paths import PROJECT_ROOT

pytestmark = pytest.mark.data

REFERENCE = "99e67ac7ac4a99ad1cf986f734fef73fb28a3dd6"  # issue 8's lenses and the Risk Manager beside the analysts
CODE_IDENTITY = ("git_commit", "config_id")

RUN = """
import json, sys
from pathlib import Path
root, store, out = sys.argv[1:4]
sys.path.insert(0, root)
from backtest.replay import ReplaySpec, run_replay
from backtest.replay_files import write_replay
from decisions.ledger import Ledger
from decisions.review import ReviewLearner
spec = ReplaySpec(symbols=("BTCUSDT", "SOLUSDT"), start="2023-04-18T00:00:00Z",
                  end="2023-04-19T12:00:00Z", every="1h")
out = Path(out)
out.mkdir(parents=True)
ledger = Ledger(f"sqlite:///{out / 'ledger.sqlite'}")
holder = {}
def learner():
    return ReviewLearner(ledger=ledger, market=holder["market"], horizon=spec.horizon)
from backtest import replay as rp
market = rp.load_market(spec, Path(store))
holder["market"] = market
result = run_replay(spec, store=Path(store), run_id="reference-check", ledger=ledger,
                    ailog_dir=out, market=market, learner_factory=learner)
write_replay(result, out, ledger)
ledger.close()
"""


def _without_code_identity(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {
            k: "<code>" if k in CODE_IDENTITY else _without_code_identity(v) for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_without_code_identity(v) for v in obj]
    return obj


def _replay(root: Path, store: Path, out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(root), str(store), str(out)],
        capture_output=True, text=True, timeout=900, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        name: _without_code_identity(json.loads((out / name).read_text(encoding="utf-8")))
        for name in ("report.json", "ledger.json")
    }


def _extract(commit: str, into: Path) -> Path:
    got = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=PROJECT_ROOT, capture_output=True
    )
    if got.returncode != 0:
        pytest.skip(f"no git history with {commit[:12]} here: {got.stderr.decode()[:200]}")
    with tarfile.open(fileobj=BytesIO(got.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def test_a_replay_decides_as_the_reference_commit_did(real_store: Path, tmp_path: Path) -> None:
    reference = _extract(REFERENCE, tmp_path / "reference-code")
    before = _replay(reference, real_store, tmp_path / "before")
    after = _replay(PROJECT_ROOT, real_store, tmp_path / "after")
    assert before["report.json"]["meetings"] > 0
    assert before["ledger.json"], "the reference replay recorded no decision"
    for name in ("report.json", "ledger.json"):
        assert json.dumps(after[name], sort_keys=True) == json.dumps(
            before[name], sort_keys=True
        ), name
