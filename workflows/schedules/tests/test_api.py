"""/api/schedules/: list, create with an input, get, pause, resume, delete; every refusal
coded, nothing stored when refused; API keys see their capabilities' schedules only."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.factories import UserFactory, issue_key, staff_client
from workflows.schedules import services
from workflows.schedules.declarations import Declaration, temporarily_declared
from workflows.schedules.models import Schedule

pytestmark = pytest.mark.django_db

URL = "/api/schedules/"
ALL_PERMS = (
    "schedules.add_schedule",
    "schedules.change_schedule",
    "schedules.delete_schedule",
)


def _post(client: Client, url: str, body=None):
    return client.post(url, json.dumps(body) if body is not None else "", "application/json")


def _key_client(*scopes: str) -> Client:
    issued = issue_key(scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")


@pytest.fixture
def admin_client():
    return staff_client(*ALL_PERMS)


def test_create_get_list_pause_resume_delete(functions, admin_client, clock):
    created = _post(
        admin_client,
        URL,
        {
            "functionId": "t.sched.report",
            "cron": "0 9 * * 1-5",
            "timezone": "Europe/Berlin",
            "input": {"team": "ops"},
            "missed": {"policy": "catch_up", "limit": 3},
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    schedule_id = body["scheduleId"]
    assert created["Location"].endswith(f"{URL}{schedule_id}/")
    assert body["functionId"] == "t.sched.report"
    assert body["capability"] == "beta"
    assert body["input"] == {"team": "ops"}
    assert body["missed"] == {"policy": "catch_up", "limit": 3}
    assert body["paused"] is False
    assert body["nextFireAt"].endswith(("07:00:00Z", "08:00:00Z"))  # 09:00 Berlin
    assert body["lastFireAt"] is None
    assert body["runsCorrelationId"] == f"schedule:{schedule_id}"
    assert body["source"] == "api"
    assert body["createdBy"].startswith("user:")

    assert admin_client.get(f"{URL}{schedule_id}/").json() == body
    listed = admin_client.get(URL).json()
    assert [s["scheduleId"] for s in listed["results"]] == [schedule_id]

    paused = _post(admin_client, f"{URL}{schedule_id}/pause/")
    assert paused.status_code == 200
    assert paused.json()["paused"] is True
    assert paused.json()["pausedBy"].startswith("user:")
    resumed = _post(admin_client, f"{URL}{schedule_id}/resume/")
    assert resumed.json()["paused"] is False

    assert admin_client.delete(f"{URL}{schedule_id}/").status_code == 204
    assert not Schedule.objects.exists()
    assert admin_client.get(f"{URL}{schedule_id}/").status_code == 404


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"cron": "61 * * * *"}, "INVALID_CRON"),
        ({"cron": "* * *"}, "INVALID_CRON"),
        ({"cron": "0 0 31 2 *"}, "INVALID_CRON"),
        ({"timezone": "Mars/Olympus"}, "INVALID_TIMEZONE"),
        ({"missed": "sometimes"}, "INVALID_MISSED_POLICY"),
        ({"missed": {"policy": "catch_up", "limit": 0}}, "INVALID_MISSED_POLICY"),
        ({"functionId": "t.sched.nope"}, "FUNCTION_NOT_FOUND"),
        ({"input": {"team": 7}}, "BAD_REQUEST"),
        ({"input": None}, "BAD_REQUEST"),
        ({"cron": None}, "BAD_REQUEST"),
    ],
)
def test_bad_input_is_a_coded_400_and_stores_nothing(functions, admin_client, change, code):
    body = {"functionId": "t.sched.report", "cron": "* * * * *", "input": {"team": "ops"}}
    response = _post(admin_client, URL, {**body, **change})
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert set(response.json()) >= {"code", "status", "message"}
    assert not Schedule.objects.exists()


@pytest.mark.parametrize("raw", ["[1]", "not json", '{"cron": NaN}'])
def test_a_body_that_is_no_json_object_is_400(functions, admin_client, raw):
    response = admin_client.post(URL, raw, "application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


def test_unknown_and_malformed_ids(functions, admin_client):
    for method, suffix in (("get", ""), ("post", "pause/"), ("post", "resume/")):
        missing = getattr(admin_client, method)(f"{URL}sch_missing/{suffix}")
        assert missing.status_code == 404
        assert missing.json()["code"] == "SCHEDULE_NOT_FOUND"
    assert admin_client.delete(f"{URL}sch_missing/").json()["code"] == "SCHEDULE_NOT_FOUND"
    bad = admin_client.get(f"{URL}bad%20id!/")
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_SCHEDULE_ID"


def test_a_declared_schedule_is_paused_not_deleted(functions, admin_client):
    with temporarily_declared(Declaration("t.sched.ping", "*/5 * * * *")):
        services.schedules_sync_declared()
        response = admin_client.delete(f"{URL}declared.t.sched.ping/")
        assert response.status_code == 409
        assert response.json()["code"] == "SCHEDULE_DECLARED"
        assert _post(admin_client, f"{URL}declared.t.sched.ping/pause/").json()["paused"]


def test_who_may_call(functions, client):
    body = {"functionId": "t.sched.ping", "cron": "* * * * *"}
    assert client.get(URL).status_code == 401
    assert _post(client, URL, body).status_code == 401
    plain = Client()
    plain.force_login(UserFactory())
    assert plain.get(URL).status_code == 403
    viewer = staff_client()
    assert viewer.get(URL).status_code == 200  # any staff may read
    refused = _post(viewer, URL, body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    assert not Schedule.objects.exists()
    schedule = services.schedule_create(function_id="t.sched.ping", cron="* * * * *", by="t")
    assert _post(viewer, f"{URL}{schedule.pk}/pause/").status_code == 403
    assert viewer.delete(f"{URL}{schedule.pk}/").status_code == 403


def test_api_keys_manage_their_capabilities_schedules_only(functions):
    alpha = _key_client("alpha")
    mine = _post(alpha, URL, {"functionId": "t.sched.ping", "cron": "* * * * *"})
    assert mine.status_code == 201
    assert mine.json()["createdBy"].startswith("api_key:")
    # Another capability's function does not exist for this key.
    theirs = _post(
        alpha, URL, {"functionId": "t.sched.report", "cron": "* * * * *", "input": {"team": "x"}}
    )
    assert theirs.json()["code"] == "FUNCTION_NOT_FOUND"
    other = services.schedule_create(
        function_id="t.sched.report", cron="* * * * *", input={"team": "x"}, by="t"
    )
    assert [s["scheduleId"] for s in alpha.get(URL).json()["results"]] == [
        mine.json()["scheduleId"]
    ]
    for response in (
        alpha.get(f"{URL}{other.pk}/"),
        _post(alpha, f"{URL}{other.pk}/pause/"),
        alpha.delete(f"{URL}{other.pk}/"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "SCHEDULE_NOT_FOUND"
    other.refresh_from_db()
    assert not other.paused
