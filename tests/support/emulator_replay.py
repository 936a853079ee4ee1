"""A retried call whose earlier attempt the tests' emulator completed gets that attempt's answer again.

Seen in the promotion rehearsal under load (moto 5.2.5, werkzeug's server): terraform's CreateTable reached
moto, which made the table and answered 200, but the answer never reached the client (the server closes
every connection after its answer; on a loaded machine the close can reset the connection before the
client has read it). The SDK then retried the same call, and moto answered ResourceInUseException: the
approved apply failed on a fault of the test's server, not of the pipeline.

AWS's SDKs send every attempt of one call with the same ``amz-sdk-invocation-id`` and an
``amz-sdk-request: attempt=N`` header. A client retries an answer it received only when it was a 5xx or a
throttle; so a later attempt of a call whose first answer was anything else means that answer was lost,
and it is answered again as it was. Reads (GET, HEAD) are left alone: repeating them is harmless.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

KEEP = 1024  # answers kept: far more than the calls in flight at once in any test
_READS = {"GET", "HEAD"}
_ANSWERS: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
_LOCK = threading.Lock()


def _call_id(environ: dict[str, Any]) -> str | None:
    """The SDK's id of the call this request is an attempt of (None: a read, or a client that sends none)."""
    if environ.get("REQUEST_METHOD") in _READS:
        return None
    invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
    return f"{invocation} {environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}" if invocation else None


def _attempt(environ: dict[str, Any]) -> int:
    """``attempt=N`` of the ``amz-sdk-request`` header (1 when absent)."""
    for part in str(environ.get("HTTP_AMZ_SDK_REQUEST", "")).split(";"):
        name, _, value = part.strip().partition("=")
        if name == "attempt" and value.isdigit():
            return int(value)
    return 1


def _replayable(status: str) -> bool:
    """An answer a client does not retry once it has it (a 5xx or a throttle it may retry on purpose)."""
    code = int(status.split(" ", 1)[0])
    return code < 500 and code != 429


def wrap(serve: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """``serve`` (a WSGI callable taking ``self`` first), answering a retried call from its kept answer."""

    def call(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        call_id = _call_id(environ)
        if call_id is None:
            return serve(self, environ, start_response)
        if _attempt(environ) > 1:
            with _LOCK:
                kept = _ANSWERS.get(call_id)
            if kept is not None:
                status, headers, body = kept
                start_response(status, headers)
                return [body]
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def record(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.append((status, list(headers)))
            return start_response(status, headers, exc_info)

        body = b"".join(serve(self, environ, record))
        if answered and _replayable(answered[-1][0]):
            with _LOCK:
                _ANSWERS[call_id] = (answered[-1][0], answered[-1][1], body)
                while len(_ANSWERS) > KEEP:
                    _ANSWERS.popitem(last=False)
        return [body]

    return call


def install() -> None:
    """Put the replay in front of moto's WSGI app (in the emulator's process, before it serves)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    DomainDispatcherApplication.__call__ = wrap(DomainDispatcherApplication.__call__)  # type: ignore[method-assign]
