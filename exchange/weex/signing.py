"""Request signing (weex-api §2): ``base64(HMAC-SHA256(secret, ts + METHOD + path [+ "?" + qs]
+ body))`` with millisecond timestamps, sent in the ``ACCESS-*`` headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode


def prehash(ts_ms: str, method: str, path: str, query: str = "", body: str = "") -> str:
    """The string WEEX signs: the query joins with ``?`` only when non-empty."""
    return ts_ms + method.upper() + path + (("?" + query) if query else "") + body


def sign(secret: str, ts_ms: str, method: str, path: str, query: str = "", body: str = "") -> str:
    """``ACCESS-SIGN`` for one request."""
    digest = hmac.new(
        secret.encode(), prehash(ts_ms, method, path, query, body).encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def now_ms() -> str:
    """The 13-digit millisecond timestamp WEEX wants in ``ACCESS-TIMESTAMP``."""
    return str(int(time.time() * 1000))


def encode_query(params: dict[str, Any] | None) -> str:
    """The query string, built once and used for both the URL and the signature (None values
    dropped, order kept as given)."""
    if not params:
        return ""
    return urlencode([(k, _scalar(v)) for k, v in params.items() if v is not None])


def encode_body(body: dict[str, Any] | None) -> str:
    """The exact JSON sent on the wire (compact separators; the signature covers these bytes)."""
    if body is None:
        return ""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def auth_headers(
    *, api_key: str, secret: str, passphrase: str, ts_ms: str, method: str, path: str,
    query: str = "", body: str = "", locale: str = "en-US",
) -> dict[str, str]:  # fmt: skip
    """The headers of a signed request."""
    return {
        "ACCESS-KEY": api_key,
        "ACCESS-SIGN": sign(secret, ts_ms, method, path, query, body),
        "ACCESS-TIMESTAMP": ts_ms,
        "ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
        "locale": locale,
    }


def verify(secret: str, signature: str, ts_ms: str, method: str, path: str, query: str,
           body: str) -> bool:  # fmt: skip
    """True when ``signature`` is this request's (constant-time compare)."""
    return hmac.compare_digest(sign(secret, ts_ms, method, path, query, body), signature)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
