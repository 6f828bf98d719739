"""One structured-output model call, made solid: method per provider, retries, repair, abstain.

``call_structured`` asks a chat model for one of the draft schemas and returns an
:class:`Answer`:

- the reply is bound with the method the provider supports (``json_schema`` with strict
  schemas for OpenAI-compatible servers and Gemini, ``json_mode`` for servers that only know
  ``{"type": "json_object"}``, ``function_calling`` for tool calling; the offline desk plays
  through tool calls);
- the reply is read tolerantly (:func:`parse_reply`): a tool call's arguments, or JSON in the
  text — bare, inside a ```json fence, or with prose around it;
- a reply that still does not validate gets **one repair turn** quoting the error; a second
  failure is an *abstention* (``Answer.value is None``, ``abstained=True``) — never a silent
  default;
- transient provider errors (429, 5xx, timeouts, refused connections) are retried with tenacity,
  exponential backoff, honouring ``Retry-After``; anything else, or a transient error that
  outlasts the retries, raises :class:`ModelCallError` naming the seat, the provider and the
  error class.

Every call made (first try and repair) comes back as a :class:`CallRecord`: model id, the model
version the server returned, prompt hash, tokens, latency, cost, whether it came from the cache.
"""

from __future__ import annotations

import email.utils
import hashlib
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.utils.function_calling import convert_to_openai_function
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

Method = Literal["json_schema", "json_mode", "function_calling"]
METHODS: tuple[Method, ...] = ("json_schema", "json_mode", "function_calling")
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
MAX_RETRY_AFTER = 60.0
"""A server asking for a longer pause than this is not waited for: the call fails."""

REPAIR = """Your previous reply could not be used: {error}
Reply again with exactly one JSON object for {name} that matches the schema: every field \
present, no prose and no code fences around it."""

JSON_MODE_HINT = """Reply with one JSON object (no prose, no code fences) matching this JSON \
schema for {name}:
{schema}"""


