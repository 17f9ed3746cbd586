"""Facebook Custom Audiences against a local stand-in for the Graph API: audience creation,
hashed and normalised rows, batching, and Facebook's error codes."""

from __future__ import annotations

import hashlib
import json

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

from app.core.partners import FacebookSettings
from app.outputs import http, registry
from app.outputs.base import Delivered, Fault, Profile, RetryAfter
from app.outputs.facebook import CONNECTOR, normal_email, normal_phone, row, sha256
from tests.outputs.conftest import answering_late, make_delivery, profiles

TOKEN = "EAAB-secret-access-token-123"
USERS = "/v21.0/6001/users"
KNOWN = {"custom_audience_id": "6001"}


def settings(httpserver: HTTPServer) -> FacebookSettings:
    return FacebookSettings(ad_account_id="1234", api_version="v21.0",
                            base_url=httpserver.url_for("/").rstrip("/"))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sent_payload(request: Request) -> dict[str, list[object]]:
    assert request.form["access_token"] == TOKEN
    found: dict[str, list[object]] = json.loads(request.form["payload"])
    return found


def graph_error(code: int, message: str = "Something", **extra: object) -> dict[str, object]:
    return {"error": {"message": message, "type": "OAuthException", "code": code,
                      "fbtrace_id": "A1b2", **extra}}


def test_registry_serves_the_facebook_connector() -> None:
    assert registry.connector("facebook_custom_audiences") is CONNECTOR


def test_identities_are_normalised_then_hashed() -> None:
    assert normal_email("  Ada.Lovelace@Example.COM \t") == "ada.lovelace@example.com"
    assert normal_email("not an email") is None
    assert normal_phone("+1 (555) 010-9999") == "15550109999"
    assert normal_phone("0044 20 7946 0958") == "442079460958"
    assert normal_phone("12-34") is None
    ada = Profile("u1", {"email": " ADA@example.com ", "mobile_number": "+1 555-010-9999"})
    assert row(ada) == [sha("ada@example.com"), sha("15550109999")]
    assert row(Profile("u2", {"customer_id": "C2"})) is None


def test_hashing_matches_a_published_sha256_value() -> None:
    """FIPS 180-2's example SHA-256("abc"), and a row hashes exactly the normalised text."""
    assert sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert row(Profile("u", {"email": " A@B.C "})) == [hashlib.sha256(b"a@b.c").hexdigest(), ""]


def test_first_delivery_creates_the_audience_then_adds_and_removes(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_ordered_request("/v21.0/act_1234/customaudiences", method="POST") \
        .respond_with_json({"id": "6001"})
    httpserver.expect_ordered_request(USERS, method="POST").respond_with_json(
        {"audience_id": "6001", "num_received": 2, "num_invalid_entries": 0})
    httpserver.expect_ordered_request(USERS, method="DELETE").respond_with_json(
        {"audience_id": "6001", "num_received": 1, "num_invalid_entries": 0})
    adds = [Profile("u1", {"email": " Ada@Example.com"}),
            Profile("u2", {"mobile_number": "+44 20 7946 0958", "email": "bob@example.com"}),
            Profile("u3", {"customer_id": "C3"})]  # nothing Facebook can match
    deletes = [Profile("u9", {"mobile_number": "+1 555 010 9999"})]

    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=adds, deletes=deletes,
                                          secret=TOKEN))

    assert result == Delivered(status=200, remote_state={"custom_audience_id": "6001"},
                               requests=3, skipped=1)
    create, add, delete = (request for request, _ in httpserver.log)
    assert create.form["name"] == "Lapsed buyers"
    assert create.form["subtype"] == "CUSTOM"
    assert create.form["customer_file_source"] == "USER_PROVIDED_ONLY"
    assert create.form["access_token"] == TOKEN
    assert "Receiver" in create.form["description"]
    assert sent_payload(add) == {
        "schema": ["EMAIL", "PHONE"],
        "data": [[sha("ada@example.com"), ""],
                 [sha("bob@example.com"), sha("442079460958")]],
    }
    assert sent_payload(delete) == {"schema": ["EMAIL", "PHONE"],
                                    "data": [["", sha("15550109999")]]}
    for request, _ in httpserver.log:
        assert TOKEN not in request.url  # the token travels in the body, not the address


