"""The shared reading of partners' answers (app.outputs.http), against a real server."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_httpserver import HTTPServer

from app.outputs import http
from app.outputs.base import Delivered, Fault, RetryAfter


def answer(httpserver: HTTPServer, status: int, body: str = "", **headers: str) -> object:
    httpserver.expect_request("/x").respond_with_data(body, status=status, headers=headers)
    return http.outcome(http.request("GET", httpserver.url_for("/x")), partner="Braze",
                        secret="s3cr3t-token")


@pytest.fixture
def keep_alive_server() -> Iterator[tuple[str, list[int]]]:
    """An HTTP/1.1 server that keeps connections open; it notes each request's client port.

    (pytest-httpserver's server closes every connection, so it cannot show reuse.)
    """
    ports: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            ports.append(self.client_address[1])
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", ports
    server.shutdown()
    server.server_close()


def test_the_client_is_shared_and_reuses_its_connection(
    keep_alive_server: tuple[str, list[int]],
) -> None:
    url, ports = keep_alive_server
    assert http.client() is http.client()
    for _ in range(3):
        assert isinstance(http.request("GET", url), http.httpx.Response)
    assert len(ports) == 3 and len(set(ports)) == 1  # one connection carried all three


@pytest.mark.parametrize("status", [200, 201, 204])
def test_2xx_is_delivered(httpserver: HTTPServer, status: int) -> None:
    assert answer(httpserver, status) == Delivered(status=status)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_retried(httpserver: HTTPServer, status: int) -> None:
    result = answer(httpserver, status)
    assert isinstance(result, RetryAfter) and result.status == status


def test_retry_after_as_an_http_date(httpserver: HTTPServer) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    result = answer(httpserver, 429, **{"Retry-After": format_datetime(when, usegmt=True)})
    assert isinstance(result, RetryAfter) and result.seconds is not None
    assert 110 <= result.seconds <= 121


def test_retry_after_values() -> None:
    assert http.retry_after({"retry-after": "7"}) == 7.0
    assert http.retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert http.retry_after({"retry-after": "soon"}) is None
    assert http.retry_after({"retry-after": "-3"}) == 0.0
    assert http.retry_after({"retry-after": "99999999"}) == http.MAX_RETRY_AFTER_SECONDS
    assert http.retry_after({}) is None


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_fault_on_the_credentials(httpserver: HTTPServer, status: int) -> None:
    result = answer(httpserver, status, '{"message": "Invalid API key: s3cr3t-token"}',
                    **{"Content-Type": "application/json"})
    assert isinstance(result, Fault)
    assert result.reason.startswith(f"Braze refused the credentials (HTTP {status}")
    assert "s3cr3t" not in result.reason


def test_an_html_error_page_is_not_quoted(httpserver: HTTPServer) -> None:
    result = answer(httpserver, 404, "<html><body>Not here</body></html>",
                    **{"Content-Type": "text/html"})
    assert result == Fault("Braze refused the request (HTTP 404 NOT FOUND).", status=404)


def test_a_redirect_is_not_followed(httpserver: HTTPServer) -> None:
    result = answer(httpserver, 302, Location="http://elsewhere.invalid/")
    assert isinstance(result, Fault) and "redirect (HTTP 302" in result.reason


@pytest.fixture
def cutting_server() -> Iterator[int]:
    """A server that accepts a connection, reads the request and closes without answering."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        with listener:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()
    thread.join(timeout=5)


def test_a_connection_cut_before_the_answer_is_retried(cutting_server: int) -> None:
    result = http.outcome(http.request("GET", f"http://127.0.0.1:{cutting_server}/"),
                          partner="The webhook")
    assert isinstance(result, RetryAfter)
    assert "connection to the webhook was cut" in result.reason


def test_an_unusable_address_faults() -> None:
    result = http.outcome(http.request("GET", "ftp://example.com/"), partner="The webhook")
    assert isinstance(result, Fault) and "address cannot be used" in result.reason


def test_clean_text_is_short_single_line_and_secret_free() -> None:
    text = http.clean_text("token  abcdefgh12345678\nexpired " + "y" * 400, "abcdefgh12345678")
    assert "abcdefgh" not in text and "\n" not in text
    assert len(text) == http.ERROR_TEXT_LENGTH
