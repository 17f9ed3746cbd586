"""Helpers for the connector tests: deliveries made to measure, a self-signed HTTPS server.

Every test talks to a real HTTP server on 127.0.0.1 (``pytest-httpserver``'s
``httpserver`` fixture), so requests go through the same client, TLS and socket
code as a real delivery.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app.core.partners import PartnerSettings
from app.outputs import http
from app.outputs.base import Delivery, Profile

SENT_AT = dt.datetime(2026, 12, 3, 1, 2, 3, tzinfo=dt.UTC)


def make_delivery(settings: PartnerSettings, *, adds: Sequence[Profile] = (),
                  deletes: Sequence[Profile] = (), secret: str | None = None,
                  key: str = "k-123", remote_state: dict[str, Any] | None = None) -> Delivery:
    """A delivery of the "Lapsed buyers" audience through the "Receiver" connection."""
    return Delivery(
        output_id="out-1", audience_id="aud-7", audience_name="Lapsed buyers",
        connection_id="con-3", connection_name="Receiver", settings=settings,
        secret=secret, adds=list(adds), deletes=list(deletes), idempotency_key=key,
        sent_at=SENT_AT, remote_state=remote_state or {},
    )


def profiles(count: int, prefix: str = "u") -> list[Profile]:
    """``count`` users, each with an email and a customer id."""
    return [Profile(f"{prefix}{n}", {"email": f"{prefix}{n}@example.com",
                                     "customer_id": f"C{n:07d}"}) for n in range(count)]


@pytest.fixture(autouse=True)
def fresh_client() -> Iterator[None]:
    """Each test starts with a new shared client (no connection kept from another test)."""
    http.close()
    yield
    http.close()


@contextmanager
def answering_late(httpserver: HTTPServer, path: str) -> Iterator[None]:
    """``path`` answers only after the block ends (the client has long given up by then).

    The server is single-threaded and logs a request once it is answered: the block
    releases the handler and waits for that entry, so the late request cannot show up
    in a later test's log.
    """
    release = threading.Event()

    def late(request: Request) -> Response:
        release.wait(timeout=30)
        return Response("late")

    httpserver.expect_request(path).respond_with_handler(late)
    try:
        yield
    finally:
        release.set()
        deadline = time.monotonic() + 10
        while not httpserver.log and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[HTTPServer]:
    """An HTTPS server on 127.0.0.1 whose certificate nobody vouches for (self-signed)."""
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


