"""The exchange contract and its implementations (virtual, WEEX) and the executor."""

# A compiled core (`make native`) must match its sources, or the import stops here: a stale
# .so would silently run old code. A few stat calls when nothing is compiled (exchange/NATIVE.md).
from exchange.native import check_fresh as _check_fresh

_check_fresh()
