"""The HTTP side every web connector shares: one client, one reading of the answer.

One ``httpx.Client`` per process, created when the first request needs it (opening
the window or a connection form makes no client): it verifies TLS certificates,
keeps connections to a partner open between requests (a large delivery is many
requests to one host) and never follows redirects (a POST of audience data is
not replayed to an address nobody configured).

:func:`outcome` is the one place that decides what an answer means for the
dispatcher: acknowledged, worth retrying later, or a refusal that needs the
marketer. Its reasons are plain words, name the HTTP status, and never carry a
secret: they are shown on the output card and written to the delivery log.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import threading
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

import app
from app.outputs.base import Delivered, Fault, Outcome, RetryAfter

USER_AGENT = f"JourneyStudio/{app.__version__} (+audience forwarding)"
DEFAULT_TIMEOUT_SECONDS = 30.0
"""For partners whose settings have no timeout of their own (Facebook, Braze)."""
ERROR_TEXT_LENGTH = 200
"""How much of a partner's own error text a reason quotes."""
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
"""A longer Retry-After is read as this: a typo must not park an output for years."""

_client: httpx.Client | None = None
_client_pid: int | None = None
_client_lock = threading.Lock()

Answer = httpx.Response | Exception
"""What one request gave: the partner's response, or why there was none."""


def client() -> httpx.Client:
    """The process's shared client, made on first use (and again in a forked child).

    A child process must not reuse its parent's open sockets, so the client is
    per process id rather than per import.
    """
    global _client, _client_pid
    with _client_lock:
        if _client is None or _client_pid != os.getpid():
            _client = httpx.Client(
                verify=True,
                follow_redirects=False,
                timeout=DEFAULT_TIMEOUT_SECONDS,
                headers={"User-Agent": USER_AGENT},
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            )
            _client_pid = os.getpid()
        return _client


def close() -> None:
    """Close the shared client (at exit, or in tests); the next request makes a new one."""
    global _client, _client_pid
    with _client_lock:
        if _client is not None and _client_pid == os.getpid():
            _client.close()
        _client = None
        _client_pid = None


def request(method: str, url: str, *, timeout: float | None = None, **kwargs: Any) -> Answer:
    """One request on the shared client; the failure is returned, not raised.

    Connectors hand the result straight to :func:`outcome`, so a partner that is
    down never becomes a traceback in the dispatcher.
    """
    seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        return client().request(method, url, timeout=seconds, **kwargs)
    except (httpx.HTTPError, OSError) as failure:  # OSError: a socket error httpx let through
        return failure


def outcome(answer: Answer, *, partner: str = "The partner", secret: str | None = None,
            timeout: float | None = None) -> Outcome:
    """What ``answer`` means for the delivery, in words a marketer can act on.

    - 2xx: :class:`Delivered`;
    - 408, 429, 5xx, a timeout, a refused or cut connection: :class:`RetryAfter`
      (429 and 503 honour ``Retry-After``, in seconds or as an HTTP date);
    - 401/403: :class:`Fault`, the credentials were refused;
    - any other status, an unverifiable certificate, an unusable address:
      :class:`Fault` naming the status and the partner's own short error text.

    ``secret`` is blanked out of any text quoted from the partner (some echo the
    request back); ``timeout`` is only used to say how long was waited.
    """
    if isinstance(answer, httpx.Response):
        return _response_outcome(answer, partner, secret)
    return _failure_outcome(answer, partner, timeout)


def _response_outcome(response: httpx.Response, partner: str, secret: str | None) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Delivered(status=status)
    label = _status_label(response)
    if status in (401, 403):
        return Fault(f"{partner} refused the credentials ({label}): check the connection’s "
                     "secret and its permissions.", status=status)
    if status == 408 or status == 429 or status >= 500:
        wait = retry_after(response.headers) if status in (429, 503) else None
        what = ("is receiving too many requests" if status == 429
                else "did not take the request in time" if status == 408
                else "had a problem of its own")
        return RetryAfter(f"{partner} {what} ({label}).",
                          seconds=wait, status=status)
    if 300 <= status < 400:
        return Fault(f"{partner} answered with a redirect ({label}) to another address: "
                     "check the connection’s address.", status=status)
    detail = error_text(response, secret)
    tail = f": “{detail}”" if detail else "."
    return Fault(f"{partner} refused the request ({label}){tail}", status=status)


