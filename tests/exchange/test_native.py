"""The opt-in compiled core (exchange/native.py): a stale build is refused, and we know which ran.

No compile here (that is ~25 s; CI does it once in `.ci/run`): a fake compiled file plus a build
record exercise the guard, in a temporary copy of the package.

Set AURAQUANT_EXPECT_CORE=mypyc (or python) to make ``test_expected_core_is_loaded`` prove which
core this test run imports: `.ci/run` does so for its compiled pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import exchange
from exchange import native
from exchange.native import MODULES, STAMP_NAME, SUFFIX, StaleNativeBuild, check_fresh

PACKAGE = Path(exchange.__file__).resolve().parent


def _fake_build(pkg: Path, modules: tuple[str, ...] = MODULES) -> None:
    """What `make native` leaves behind, minus the real machine code."""
    sources = {m: native._hash(str(pkg / f"{m}.py")) for m in modules}
    (pkg / STAMP_NAME).write_text(json.dumps({"sources": sources}), encoding="utf-8")
    for m in modules:
        (pkg / f"{m}{SUFFIX}").write_bytes(b"not really compiled")


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    """A copy of the exchange package's core sources (no compiled files)."""
    dest = tmp_path / "exchange"
    dest.mkdir()
    for m in MODULES:
        shutil.copy(PACKAGE / f"{m}.py", dest / f"{m}.py")
    return dest


def test_pure_tree_needs_no_build_record(pkg: Path) -> None:
    assert native.compiled_modules(str(pkg)) == []
    check_fresh(str(pkg))  # nothing compiled: nothing to check, no record needed


def test_fresh_build_passes(pkg: Path) -> None:
    _fake_build(pkg)
    assert native.compiled_modules(str(pkg)) == list(MODULES)
    check_fresh(str(pkg))


def test_source_edited_after_build_is_refused(pkg: Path) -> None:
    _fake_build(pkg)
    with (pkg / "virtual.py").open("a", encoding="utf-8") as fh:
        fh.write("\n# an edit after `make native`\n")
    with pytest.raises(StaleNativeBuild) as err:
        check_fresh(str(pkg))
    assert str(err.value) == (
        "exchange/virtual.py changed after `make native`: run `make native` again, "
        "or `make clean-native` for pure Python"
    )
    assert isinstance(err.value, ImportError)


def test_only_compiled_modules_are_checked(pkg: Path) -> None:
    _fake_build(pkg, modules=("margin",))
    (pkg / "virtual.py").write_text("# edited, but not compiled: Python runs this file\n")
    check_fresh(str(pkg))
    (pkg / "margin.py").write_text("# edited and compiled: stale\n")
    with pytest.raises(StaleNativeBuild, match=r"^exchange/margin\.py changed after"):
        check_fresh(str(pkg))


def test_compiled_file_without_build_record_is_refused(pkg: Path) -> None:
    (pkg / f"costs{SUFFIX}").write_bytes(b"built by hand with the mypyc CLI")
    with pytest.raises(StaleNativeBuild) as err:
        check_fresh(str(pkg))
    assert str(err.value) == (
        f"exchange/costs{SUFFIX} has no build record (exchange/{STAMP_NAME}): it was not built "
        "by `make native`; run `make native` again, or `make clean-native` for pure Python"
    )


def test_deleted_source_is_refused(pkg: Path) -> None:
    _fake_build(pkg)
    (pkg / "matching.py").unlink()
    with pytest.raises(StaleNativeBuild, match=r"^exchange/matching\.py changed after"):
        check_fresh(str(pkg))


def test_import_exchange_stops_on_a_stale_build(tmp_path: Path) -> None:
    """End to end: `import exchange` itself raises, before any stale module could load."""
    dest = tmp_path / "exchange"
    shutil.copytree(PACKAGE, dest, ignore=shutil.ignore_patterns("*.so", STAMP_NAME, "__pycache__"))
    _fake_build(dest)
    (dest / "state_machine.py").write_text("# edited after the build\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "import exchange"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        "exchange.native.StaleNativeBuild: exchange/state_machine.py changed after `make native`"
        in done.stderr
    )


def test_loaded_core_matches_the_files_on_disk() -> None:
    compiled = native.compiled_modules()
    expected = "mypyc" if compiled == list(MODULES) else ("mixed" if compiled else "python")
    assert native.core() == expected


def test_expected_core_is_loaded() -> None:
    """The core is whole (never a half-built mix); AURAQUANT_EXPECT_CORE=mypyc, set by
    `.ci/run` for its compiled pass, proves that pass really ran the compiled modules."""
    import exchange.virtual

    expected = os.environ.get("AURAQUANT_EXPECT_CORE")
    assert native.core() in ({expected} if expected else {"python", "mypyc"})
    compiled = (exchange.virtual.__file__ or "").endswith(SUFFIX)
    assert compiled == (native.core() == "mypyc")
    if expected == "mypyc":
        assert compiled
