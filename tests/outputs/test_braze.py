"""Braze's /users/track against a local stand-in: the array attribute, batching, its errors."""

from __future__ import annotations

import json
import time

from pytest_httpserver import HTTPServer
from werkzeug import Request

from app.core.partners import BrazeSettings
from app.outputs import registry
from app.outputs.base import Delivered, Fault, Profile, RetryAfter
from app.outputs.braze import CONNECTOR
from tests.outputs.conftest import make_delivery, profiles

KEY = "braze-rest-api-key-0123456789"


def settings(httpserver: HTTPServer, **extra: str) -> BrazeSettings:
    return BrazeSettings(rest_endpoint=httpserver.url_for("/").rstrip("/"), **extra)


def attributes(request: Request) -> list[dict[str, object]]:
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Content-Type"] == "application/json"
    found: list[dict[str, object]] = json.loads(request.get_data())["attributes"]
    return found


def test_registry_serves_the_braze_connector() -> None:
    assert registry.connector("braze") is CONNECTOR


def test_joiners_get_the_audience_added_and_leavers_removed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track", method="POST").respond_with_json(
        {"message": "success", "attributes_processed": 3}, status=201)
    adds = [Profile("u1", {"customer_id": "C1"}), Profile("u2", {"email": "b@example.com"})]
    deletes = [Profile("u9", {"customer_id": "C9"})]

    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=adds, deletes=deletes,
                                          secret=KEY))

    assert result == Delivered(status=201, requests=1)
    (request,) = (r for r, _ in httpserver.log)
    assert attributes(request) == [
        {"external_id": "C1", "journey_audiences": {"add": ["Lapsed buyers"]}},
        {"external_id": "u2", "journey_audiences": {"add": ["Lapsed buyers"]}},  # no customer id
        {"external_id": "C9", "journey_audiences": {"remove": ["Lapsed buyers"]}},
    ]


def test_the_attribute_and_external_id_come_from_the_settings(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track").respond_with_json({"message": "success"},
                                                                status=201)
    CONNECTOR.send(make_delivery(
        settings(httpserver, attribute="segments", external_id_from="email"),
        adds=[Profile("u1", {"email": "a@example.com", "customer_id": "C1"})], secret=KEY))
    (request,) = (r for r, _ in httpserver.log)
    assert attributes(request) == [{"external_id": "a@example.com",
                                    "segments": {"add": ["Lapsed buyers"]}}]


def test_76_users_take_two_requests(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track").respond_with_json({"message": "success"},
                                                                status=201)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(70),
                                          deletes=profiles(6, prefix="gone"), secret=KEY))
    assert result == Delivered(status=201, requests=2)
    sizes = [len(attributes(r)) for r, _ in httpserver.log]
    assert sizes == [75, 1]


def test_objects_braze_refused_are_counted_as_skipped(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track").respond_with_json(
        {"message": "success", "errors": [{"type": "'external_id' is invalid", "index": 1}]},
        status=201)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(2), secret=KEY))
    assert result == Delivered(status=201, requests=1, skipped=1)


def test_429_waits_for_braze_s_reset_time(httpserver: HTTPServer) -> None:
    reset = int(time.time()) + 30
    httpserver.expect_request("/users/track").respond_with_json(
        {"message": "Rate limit exceeded"}, status=429,
        headers={"X-RateLimit-Limit": "3000", "X-RateLimit-Remaining": "0",
                 "X-RateLimit-Reset": str(reset)})
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1), secret=KEY))
    assert isinstance(result, RetryAfter) and result.status == 429
    assert result.seconds is not None and 25 <= result.seconds <= 30


def test_429_with_retry_after_7(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track").respond_with_json(
        {"message": "Rate limit exceeded"}, status=429, headers={"Retry-After": "7"})
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1), secret=KEY))
    assert isinstance(result, RetryAfter) and result.seconds == 7.0


def test_500_is_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track").respond_with_data("", status=500)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1), secret=KEY))
    assert isinstance(result, RetryAfter) and result.status == 500


def test_401_faults_without_the_key(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track").respond_with_json(
        {"message": f"Invalid API key: {KEY}"}, status=401)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1), secret=KEY))
    assert isinstance(result, Fault) and result.status == 401
    assert "refused the credentials" in result.reason and KEY not in result.reason


def test_a_fatal_400_faults_with_braze_s_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track").respond_with_json(
        {"message": "Valid data must be provided in the 'attributes' field."}, status=400)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1), secret=KEY))
    assert result == Fault("Braze refused the request (HTTP 400 BAD REQUEST): “Valid data "
                           "must be provided in the 'attributes' field.”", status=400)


def test_connection_test_creates_no_user(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track").respond_with_json(
        {"message": "success", "attributes_processed": 0}, status=201)
    assert CONNECTOR.test(settings(httpserver), KEY) == Delivered(status=201)
    (request,) = (r for r, _ in httpserver.log)
    assert attributes(request) == [{"external_id": "journey-studio-connection-test",
                                    "_update_existing_only": True}]


def test_connection_test_with_a_wrong_key_faults(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users/track").respond_with_json({"message": "nope"},
                                                                status=401)
    result = CONNECTOR.test(settings(httpserver), "wrong")
    assert isinstance(result, Fault) and result.status == 401