def _failure_outcome(failure: Exception, partner: str, timeout: float | None) -> Outcome:
    waited = f" within {timeout:g} seconds" if timeout else ""
    if isinstance(failure, httpx.TimeoutException):
        return RetryAfter(f"{partner} did not answer{waited}.")
    if _certificate_refused(failure):
        return Fault(f"{partner}’s TLS certificate could not be verified (self-signed, "
                     "expired or for another name), so nothing was sent.")
    if isinstance(failure, httpx.ConnectError):
        return RetryAfter(f"{partner} could not be reached ({_connect_problem(failure)}).")
    if isinstance(failure, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Fault(f"{partner}’s address cannot be used: check the connection’s address.")
    if isinstance(failure, httpx.TooManyRedirects):
        return Fault(f"{partner} keeps redirecting the request: check the connection’s address.")
    if isinstance(failure, httpx.HTTPError | OSError):
        return RetryAfter(f"The connection to {_lower_first(partner)} was cut before it "
                          "answered.")
    return RetryAfter(f"Sending to {_lower_first(partner)} failed unexpectedly "
                      f"({type(failure).__name__}).")


def _certificate_refused(failure: BaseException) -> bool:
    """Whether ``failure`` (or what caused it) is a refused TLS certificate."""
    seen: BaseException | None = failure
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or (
            "CERTIFICATE_VERIFY_FAILED" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _connect_problem(failure: httpx.ConnectError) -> str:
    """A few words on why a connection failed, without quoting the URL or a secret."""
    text = str(failure).lower()
    if "refused" in text:
        return "the connection was refused"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return "its address was not found"
    if "reset" in text:
        return "the connection was reset"
    if "unreachable" in text:
        return "the network is unreachable"
    return "no connection could be made"


def _status_label(response: httpx.Response) -> str:
    phrase = response.reason_phrase.strip()
    return f"HTTP {response.status_code} {phrase}" if phrase else f"HTTP {response.status_code}"


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if none.

    A date in the past gives 0; a wait longer than a day is read as a day.
    """
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


_MESSAGE_KEYS = ("message", "error_description", "error_message", "detail", "title", "error")


def error_text(response: httpx.Response, secret: str | None = None) -> str:
    """The partner's own short explanation of a refusal: one line, truncated, secret blanked.

    Looks for the usual fields of a JSON error (``message``, ``error.message``,
    ``detail`` …); a short plain-text body is quoted as it is; HTML is not quoted.
    """
    text = ""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    if body is not None:
        text = _message_in(body)
    elif "html" not in response.headers.get("content-type", "").lower():
        text = response.text
    return clean_text(text, secret)


def _message_in(body: Any, depth: int = 0) -> str:
    if isinstance(body, str):
        return body
    if depth > 3:
        return ""
    if isinstance(body, dict):
        for key in _MESSAGE_KEYS:
            if key in body:
                found = _message_in(body[key], depth + 1)
                if found:
                    return found
        if "errors" in body:
            return _message_in(body["errors"], depth + 1)
    if isinstance(body, list) and body:
        return _message_in(body[0], depth + 1)
    return ""


def clean_text(text: str, secret: str | None = None) -> str:
    """``text`` on one line, at most :data:`ERROR_TEXT_LENGTH` characters, without ``secret``."""
    if secret:
        text = text.replace(secret, "…")
    text = re.sub(r"\s+", " ", text).strip()
    if secret and len(secret) >= 8:  # a secret cut in two by the truncation must not leak either
        text = text.replace(secret[: len(secret) // 2], "…")
    if len(text) > ERROR_TEXT_LENGTH:
        text = text[: ERROR_TEXT_LENGTH - 1].rstrip() + "…"
    return text


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text.startswith("The ") else text