class ModelCallError(RuntimeError):
    """A model call that failed for good: the provider refused, timed out, or could not be
    reached (after the retries), or the model could not be built (credentials, package)."""

    def __init__(
        self,
        *,
        seat: str,
        model_id: str,
        kind: str,
        error_class: str,
        message: str,
        attempts: int = 0,
    ) -> None:
        self.seat = seat
        self.model_id = model_id
        self.provider = model_id.partition(":")[0] or model_id
        self.kind = kind
        self.error_class = error_class
        self.message = " ".join(message.split())[:500]
        self.attempts = attempts
        super().__init__(
            f"{seat}: {self.provider} model {model_id} failed ({kind}, {error_class}): "
            f"{self.message}"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across worker processes
        return (_model_call_error, (self.seat, self.model_id, self.kind, self.error_class,
                                    self.message, self.attempts))  # fmt: skip


def _model_call_error(
    seat: str, model_id: str, kind: str, error_class: str, message: str, attempts: int
) -> ModelCallError:
    return ModelCallError(
        seat=seat, model_id=model_id, kind=kind, error_class=error_class, message=message,
        attempts=attempts,
    )  # fmt: skip


@dataclass(frozen=True)
class CallPolicy:
    """Timeout and retry policy of every model call (from settings / ``--llm-timeout``)."""

    timeout: float = 30.0
    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    sleep: Callable[[float], None] = time.sleep


@dataclass
class CallRecord:
    """One request to a model, as the AI log keeps it."""

    seat: str
    schema: str
    model_id: str
    method: str
    attempt: int  # 1 = first ask, 2 = the repair turn
    model_version: str | None
    prompt_sha256: str
    prompt_chars: int
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int
    latency_s: float
    cost: float
    cached: bool
    transport_attempts: int
    parse_error: str | None = None
    reply: Any = None
    started: str = ""

    def as_log(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """What a seat said: a validated schema instance, or an abstention with the reason."""

    value: BaseModel | None
    calls: list[CallRecord] = field(default_factory=list)
    abstained: bool = False
    error: str | None = None
    skipped: str | None = None  # set when a budget refused the call before it was made


# --- binding -------------------------------------------------------------------------------
def bind_structured(model: Any, schema: type[BaseModel], method: Method) -> Any:
    """The chat model bound to answer ``schema`` with ``method``: the provider's own
    ``with_structured_output`` binding (strict JSON schema, JSON mode or a forced tool call)
    without its parser, so the raw reply can be read tolerantly and repaired."""
    kwargs: dict[str, Any] = {"method": method}
    target: Any = schema
    if method == "json_schema" and _is_openai(model):
        # as a response_format dict, not the class: with the class the OpenAI SDK parses the
        # reply itself and raises on fenced or prose-wrapped JSON before we can read it
        fn = convert_to_openai_function(schema, strict=True)
        target = {
            "type": "json_schema",
            "json_schema": {
                "name": fn["name"],
                "description": fn.get("description", ""),
                "schema": fn["parameters"],
                "strict": True,
            },
        }
        return model.bind(response_format=target)
    runnable = model.with_structured_output(target, **kwargs)
    first = getattr(runnable, "first", None)
    if first is None:  # pragma: no cover - every LangChain chat model returns a sequence
        raise TypeError(f"{type(model).__name__}.with_structured_output is not a sequence")
    return first


def _is_openai(model: Any) -> bool:
    return type(model).__name__ in {"ChatOpenAI", "AzureChatOpenAI"}


def method_for(provider: str, configured: str = "auto") -> Method:
    """The structured-output method: the configured one, else the provider's best."""
    if configured and configured != "auto":
        if configured not in METHODS:
            raise ValueError(
                f"structured-output method {configured!r}: use auto, {', '.join(METHODS)}"
            )
        return configured  # type: ignore[return-value]
    if provider == "offline":
        return "function_calling"
    return "json_schema"


# --- reading replies -----------------------------------------------------------------------
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


def reply_text(message: BaseMessage) -> str:
    """The text of a reply (content parts joined)."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for p in content:
        if isinstance(p, str):
            parts.append(p)
        elif isinstance(p, dict) and isinstance(p.get("text"), str):
            parts.append(p["text"])
    return "".join(parts)


def _objects(text: str) -> Iterator[str]:
    """Each balanced ``{...}`` in ``text``, outermost first (strings and escapes respected)."""
    start = text.find("{")
    while start != -1:
        depth, in_str, esc = 0, False, False
        for i in range(start, len(text)):
            c = text[i]
            if in_str:
                if esc:
                    esc = False
                elif c == "\\":
                    esc = True
                elif c == '"':
                    in_str = False
            elif c == '"':
                in_str = True
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    yield text[start : i + 1]
                    break
        start = text.find("{", start + 1)


def extract_json(text: str) -> Any:
    """JSON from a reply: bare, in a code fence, or the first object inside prose."""
    stripped = text.strip()
    candidates = [stripped]
    candidates += [m.strip() for m in _FENCE.findall(stripped)]
    candidates += list(itertools.islice(_objects(stripped), 20))
    error: json.JSONDecodeError | None = None
    for c in candidates:
        if not c:
            continue
        try:
            return json.loads(c)
        except json.JSONDecodeError as exc:
            error = error or exc
    if not stripped:
        raise ValueError("the reply was empty")
    raise ValueError(f"no JSON object in the reply ({error}): {stripped[:200]!r}")


def refusal_of(message: BaseMessage) -> str | None:
    """The provider's refusal text, when it refused (OpenAI's ``refusal`` field)."""
    refusal = message.additional_kwargs.get("refusal")
    if refusal:
        return str(refusal)
    if isinstance(message.content, list):
        for p in message.content:
            if isinstance(p, dict) and p.get("type") == "refusal":
                return str(p.get("refusal") or "refused")
    return None


def parse_reply(
    message: BaseMessage, schema: type[BaseModel]
) -> tuple[BaseModel | None, str | None]:
    """``(value, None)`` or ``(None, why not)`` for one reply."""
    refusal = refusal_of(message)
    if refusal:
        return None, f"the model refused: {refusal[:300]}"
    data: Any
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        call = next((c for c in calls if c.get("name") == schema.__name__), calls[0])
        data = call.get("args")
    else:
        try:
            data = extract_json(reply_text(message))
        except ValueError as exc:
            return None, str(exc)[:1500]
    if isinstance(data, dict) and schema.__name__ in data and len(data) == 1:
        data = data[schema.__name__]  # some servers wrap the object in its name
    try:
        return schema.model_validate(data), None
    except ValidationError as exc:
        return None, _validation_text(exc)


def _validation_text(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}" for e in exc.errors()[:8]
    ]
    return ("invalid reply: " + "; ".join(parts))[:1500]


# --- transport errors ----------------------------------------------------------------------
def _names(exc: BaseException) -> list[str]:
    return [c.__name__ for e in causes(exc) for c in type(e).__mro__]


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (LangChain wrappers keep the SDK's error as the cause)."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 8:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def status_of(exc: BaseException) -> int | None:
    for e in causes(exc):
        for attr in ("status_code", "code", "status"):
            v = getattr(e, attr, None)
            if isinstance(v, int) and 100 <= v < 600:
                return v
    return None


def error_kind(exc: BaseException) -> str:
    """A short class of provider error, for the record and the message."""
    names = _names(exc)
    status = status_of(exc)
    text = str(exc).lower()
    if any("Timeout" in n for n in names) or isinstance(exc, TimeoutError):
        return "timeout"
    if any(n in {"APIConnectionError", "ConnectError", "ConnectionError"} for n in names):
        return "connection"
    if status == 429:
        return "rate_limited"
    if status is not None and status >= 500:
        return "server_error"
    if status in (401, 403) or "api key" in text or "api_key" in text or "credential" in text:
        return "credentials"
    if status is not None and 400 <= status < 500:
        return "bad_request"
    return "error"


def is_transient(exc: BaseException) -> bool:
    """Worth another try: a timeout, a refused/broken connection, 429 or a 5xx."""
    status = status_of(exc)
    if status is not None:
        return status in TRANSIENT_STATUS or status >= 500
    return error_kind(exc) in {"timeout", "connection"}


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked to wait (``Retry-After``/``retry-after-ms``), if any."""
    if exc is None:
        return None
    headers = None
    for e in causes(exc):
        headers = getattr(getattr(e, "response", None), "headers", None)
        if headers is not None:
            break
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        raw = headers.get("retry-after")
    except Exception:
        return None
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_wait(policy: CallPolicy) -> Callable[[RetryCallState], float]:
    """Exponential backoff, or the server's ``Retry-After`` when it names one."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after(exc)
        if asked is not None:
            return min(asked, MAX_RETRY_AFTER)
        return float(min(policy.max_backoff, policy.backoff * 2 ** (state.attempt_number - 1)))

    return wait


def _retryable(exc: BaseException) -> bool:
    asked = retry_after(exc)
    return is_transient(exc) and (asked is None or asked <= MAX_RETRY_AFTER)


def invoke_with_retries(
    bound: Any, messages: Sequence[BaseMessage], policy: CallPolicy, *, seat: str, model_id: str
) -> tuple[AIMessage, int]:
    """``bound.invoke(messages)`` under the retry policy; ``(reply, attempts)``."""
    retrying = Retrying(
        stop=stop_after_attempt(policy.max_retries + 1),
        wait=backoff_wait(policy),
        retry=retry_if_exception(_retryable),
        sleep=policy.sleep,
        reraise=True,
    )
    attempts = 0
    try:
        for attempt in retrying:
            with attempt:
                attempts += 1
                reply = bound.invoke(list(messages))
    except Exception as exc:
        raise ModelCallError(
            seat=seat,
            model_id=model_id,
            kind=error_kind(exc),
            error_class=type(exc).__name__,
            message=str(exc) or type(exc).__name__,
            attempts=attempts,
        ) from exc
    if not isinstance(reply, AIMessage):
        raise ModelCallError(
            seat=seat, model_id=model_id, kind="error", error_class=type(reply).__name__,
            message="the model returned no message", attempts=attempts,
        )  # fmt: skip
    return reply, attempts


# --- accounting ----------------------------------------------------------------------------
def prompt_hash(messages: Sequence[BaseMessage]) -> str:
    return hashlib.sha256("\x00".join(str(m.content) for m in messages).encode()).hexdigest()


def usage_of(reply: AIMessage) -> tuple[int, int, int]:
    """(prompt, completion, cached prompt) tokens the server reported (0 when it did not)."""
    u: Mapping[str, Any] = reply.usage_metadata or {}
    details: Mapping[str, Any] = u.get("input_token_details") or {}
    return (
        int(u.get("input_tokens") or 0),
        int(u.get("output_tokens") or 0),
        int(details.get("cache_read") or 0),
    )


def model_version_of(reply: AIMessage) -> str | None:
    meta = reply.response_metadata or {}
    for k in ("model_name", "model_version", "model"):
        if meta.get(k):
            return str(meta[k])
    return None


def cost_of(
    prices: Mapping[str, Sequence[float]], model_id: str, prompt: int, completion: int
) -> float:
    """USD for one call from a price table ``{model: [input, output] per 1M tokens}``, looked
    up by the full id (``openai:gpt-4o-mini``) then the bare name; unknown models cost 0."""
    name = model_id.partition(":")[2]
    price = prices.get(model_id) or prices.get(name)
    if not price:
        return 0.0
    return round((prompt * float(price[0]) + completion * float(price[1])) / 1_000_000, 8)


# --- the call ------------------------------------------------------------------------------
BudgetCheck = Callable[[], str | None]


def _schema_hint(schema: type[BaseModel]) -> HumanMessage:
    return HumanMessage(
        JSON_MODE_HINT.format(
            name=schema.__name__, schema=json.dumps(schema.model_json_schema(), sort_keys=True)
        )
    )


def call_structured(
    model: Any,
    schema: type[BaseModel],
    messages: Sequence[BaseMessage],
    *,
    seat: str,
    model_id: str,
    method: Method,
    policy: CallPolicy,
    prices: Mapping[str, Sequence[float]] | None = None,
    budget: BudgetCheck | None = None,
    on_call: Callable[[CallRecord], None] | None = None,
    bound: Any = None,
) -> Answer:
    """Ask ``model`` for ``schema``: one call, one repair turn if the reply is invalid, then
    abstain. ``budget`` is asked before every call (a reason string refuses it: the answer
    comes back ``skipped``), ``on_call`` is told of every call made. Provider failures raise
    :class:`ModelCallError`."""
    bound = bound if bound is not None else bind_structured(model, schema, method)
    msgs = list(messages)
    if method == "json_mode":
        msgs.append(_schema_hint(schema))
    answer = Answer(value=None)
    error: str | None = None
    for attempt in (1, 2):
        refused = budget() if budget is not None else None
        if refused:
            answer.skipped = refused
            answer.error = error
            return answer
        started = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        t0 = time.perf_counter()
        reply, tries = invoke_with_retries(bound, msgs, policy, seat=seat, model_id=model_id)
        latency = time.perf_counter() - t0
        value, error = parse_reply(reply, schema)
        p, c, cached_tokens = usage_of(reply)
        answer.calls.append(
            CallRecord(
                seat=seat, schema=schema.__name__, model_id=model_id, method=method,
                attempt=attempt, model_version=model_version_of(reply),
                prompt_sha256=prompt_hash(msgs), prompt_chars=sum(len(str(m.content)) for m in msgs),
                prompt_tokens=p, completion_tokens=c, cached_prompt_tokens=cached_tokens,
                latency_s=round(latency, 4), cost=cost_of(prices or {}, model_id, p, c),
                cached=bool((reply.response_metadata or {}).get("auraquant_cache_hit")),
                transport_attempts=tries, parse_error=error,
                reply=value.model_dump() if value is not None else reply_text(reply)[:2000],
                started=started,
            )
        )  # fmt: skip
        if on_call is not None:
            on_call(answer.calls[-1])
        if value is not None:
            answer.value = value
            return answer
        said = reply_text(reply) or json.dumps(
            [tc.get("args") for tc in reply.tool_calls], default=str
        )
        msgs = [
            *msgs,
            AIMessage(said[:4000] or "(empty reply)"),
            HumanMessage(REPAIR.format(error=error, name=schema.__name__)),
        ]
    answer.abstained = True
    answer.error = error
    return answer
