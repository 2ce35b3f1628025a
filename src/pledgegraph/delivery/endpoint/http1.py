"""HTTP/1.1 for `serve`: asyncio connections parsed by httptools (llhttp, Node's C parser), on uvloop where installed.

Hypercorn cost ~1.2 ms of pure-Python work per new connection (h11, its task groups and events), more
than Virtuoso's whole answer to `ASK {}` (1.07 ms at 1M); a bare asyncio server with this parser takes
0.35 ms on uvloop (docs/performance.md, "Serve, round 5"). What Hypercorn gave by construction is
kept here, each limit one field of `Limits`:
- a connection costs no thread; complete headers are due `header_seconds` from connection open (or
  from the end of the previous answer), one deadline that no dripped byte resets (slowloris);
- the request line and headers are capped (`max_headers`, 431 beyond), checked as bytes arrive;
- `Content-Length` is parsed strictly by llhttp (digits only, one value; 400 otherwise);
- a body over `max_body` is refused unread (the handler answers 413 from the header) and the
  connection closed; a chunked body is not read either (the handler answers 411); a body must
  arrive within `body_seconds` (408);
- an answer must be taken by the client within `send_seconds` (the connection is dropped);
- at most `max_per_client` requests in flight per client address (429) and `max_active` in all (503).
Pipelined requests are answered in order, one at a time per connection (reading pauses meanwhile).
"""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.parse
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Callable, Protocol

import httptools


@dataclass(frozen=True)
class Limits:
    max_headers: int  # request line and headers, bytes
    max_body: int  # request body bytes read (the handler refuses larger ones from Content-Length)
    header_seconds: float  # from connection open (or the last answer) to complete headers
    body_seconds: float  # from complete headers to a complete body
    send_seconds: float  # to write an answer out
    max_per_client: int  # requests in flight per client address
    max_active: int  # requests in flight in all


class Answer(Protocol):
    status: int
    body: bytes

    def all_headers(self) -> dict[str, str]: ...


class Headers(dict):
    """Request headers by case-insensitive name; repeated headers joined with commas."""

    def add(self, name: bytes, value: bytes) -> None:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        self[key] = f"{self[key]}, {text}" if key in self else text

    def get(self, name: str, default=None):
        return super().get(name.lower(), default)


def form_fields(text: str) -> dict[str, list[str]]:
    """`urllib.parse.parse_qs(text, keep_blank_values=True)`: a query string's (or a form body's) fields, each
    name with its values in order. Each field is unquoted by the `unicode_escape` codec in C (`%XX` written
    as `\\xXX`, backslashes doubled, then the bytes read as UTF-8), not by urllib's loop over every escape:
    a 3 KB library query 63 µs → 13 µs, on every query a client sends. A field that is not plain ASCII, or
    has a `%` without two hex digits after it, is left to urllib (the same answer, the slow way)."""
    fields: dict[str, list[str]] = {}
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            fields.setdefault(_unquote_plus(name), []).append(_unquote_plus(value))
    return fields


def _unquote_plus(text: str) -> str:
    if "%" not in text:
        return text.replace("+", " ")
    try:
        escaped = text.replace("+", " ").replace("\\", "\\\\").replace("%", "\\x").encode("ascii")
        return escaped.decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")
    except UnicodeError:  # not ASCII, or "%" not followed by two hex digits
        return urllib.parse.unquote_plus(text)


@dataclass
class Request:
    method: str
    target: str
    headers: Headers
    body: bytes
    client: str
    keep_alive: bool


# handle(method, target, headers, read_body, client) -> the answer; run on a thread (it may wait on a query worker)
Handler = Callable[[str, str, Headers, Callable[[int], bytes], str], Answer]


@dataclass
class _Plain:
    """An answer of this layer's own (limits, bad requests): one line of text."""

    status: int
    body: bytes
    extra: dict[str, str]

    def all_headers(self) -> dict[str, str]:
        return {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(len(self.body)), **self.extra}


def plain(status: int, message: str, **headers: str) -> _Plain:
    return _Plain(status, f"{status} {HTTPStatus(status).phrase}: {message}\n".encode(), headers)


