"""Typed WEEX errors: each carries WEEX's ``code`` and ``msg`` and the HTTP status.

Which are retried (weex-api §14): network failures, 5xx (521 included), 429. Authentication
codes (400xx) are fatal. ``WeexAmbiguous`` means a request may or may not have reached the
exchange (a write must be looked up before it is retried).
"""

from __future__ import annotations

from typing import Any

from exchange.errors import ExchangeError

AUTH_CODES = frozenset(
    {"40001", "40002", "40003", "40005", "40006", "40007", "40008", "40009", "40011", "40012",
     "40013", "40014", "40016", "40018", "40022", "40753", "50003", "50004"}
)  # fmt: skip
NOT_FOUND_CODES = frozenset({"50005"})


class WeexError(ExchangeError):
    """An error answer from WEEX (or the transport): ``code``, ``msg`` and ``http_status``."""

    retryable = False

    def __init__(self, code: str, msg: str, *, http_status: int | None = None,
                 path: str = "") -> None:  # fmt: skip
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.path = path
        where = f" on {path}" if path else ""
        status = f"HTTP {http_status}, " if http_status is not None else ""
        super().__init__(f"WEEX {status}code {code}{where}: {msg}")


class WeexAuthError(WeexError):
    """Bad key, passphrase, signature or timestamp, or a key without permission: fatal."""


class WeexNotFound(WeexError):
    """The order does not exist (50005)."""


class WeexBusinessError(WeexError):
    """A business rejection (40015 and friends): the request was understood and refused."""

    @property
    def preset_rejected(self) -> bool:
        """True when the message says the preset TP/SL was refused (weex-api §5)."""
        text = self.msg.upper()
        return "INVALID_ARGUMENT" in text or "PRESET" in text


class WeexRateLimited(WeexError):
    """HTTP 429 (or code 429): wait, then retry."""

    retryable = True


class WeexServerError(WeexError):
    """HTTP 5xx, 521 (IP not whitelisted) included: retried with backoff."""

    retryable = True


class WeexNetworkError(WeexError):
    """Connection refused, reset or timed out. ``ambiguous`` when the request may have been
    received (anything after the request was sent)."""

    retryable = True

    def __init__(self, msg: str, *, path: str = "", ambiguous: bool = True) -> None:
        self.ambiguous = ambiguous
        super().__init__("NETWORK", msg, path=path)
        self.args = (f"{msg} (on {path})" if path else msg,)

    def __str__(self) -> str:
        return str(self.args[0])


class WeexConfigError(WeexError):
    """Missing or malformed settings (no key, bad base URL): fails before any request."""

    def __init__(self, field: str, msg: str) -> None:
        self.field = field
        super().__init__("CONFIG", f"{field}: {msg}")
        self.args = (f"{field}: {msg}",)

    def __str__(self) -> str:
        return str(self.args[0])


class WeexResponseError(WeexError):
    """A 2xx answer whose body is not what the endpoint documents."""


def error_for(http_status: int, body: Any, path: str) -> WeexError:
    """The typed error for a non-success answer (``body`` parsed JSON, or raw text)."""
    code, msg = _code_msg(body, http_status)
    if http_status == 429 or code == "429":
        return WeexRateLimited(code, msg, http_status=http_status, path=path)
    if http_status >= 500:
        return WeexServerError(code, msg, http_status=http_status, path=path)
    if code in AUTH_CODES or http_status in (401, 403):
        return WeexAuthError(code, msg, http_status=http_status, path=path)
    if code in NOT_FOUND_CODES or http_status == 404:
        return WeexNotFound(code, msg, http_status=http_status, path=path)
    return WeexBusinessError(code, msg, http_status=http_status, path=path)


def _code_msg(body: Any, http_status: int) -> tuple[str, str]:
    if isinstance(body, dict):
        code = body.get("code")
        msg = body.get("msg") or body.get("message") or body.get("err_msg") or ""
        return (str(code) if code is not None else str(http_status)), str(msg)
    text = str(body or "").strip()
    return str(http_status), (text[:300] or "no body")