def test_a_known_audience_is_not_created_again(httpserver: HTTPServer) -> None:
    httpserver.expect_request(USERS, method="POST").respond_with_json({"num_received": 1})
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1),
                                          secret=TOKEN, remote_state=KNOWN))
    assert result == Delivered(status=200, remote_state=None, requests=1)
    assert len(httpserver.log) == 1


def test_10001_rows_take_two_requests(httpserver: HTTPServer) -> None:
    httpserver.expect_request(USERS, method="POST").respond_with_json({})
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(10_001),
                                          secret=TOKEN, remote_state=KNOWN))
    assert result == Delivered(status=200, requests=2)
    sizes = [len(sent_payload(r)["data"]) for r, _ in httpserver.log]
    assert sizes == [10_000, 1]


def test_invalid_token_faults_without_the_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request(USERS).respond_with_json(
        graph_error(190, f"Error validating access token {TOKEN}", error_subcode=463),
        status=400)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1),
                                          secret=TOKEN, remote_state=KNOWN))
    assert isinstance(result, Fault) and result.status == 400
    assert "refused the access token" in result.reason
    assert TOKEN not in result.reason


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80003])
def test_rate_limits_are_retried(httpserver: HTTPServer, code: int) -> None:
    httpserver.expect_request(USERS).respond_with_json(
        graph_error(code, "Too many calls"), status=400,
        headers={"X-Business-Use-Case-Usage": json.dumps(
            {"1234": [{"type": "custom_audience", "call_count": 100,
                       "estimated_time_to_regain_access": 3}]})})
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1),
                                          secret=TOKEN, remote_state=KNOWN))
    assert isinstance(result, RetryAfter)
    assert (result.seconds, result.status) == (180.0, 400)
    assert f"error {code}" in result.reason


@pytest.mark.parametrize("code", [1, 2])
def test_transient_errors_are_retried(httpserver: HTTPServer, code: int) -> None:
    httpserver.expect_request(USERS).respond_with_json(
        graph_error(code, "Please retry your request later."), status=500)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1),
                                          secret=TOKEN, remote_state=KNOWN))
    assert isinstance(result, RetryAfter) and result.seconds is None


def test_other_errors_fault_with_facebooks_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request(USERS).respond_with_json(
        graph_error(100, "Invalid parameter", error_user_msg="The audience was deleted."),
        status=400)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1),
                                          secret=TOKEN, remote_state=KNOWN))
    assert result == Fault("Facebook refused the request (error 100): "
                           "“The audience was deleted.”", status=400)


def test_a_retry_after_creating_keeps_the_new_audience(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/v21.0/act_1234/customaudiences").respond_with_json(
        {"id": "6001"})
    httpserver.expect_ordered_request(USERS).respond_with_data("", status=503)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1),
                                          secret=TOKEN))
    assert isinstance(result, RetryAfter) and result.status == 503
    assert result.remote_state == {"custom_audience_id": "6001"}


def test_a_refused_creation_faults(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v21.0/act_1234/customaudiences").respond_with_json(
        graph_error(200, "Permissions error"), status=403)
    result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1),
                                          secret=TOKEN))
    assert isinstance(result, Fault) and "may not manage" in result.reason
    assert result.remote_state is None


def test_a_slow_graph_api_is_retried(httpserver: HTTPServer,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "DEFAULT_TIMEOUT_SECONDS", 0.2)
    with answering_late(httpserver, USERS):
        result = CONNECTOR.send(make_delivery(settings(httpserver), adds=profiles(1),
                                              secret=TOKEN, remote_state=KNOWN))
    assert isinstance(result, RetryAfter)
    assert "did not answer within 0.2 seconds" in result.reason


def test_connection_test_reads_the_ad_account(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v21.0/act_1234", method="GET",
                              query_string={"fields": "name", "access_token": TOKEN}) \
        .respond_with_json({"name": "Shop ads", "id": "act_1234"})
    assert CONNECTOR.test(settings(httpserver), TOKEN) == Delivered(status=200)


def test_connection_test_with_a_bad_token_faults(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v21.0/act_1234").respond_with_json(graph_error(190), status=400)
    result = CONNECTOR.test(settings(httpserver), "nope")
    assert isinstance(result, Fault) and "access token" in result.reason
