"""The opt-in compiled exchange core: build it, refuse a stale one, say which core is loaded.

WHY: compiling the bar loop with mypyc (``make native``) makes a backtest ~1.4x faster with the
same trades, but a compiled ``virtual.<abi>.so`` silently shadows ``virtual.py``: edit the .py
after the build and Python keeps running the old code. ``make native`` records the hash of
every source it compiles; ``import exchange`` (see ``check_fresh``) refuses to start when a
compiled module's source no longer matches. Pure Python stays the default everywhere; see
``exchange/NATIVE.md``.

Only the standard library here, and nothing is hashed unless a compiled module exists, so the
check costs a few ``stat`` calls in the default (pure Python) tree.

    python -m exchange.native build   # what `make native` runs (after `make clean-native`)
    python -m exchange.native check   # prints the loaded core; exit 1 unless it is "mypyc"
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from typing import Any

# The modules of the bar loop. config.py (a pydantic model) and everything else stay Python.
MODULES = (
    "virtual",
    "barwalk",
    "entry",
    "records",
    "margin",
    "matching",
    "costs",
    "state_machine",
)
# One shared mypyc runtime library, kept inside the package (exchange/_native__mypyc.<abi>.so) so
# the compiled modules import from any working directory, not only from the repository root.
GROUP = "exchange._native"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
STAMP_NAME = ".native-build.json"
SUFFIX = EXTENSION_SUFFIXES[0]  # what setuptools names the built modules, e.g. .cpython-311-….so
BUILD_DIR = os.path.join("build", "native")


class StaleNativeBuild(ImportError):
    """A compiled exchange module no longer matches its .py source."""


def _hash(path: str) -> str:
    import hashlib

    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def compiled_modules(package_dir: str = PACKAGE_DIR) -> list[str]:
    """The core modules that have a compiled file next to their source (a stat each)."""
    return [m for m in MODULES if os.path.exists(os.path.join(package_dir, m + SUFFIX))]


def check_fresh(package_dir: str = PACKAGE_DIR) -> None:
    """Raise ``StaleNativeBuild`` when a compiled module's source changed after `make native`."""
    built = compiled_modules(package_dir)
    if not built:
        return
    import json

    stamp_path = os.path.join(package_dir, STAMP_NAME)
    try:
        with open(stamp_path, encoding="utf-8") as fh:
            recorded = json.load(fh)["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        raise StaleNativeBuild(
            f"exchange/{built[0]}{SUFFIX} has no build record (exchange/{STAMP_NAME}): "
            "it was not built by `make native`; run `make native` again, "
            "or `make clean-native` for pure Python"
        ) from None
    for name in built:
        source = os.path.join(package_dir, name + ".py")
        current = _hash(source) if os.path.exists(source) else None
        if current is None or recorded.get(name) != current:
            raise StaleNativeBuild(
                f"exchange/{name}.py changed after `make native`: run `make native` again, "
                "or `make clean-native` for pure Python"
            )


def core() -> str:
    """Which exchange core this process runs: "python", "mypyc", or "mixed" (a partial build)."""
    import importlib

    compiled = [
        (importlib.import_module(f"exchange.{m}").__file__ or "").endswith(SUFFIX) for m in MODULES
    ]
    if all(compiled):
        return "mypyc"
    return "mixed" if any(compiled) else "python"


def build() -> None:
    """Record the source hashes, then compile the core in place with mypyc (from the repo root).

    The hashes are taken BEFORE compiling: if a file is edited during the ~20 s build, the
    record no longer matches it and the guard refuses the build, whichever text mypyc read.
    """
    import json

    from mypyc.build import mypycify
    from setuptools import setup

    root = os.path.dirname(PACKAGE_DIR)
    os.chdir(root)
    sources = {m: _hash(os.path.join(PACKAGE_DIR, m + ".py")) for m in MODULES}
    stamp = {"python": sys.version.split()[0], "suffix": SUFFIX, "sources": sources}
    with open(os.path.join(PACKAGE_DIR, STAMP_NAME), "w", encoding="utf-8") as fh:
        json.dump(stamp, fh, indent=2, sort_keys=True)
        fh.write("\n")
    # mypyc and setuptools disagree on the Extension type (setuptools' vs distutils'); same object.
    extensions: Any = mypycify(
        [f"exchange/{m}.py" for m in MODULES], group_name=GROUP, target_dir=BUILD_DIR
    )
    setup(
        name="auraquant-exchange-native",
        script_args=[
            "build_ext",
            "--inplace",
            "--build-temp",
            os.path.join(BUILD_DIR, "temp"),
            "--build-lib",
            os.path.join(BUILD_DIR, "lib"),
        ],
        ext_modules=extensions,
    )


def main(argv: list[str]) -> int:
    if argv == ["build"]:
        build()
        return 0
    if argv == ["check"]:
        which = core()
        print(f"exchange core: {which}")
        return 0 if which == "mypyc" else 1
    print("usage: python -m exchange.native build|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
