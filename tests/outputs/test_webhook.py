"""The webhook connector against a real receiver on 127.0.0.1: payload, signature, batching,
and every kind of answer a receiver (or its absence) can give."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

from app.core.partners import WebhookSettings
from app.outputs import registry
from app.outputs.base import Delivered, Fault, Profile, RetryAfter
from app.outputs.webhook import CONNECTOR
from tests.outputs.conftest import SENT_AT, answering_late, make_delivery, profiles

SECRET = "whsec-very-secret-value"


def settings(url: str, timeout: float = 5.0) -> WebhookSettings:
    return WebhookSettings(url=url, timeout_seconds=timeout)


def received(httpserver: HTTPServer) -> list[Request]:
    return [request for request, _ in httpserver.log]


def verify_signature(request: Request, secret: str) -> int:
    """Check the request's signature as a receiver would; the signed time."""
    header = request.headers["X-Journey-Signature"]
    parts = dict(part.split("=", 1) for part in header.split(","))
    signed = parts["t"].encode() + b"." + request.get_data()
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["sha256"], expected)
    return int(parts["t"])


def test_registry_serves_the_webhook_connector() -> None:
    assert registry.connector("webhook") is CONNECTOR


def test_a_delivery_is_one_signed_firehose_request(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_json({"ok": True})
    ada = Profile("u1", {"email": "ada@example.com", "customer_id": "C1"})
    bob = Profile("u2", {})
    delivery = make_delivery(settings(httpserver.url_for("/hook")), adds=[ada], deletes=[bob],
                             secret=SECRET, key="key-1")

    before = int(time.time())
    result = CONNECTOR.send(delivery)

    assert result == Delivered(status=200, requests=1)
    (request,) = received(httpserver)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "key-1"
    assert request.headers["User-Agent"].startswith("JourneyStudio/")
    assert before <= verify_signature(request, SECRET) <= int(time.time())
    assert json.loads(request.get_data()) == {
        "type": "audience_membership_change_request",
        "id": "key-1",
        "timestamp_ms": int(SENT_AT.timestamp() * 1000),
        "account": {"connection_id": "con-3", "connection_name": "Receiver"},
        "user_profiles": [
            {
                "mpid": "u1",
                "user_identities": [
                    {"type": "customer_id", "encoding": "raw", "value": "C1"},
                    {"type": "email", "encoding": "raw", "value": "ada@example.com"},
                ],
                "audiences": [{"audience_id": "aud-7", "audience_name": "Lapsed buyers",
                               "action": "add"}],
            },
            {
                "mpid": "u2",
                "user_identities": [],
                "audiences": [{"audience_id": "aud-7", "audience_name": "Lapsed buyers",
                               "action": "delete"}],
            },
        ],
    }


def test_a_signature_made_with_another_secret_does_not_verify(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    CONNECTOR.send(make_delivery(settings(httpserver.url_for("/hook")),
                                 adds=profiles(1), secret=SECRET))
    (request,) = received(httpserver)
    with pytest.raises(AssertionError):
        verify_signature(request, "another-secret")


def test_without_a_secret_no_signature_is_sent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=202)
    result = CONNECTOR.send(make_delivery(settings(httpserver.url_for("/hook")),
                                          adds=profiles(1)))
    assert result == Delivered(status=202, requests=1)
    (request,) = received(httpserver)
    assert "X-Journey-Signature" not in request.headers


def test_10001_profiles_take_two_requests_with_numbered_keys(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_json({})
    delivery = make_delivery(settings(httpserver.url_for("/hook")), adds=profiles(9_000),
                             deletes=profiles(1_001, prefix="gone"), secret=SECRET, key="big")

    result = CONNECTOR.send(delivery)

    assert result == Delivered(status=200, requests=2)
    first, second = received(httpserver)
    assert [first.headers["Idempotency-Key"], second.headers["Idempotency-Key"]] == \
        ["big-0", "big-1"]
    bodies = [json.loads(r.get_data()) for r in (first, second)]
    assert [b["id"] for b in bodies] == ["big-0", "big-1"]
    assert [len(b["user_profiles"]) for b in bodies] == [10_000, 1]
    sent = [(p["mpid"], p["audiences"][0]["action"]) for b in bodies for p in b["user_profiles"]]
    assert sent == [(f"u{n}", "add") for n in range(9_000)] + \
        [(f"gone{n}", "delete") for n in range(1_001)]
    for request in (first, second):
        verify_signature(request, SECRET)


def test_a_delivery_sent_again_carries_the_same_keys(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_json({})
    delivery = make_delivery(settings(httpserver.url_for("/hook")), adds=profiles(10_001),
                             key="again")
    CONNECTOR.send(delivery)
    CONNECTOR.send(delivery)
    keys = [r.headers["Idempotency-Key"] for r in received(httpserver)]
    assert keys == ["again-0", "again-1", "again-0", "again-1"]


def test_500_is_retried_later(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("boom", status=500)
    result = CONNECTOR.send(make_delivery(settings(httpserver.url_for("/hook")),
                                          adds=profiles(1)))
    assert isinstance(result, RetryAfter)
    assert result.status == 500 and result.seconds is None
    assert "HTTP 500" in result.reason


def test_a_failed_second_request_stops_the_delivery(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_json({})
    httpserver.expect_ordered_request("/hook").respond_with_data("", status=503)
    result = CONNECTOR.send(make_delivery(settings(httpserver.url_for("/hook")),
                                          adds=profiles(10_001)))
    assert isinstance(result, RetryAfter) and result.status == 503


def test_429_honours_retry_after_seconds(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"})
    result = CONNECTOR.send(make_delivery(settings(httpserver.url_for("/hook")),
                                          adds=profiles(1)))
    assert result == RetryAfter(result.reason, seconds=7.0, status=429)
    assert "too many requests" in result.reason


def test_401_faults_without_showing_the_secret(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_json(
        {"error": f"bad signature for secret {SECRET}"}, status=401)
    result = CONNECTOR.send(make_delivery(settings(httpserver.url_for("/hook")),
                                          adds=profiles(1), secret=SECRET))
    assert isinstance(result, Fault) and result.status == 401
    assert "refused the credentials (HTTP 401" in result.reason
    assert SECRET not in result.reason


def test_other_4xx_faults_quoting_the_receivers_words(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_json(
        {"error": {"message": f"unknown audience; you sent {SECRET} " + "x" * 500}},
        status=422)
    result = CONNECTOR.send(make_delivery(settings(httpserver.url_for("/hook")),
                                          adds=profiles(1), secret=SECRET))
    assert isinstance(result, Fault) and result.status == 422
    assert result.reason.startswith("The webhook refused the request (HTTP 422")
    assert "unknown audience" in result.reason
    assert SECRET not in result.reason
    assert len(result.reason) < 300


def test_a_receiver_slower_than_the_timeout_is_retried(httpserver: HTTPServer) -> None:
    with answering_late(httpserver, "/hook"):
        result = CONNECTOR.send(make_delivery(
            settings(httpserver.url_for("/hook"), timeout=0.2), adds=profiles(1)))
    assert isinstance(result, RetryAfter)
    assert "did not answer within 0.2 seconds" in result.reason


def test_a_refused_connection_is_retried(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/hook"
    result = CONNECTOR.send(make_delivery(settings(url), adds=profiles(1), secret=SECRET))
    assert isinstance(result, RetryAfter)
    assert "could not be reached (the connection was refused)" in result.reason
    assert SECRET not in result.reason


def test_a_self_signed_certificate_is_refused(https_server: HTTPServer) -> None:
    https_server.expect_request("/hook").respond_with_json({})
    url = https_server.url_for("/hook")
    assert url.startswith("https://")
    result = CONNECTOR.send(make_delivery(settings(url), adds=profiles(1)))
    assert isinstance(result, Fault)
    assert "certificate could not be verified" in result.reason
    assert not https_server.log  # nothing reached the receiver


def test_an_empty_delivery_sends_nothing(httpserver: HTTPServer) -> None:
    result = CONNECTOR.send(make_delivery(settings(httpserver.url_for("/hook"))))
    assert result == Delivered(status=None, requests=0)
    assert not httpserver.log


def test_connection_test_posts_a_signed_test_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_json({})
    result = CONNECTOR.test(settings(httpserver.url_for("/hook")), SECRET)
    assert result == Delivered(status=200)
    (request,) = received(httpserver)
    message = json.loads(request.get_data())
    assert message["type"] == "test"
    assert request.headers["Idempotency-Key"] == message["id"]
    verify_signature(request, SECRET)


def test_connection_test_reports_a_refusal(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("no", status=403)
    result = CONNECTOR.test(settings(httpserver.url_for("/hook")), "wrong")
    assert isinstance(result, Fault) and result.status == 403
