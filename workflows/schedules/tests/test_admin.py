"""Schedules in the console: listed under "Runs" with next and last fire and a link to
their runs; created through a checked form; paused and resumed by actions."""

from __future__ import annotations

from html import unescape

import pytest
from django.contrib.admin.models import LogEntry

from tests.factories import staff_client
from workflows.models import Run
from workflows.schedules import services
from workflows.schedules.models import Schedule
from workflows.schedules.scheduler import fire_due

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/schedules/schedule/"


def test_list_shows_next_and_last_fire_and_links_to_the_runs(functions, clock):
    schedule = services.schedule_create(function_id="t.sched.ping", cron="* * * * *", by="t")
    clock.advance(61)
    fire_due()
    schedule.refresh_from_db()
    client = staff_client("schedules.view_schedule", "workflows.view_run")
    page = unescape(client.get(CHANGELIST).content.decode())
    assert schedule.pk in page
    assert "* * * * * (UTC)" in page
    assert "Next fire at" in page and "Last fire at" in page
    runs_link = f"/admin/workflows/run/?q=schedule%3A{schedule.pk}"
    assert runs_link in page
    assert f"/admin/workflows/run/{schedule.last_run_id}/change/" in page

    # The link lists exactly this schedule's runs.
    runs = unescape(client.get(runs_link).content.decode())
    assert schedule.last_run_id in runs
    assert Run.objects.filter(correlation_id=f"schedule:{schedule.pk}").count() == 1

    index = client.get("/admin/").content.decode()
    assert CHANGELIST in index
    detail = client.get(f"{CHANGELIST}{schedule.pk}/change/")
    assert detail.status_code == 200
    assert schedule.function_id in detail.content.decode()


def test_add_form_refuses_a_bad_cron_with_its_code_and_stores_nothing(functions):
    client = staff_client("schedules.add_schedule", "schedules.view_schedule")
    form = {
        "function_id": "t.sched.report",
        "cron": "61 * * * *",
        "timezone": "UTC",
        "input": '{"team": "ops"}',
        "missed_policy": "skip",
        "catch_up_limit": "0",
    }
    page = client.post(f"{CHANGELIST}add/", form)
    assert page.status_code == 200
    assert "INVALID_CRON" in page.content.decode()
    assert not Schedule.objects.exists()
    page = client.post(f"{CHANGELIST}add/", {**form, "cron": "0 9 * * *", "timezone": "Nowhere"})
    assert "INVALID_TIMEZONE" in page.content.decode()

    created = client.post(f"{CHANGELIST}add/", {**form, "cron": "0 9 * * *"})
    assert created.status_code == 302
    (schedule,) = Schedule.objects.all()
    assert schedule.pk.startswith("sch_")
    assert (schedule.input, schedule.source) == ({"team": "ops"}, "api")
    assert schedule.created_by.startswith("user:")


def test_pause_and_resume_actions_go_through_the_service(functions):
    schedule = services.schedule_create(function_id="t.sched.ping", cron="* * * * *", by="t")
    client = staff_client("schedules.change_schedule", "schedules.view_schedule")
    client.post(CHANGELIST, {"action": "pause_schedules", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert schedule.paused
    assert schedule.paused_by.startswith("user:")
    assert LogEntry.objects.filter(object_id=schedule.pk).exists()
    client.post(CHANGELIST, {"action": "resume_schedules", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert not schedule.paused

    viewer = staff_client("schedules.view_schedule")
    viewer.post(CHANGELIST, {"action": "pause_schedules", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert not schedule.paused  # the action needs schedules.change_schedule