class Http1:
    """Serves `handle` on a listening socket until `stop` is set; `log` gets one line per answer."""

    def __init__(self, handle: Handler, limits: Limits, log: Callable[[str], None] | None = None):
        self.handle, self.limits, self.log = handle, limits, log
        self.per_client: Counter[str] = Counter()
        self.active = 0
        self.executor = ThreadPoolExecutor(limits.max_active, thread_name_prefix="pledgegraph-request")
        self.connections: set[_Connection] = set()
        self._date = (0, "")

    def date(self) -> str:
        """The Date header, made once a second."""
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, formatdate(now, usegmt=True))
        return self._date[1]

    async def serve(self, sock: socket.socket, backlog: int, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=backlog)
        try:
            await stop.wait()
        finally:
            server.close()
            for connection in list(self.connections):
                connection.close_when_idle()
            deadline = loop.time() + 1.0  # requests in flight get a second to finish
            while any(c.task for c in self.connections) and loop.time() < deadline:
                await asyncio.sleep(0.02)
            for connection in list(self.connections):
                connection.transport.abort()

    async def answer(self, request: Request) -> Answer:
        """The handler's answer on a thread, within the admission limits."""
        client, limits = request.client, self.limits
        if self.per_client[client] >= limits.max_per_client:
            return plain(
                429, f"at most {limits.max_per_client} requests at once from one address", **{"Retry-After": "1"}
            )
        if self.active >= limits.max_active:
            return plain(503, "too many requests at once", **{"Retry-After": "1"})
        self.per_client[client] += 1
        self.active += 1
        try:
            body = request.body
            return await asyncio.get_running_loop().run_in_executor(
                self.executor, self.handle, request.method, request.target, request.headers, lambda n: body[:n], client
            )
        finally:
            self.active -= 1
            self.per_client[client] -= 1
            if not self.per_client[client]:
                del self.per_client[client]


class _Connection(asyncio.Protocol):
    """One client connection: parse, queue complete requests, answer them in order."""

    def __init__(self, server: Http1):
        self.server, self.limits = server, server.limits
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Request | _Plain] = deque()
        self.task: asyncio.Task | None = None
        self.reading = True  # False once nothing more is read from this connection (its last request is queued)
        self.in_head = True  # between requests or inside a request's line and headers
        self.head_bytes = 0  # bytes received in the current head
        self.url = b""
        self.headers = Headers()
        self.body: list[bytes] = []
        self.body_size = 0
        self.refuse_body = False
        self.timer: asyncio.TimerHandle | None = None
        self.writable: asyncio.Future | None = None
        self.over_limit: _Plain | None = None  # set by a callback that stops the parser on a limit
        self.closed = False

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.loop = asyncio.get_running_loop()
        peer = transport.get_extra_info("peername")
        self.client = peer[0] if isinstance(peer, tuple) else ""
        self.server.connections.add(self)
        self._deadline(self.limits.header_seconds, self._head_too_slow)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self.timer:
            self.timer.cancel()
        if self.writable and not self.writable.done():
            self.writable.set_result(None)
        if self.task:
            self.task.cancel()  # a handler already on its thread finishes there; its answer is dropped

    def data_received(self, data: bytes) -> None:
        if not self.reading:
            return
        if self.in_head:
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._stop_reading()  # no protocol switch: the requests so far are answered, then the connection closes
            if self.task is None:
                self.transport.close()
        except httptools.HttpParserError as e:
            self._reject(self.over_limit or plain(400, f"malformed request ({e})"))
            return
        if self.reading and self.in_head and self.head_bytes > self.limits.max_headers:
            self._reject(plain(431, f"the request line and headers exceed {self.limits.max_headers} bytes"))

    def pause_writing(self) -> None:
        self.writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.writable and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None

    # -- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.in_head, self.url, self.headers = True, b"", Headers()
        self.body, self.body_size, self.refuse_body = [], 0, False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.add(name, value)

    def on_headers_complete(self) -> None:
        head = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        if head > self.limits.max_headers:
            self.over_limit = plain(431, f"the request line and headers exceed {self.limits.max_headers} bytes")
            raise httptools.HttpParserError("headers too large")
        self.in_head, self.head_bytes = False, 0
        self._deadline(self.limits.body_seconds, self._body_too_slow)
        length = self.headers.get("content-length")
        if self.headers.get("transfer-encoding") or (length and int(length) > self.limits.max_body):
            # refused from its headers by the handler (411, 413): queued now, the body never read
            self.refuse_body = True
            self._queue(self._request(keep_alive=False))
            self._stop_reading()
            return
        if (self.headers.get("expect") or "").lower() == "100-continue" and length and int(length) > 0:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size > self.limits.max_body:
            self.over_limit = plain(413, f"the request body exceeds {self.limits.max_body} bytes")
            raise httptools.HttpParserError("body too large")
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.refuse_body:
            return
        self._cancel_deadline()
        self.in_head = True
        self._queue(self._request(keep_alive=self.parser.should_keep_alive()))

    # -- answering ---------------------------------------------------------------------------

    def _request(self, keep_alive: bool) -> Request:
        return Request(
            self.parser.get_method().decode("latin-1"),
            self.url.decode("latin-1"),
            self.headers,
            b"".join(self.body),
            self.client,
            keep_alive,
        )

    def _queue(self, item: Request | _Plain) -> None:
        self.queue.append(item)
        if self.task is None:
            self.transport.pause_reading()  # one request at a time: pipelined ones wait in the socket
            self.task = self.loop.create_task(self._answer_queue())

    async def _answer_queue(self) -> None:
        try:
            while self.queue and not self.closed:
                item = self.queue.popleft()
                if isinstance(item, _Plain):
                    await self._write(item, "", "", keep_alive=False)
                    return
                answer = await self.server.answer(item)
                if not await self._write(answer, item.method, item.target, item.keep_alive):
                    return
        finally:
            self.task = None
        if self.closed:
            return
        if not self.reading:
            self.transport.close()
            return
        if self.in_head:  # waiting for the next request's headers: one deadline from this answer
            self.head_bytes = 0
            self._deadline(self.limits.header_seconds, self._head_too_slow)
        self.transport.resume_reading()

    async def _write(self, answer: Answer, method: str, target: str, keep_alive: bool) -> bool:
        """Send one answer; whether the connection stays open for the next request."""
        headers = answer.all_headers()
        # a request refused after this one (queued) is still answered before the connection closes
        keep_alive = keep_alive and (self.reading or bool(self.queue)) and headers.get("Connection") != "close"
        if not keep_alive:
            headers["Connection"] = "close"
        head = [f"HTTP/1.1 {answer.status} {_phrase(answer.status)}\r\nDate: {self.server.date()}\r\n"]
        head += [f"{name}: {value}\r\n" for name, value in headers.items()]
        # head and body in one call: one system call (writev), so the client wakes once, to the whole answer
        self.transport.writelines(["".join(head).encode("latin-1") + b"\r\n", b"" if method == "HEAD" else answer.body])
        if self.writable is not None:  # the client reads slower than we write: it has send_seconds in all
            try:
                async with asyncio.timeout(self.limits.send_seconds):
                    while self.writable is not None and not self.closed:
                        await self.writable
            except TimeoutError:
                self.transport.abort()
                return False
        if self.server.log:
            self.server.log(f'{self.client} "{method} {target.partition("?")[0]}" {answer.status} {len(answer.body)}')
        if not keep_alive:
            self._stop_reading()
            self.transport.close()
        return keep_alive

    # -- limits ------------------------------------------------------------------------------

    def _deadline(self, seconds: float, then: Callable[[], None]) -> None:
        self._cancel_deadline()
        self.timer = self.loop.call_later(seconds, then)

    def _cancel_deadline(self) -> None:
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def _head_too_slow(self) -> None:
        if self.task is None:
            self.transport.close()  # as Hypercorn: an idle or dripping connection is closed without a word

    def _body_too_slow(self) -> None:
        self._reject(plain(408, f"the body did not arrive within {self.limits.body_seconds:g} s", Connection="close"))

    def _reject(self, answer: _Plain) -> None:
        """Answer a request this layer refuses (after those queued before it), then close."""
        self._stop_reading()
        self._queue(answer)

    def _stop_reading(self) -> None:
        self.reading = False
        self._cancel_deadline()

    def close_when_idle(self) -> None:
        self._stop_reading()
        if self.task is None:
            self.transport.close()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where installed (Linux, macOS), else asyncio's: 0.63 -> 0.35 ms a bare request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
