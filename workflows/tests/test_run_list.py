"""The run list as staff use it: columns, every filter and search key, bad values, paging."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coordination.run_columns import WORKFLOW_ID
from tests.factories import staff_client as staff
from workflows import testing, trigger
from workflows.admin.paging import EstimatedCountPaginator
from workflows.admin.run_list import register_run_subject, temporarily_registered_subject
from workflows.models import Run
from workflows.testing import drain

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/workflows/run/"




def start(function_id: str, input=None, **kwargs) -> Run:
    run = trigger(function_id, input or {}, **kwargs).run
    drain()
    run.refresh_from_db()
    return run




def listed(client: Client, query: str) -> set[str]:
    response = client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200, (query, response.status_code)
    return {run.pk for run in response.context["cl"].result_list}


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def coordination_run(workflow_id: str) -> Run:
    """A queued run of the desk-graph executor that stays queued (its message is dropped,
    as when the broker is down), so later ``drain()`` calls leave it alone."""
    run = trigger("coordination.run", {"workflowId": workflow_id, "workflowVersion": 1}).run
    testing.pending[:] = [item for item in testing.pending if item[0] != run.pk]
    return run


# -- columns ------------------------------------------------------------------------------
def test_columns_show_short_copyable_id_function_workflow_status_and_correlation(
    functions,
) -> None:
    done = start("t.admin.greet", correlation_id="cid-columns-0123456789abcdef")
    failed = start("t.admin.broken")
    review = coordination_run("linear-review")

    response = staff(superuser=True).get(CHANGELIST)

    page = response.content.decode()
    headers = [str(h["text"]) for h in response.context["result_headers"] if h["text"]]
    assert headers[1:] == [
        "run id",
        "function",
        "workflow id",
        "status",
        "started",
        "duration",
        "attempts",
        "correlation id",
    ]
    assert f'data-copy="{done.pk}"' in page, "the copy button carries the full id"
    assert f">{done.pk[:12]}…</span>" in page, "the visible id is short"
    assert f'href="{reverse("admin:workflows_run_change", args=[quote(done.pk)])}"' in page
    assert 'class="rawr-badge rawr-failed">failed<' in page
    assert "t.admin.broken" in page and failed.pk in page
    assert 'href="?workflow_id=linear-review"' in page, "the coordination run's workflow id"
    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert WORKFLOW_ID.display(rows[review.pk]) == "linear-review"
    assert WORKFLOW_ID.display(rows[done.pk]) == "", "blank for other functions"
    assert "cid-columns-01…" in page and 'title="cid-columns-0123456789abcdef"' in page


def test_a_run_with_odd_stored_input_still_lists(functions) -> None:
    run = coordination_run("fine")
    Run.objects.filter(pk=run.pk).update(input=["not", "a", "dict", None, "<b>x</b>"])
    response = staff(superuser=True).get(CHANGELIST)
    assert response.status_code == 200
    assert run.pk in response.content.decode()


# -- filters ------------------------------------------------------------------------------
def test_every_filter_narrows_the_list(functions) -> None:
    done = start("t.admin.greet")
    failed = start("t.admin.broken")
    waiting = start("t.admin.wait")
    review = coordination_run("linear-review")
    other = coordination_run("fan-out")
    old = start("t.admin.greet")
    Run.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    stuck = start("t.admin.wait")
    Run.objects.filter(pk=stuck.pk).update(
        status="running", lease_expires_at=timezone.now() - timedelta(minutes=5)
    )
    client = staff(superuser=True)
    everything = {done.pk, failed.pk, waiting.pk, review.pk, other.pk, old.pk, stuck.pk}

    assert listed(client, "") == everything
    assert listed(client, "status=failed") == {failed.pk}
    assert listed(client, "status=queued") == {review.pk, other.pk}
    assert listed(client, "capability=beta") == {waiting.pk, stuck.pk}
    assert listed(client, "function_id=t.admin.greet") == {done.pk, old.pk}
    assert listed(client, "workflow_id=linear-review") == {review.pk}
    assert listed(client, "workflow_id=nope") == set()
    assert listed(client, "since=1h") == everything - {old.pk}
    assert listed(client, "since=24h") == everything - {old.pk}
    assert listed(client, "since=7d") == everything
    two_days_ago = (timezone.now() - timedelta(days=2)).isoformat()
    assert listed(client, f"until={two_days_ago}".replace("+", "%2B")) == {old.pk}
    assert listed(client, f"since={two_days_ago}".replace("+", "%2B")) == everything - {old.pk}
    # An offset whose "+" arrived unencoded (a space) is still read as the offset.
    assert listed(client, f"until={two_days_ago}") == {old.pk}
    assert listed(client, f"until={timezone.now().date() + timedelta(days=1)}") == everything
    assert listed(client, "has_error=yes") == {failed.pk}
    assert failed.pk not in listed(client, "has_error=no")
    assert listed(client, "stuck=yes") == {stuck.pk}
    assert listed(client, "function_id=t.admin.greet&since=1h") == {done.pk}


def test_sidebar_links_and_inputs_use_the_console_parameters(functions) -> None:
    start("t.admin.greet")
    page = staff(superuser=True).get(f"{CHANGELIST}?status=completed").content.decode()
    for link in (
        "?status=waiting",
        "?since=1h&amp;status=completed",
        "?since=24h&amp;status=completed",
        "?since=7d&amp;status=completed",
        "?function_id=t.admin.greet&amp;status=completed",
        "?capability=beta&amp;status=completed",
        "?has_error=yes&amp;status=completed",
        "?status=completed&amp;stuck=yes",
    ):
        assert f'href="{link}"' in page, link
    assert 'name="workflow_id"' in page and 'name="since"' in page and 'name="until"' in page
    assert '<input type="hidden" name="status" value="completed">' in page


BAD_VALUES = [
    ("status=exploded", "Unknown status 'exploded'"),
    ("since=yesterday", "since='yesterday' is not a time"),
    ("since=2026-13-45", "since='2026-13-45' is not a time"),
    ("until=soon", "until='soon' is not a time"),
    ("has_error=maybe", "has_error='maybe': use yes or no"),
    ("stuck=no", "stuck='no': use stuck=yes"),
    ("workflow_id=" + "x" * 300, "longer than 255 characters"),
]


def test_a_bad_filter_value_lists_nothing_and_says_why(functions) -> None:
    start("t.admin.greet")
    client = staff(superuser=True)
    for query, message in BAD_VALUES:
        response = client.get(f"{CHANGELIST}?{query}")

        assert response.status_code == 200, query
        assert list(response.context["cl"].result_list) == [], query
        shown = page_messages(response)
        assert any(message in m and "No runs are listed" in m for m in shown), (query, shown)
    # A NUL character never reaches a filter: every view answers 400 for it.
    response = client.get(f"{CHANGELIST}?function_id=a%00b")
    assert response.status_code == 400
    assert "query string contains a NUL character" in response.content.decode()


def test_unknown_parameters_and_djangos_error_flag_become_a_message(functions) -> None:
    done = start("t.admin.greet")
    client = staff(superuser=True)

    response = client.get(f"{CHANGELIST}?status=completed&colour=blue", follow=True)
    assert response.redirect_chain == [(f"{CHANGELIST}?status=completed", 302)]
    assert any("Ignored unknown filter(s): colour" in m for m in page_messages(response))
    assert {run.pk for run in response.context["cl"].result_list} == {done.pk}

    # Django sends lookups it could not apply to "?e=1" (and a second failure to a
    # "Database error" page); the run list says so and shows the list instead.
    flagged = client.get(f"{CHANGELIST}?status=completed&e=1&p=3", follow=True)
    assert flagged.redirect_chain == [(f"{CHANGELIST}?status=completed", 302)]
    assert any("first page" in m for m in page_messages(flagged))
    assert "Database error" not in flagged.content.decode()


# -- search -------------------------------------------------------------------------------
def test_search_by_id_prefix_correlation_id_and_idempotency_key(functions) -> None:
    by_cid = start("t.admin.greet", correlation_id="cid-search")
    by_key = start("t.admin.greet", idempotency_key="order-42")
    other = start("t.admin.broken")
    client = staff(superuser=True)

    assert listed(client, f"q={other.pk}") == {other.pk}
    assert listed(client, f"q={other.pk[:10]}") >= {other.pk}
    assert listed(client, f"q={other.pk[:14]}") == {other.pk}
    assert listed(client, "q=cid-search") == {by_cid.pk}
    assert listed(client, "q=order-42") == {by_key.pk}
    assert listed(client, "q=cid-sea") == set(), "correlation ids match exactly"
    assert listed(client, "q=ORDER-42") == set(), "idempotency keys match exactly"
    assert listed(client, "q=nothing-like-this") == set()
    assert listed(client, "q=cid-search&function_id=t.admin.broken") == set()


def test_search_and_filters_hit_an_index_not_a_scan(functions) -> None:
    """Which index the planner picks on a tiny table varies; that it can avoid a scan
    does not. (At 1,000,000 runs ``workflow_id=`` uses ``coord_run_workflow_created``.)"""
    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    start("t.admin.greet", correlation_id="cid-plan", idempotency_key="key-plan")
    coordination_run("plan-me")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'coord_run_workflow_created'"
        )
        (definition,) = cursor.fetchone()
        assert "(input ->> 'workflowId'::text)" in definition
        assert "WHERE ((function_id)::text = 'coordination.run'::text)" in definition
        cursor.execute("SET enable_seqscan = off")  # the tiny table would scan anyway
        try:
            for query in ("q=cid-plan", "q=key-plan", "q=run_abc", "workflow_id=plan-me"):
                client = staff(superuser=True)
                with CaptureQueriesContext(connection) as queries:
                    client.get(f"{CHANGELIST}?{query}")
                sql = next(
                    q["sql"]
                    for q in queries.captured_queries
                    if q["sql"].startswith('SELECT "workflows_run"."id"')
                    and "COUNT(" not in q["sql"]
                )
                cursor.execute(f"EXPLAIN {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "Index" in plan and "Seq Scan" not in plan, (query, plan)
        finally:
            cursor.execute("SET enable_seqscan = on")


# -- paging -------------------------------------------------------------------------------
def test_the_list_never_counts_the_whole_table(functions) -> None:
    for _ in range(3):
        start("t.admin.greet")
    client = staff(superuser=True)

    for query in ("", "status=completed", "q=run_", "since=1h&function_id=t.admin.greet"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200
        counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
        assert counts, "the paginator counts, bounded"
        assert all("LIMIT 10001" in sql.upper() for sql in counts), counts
    assert "3 runs" in response.content.decode()


def test_a_count_past_the_exact_limit_says_about(functions, monkeypatch) -> None:
    for _ in range(5):
        start("t.admin.greet")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflows_run")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 2)

    response = staff(superuser=True).get(CHANGELIST)

    cl = response.context["cl"]
    assert cl.count_is_estimate
    assert cl.count_label.startswith("about ")
    page = response.content.decode()
    assert f">{cl.count_label}</span>" in page
    assert cl.count_label == "about 5 runs"
    assert ">5 runs<" not in page, "no exact-looking total"


# -- the subject registry -----------------------------------------------------------------
def test_subject_registry_refuses_a_taken_parameter() -> None:
    for parameter in ("workflow_id", "status", "q", "p"):
        with pytest.raises(ValueError, match="already registered"):
            register_run_subject(
                "x.fn", parameter=parameter, title="x", value=str, filter=lambda q, v: q
            )


def test_a_registered_subject_adds_a_column_and_a_filter(functions) -> None:
    from workflows.admin.run_list_subjects import RunSubject

    tagged = start("t.admin.greet", {"tenant": "acme"})
    plain = start("t.admin.broken")
    subject = RunSubject(
        "t.admin.greet",
        "tenant",
        "tenant",
        lambda run: run.input.get("tenant", ""),
        lambda queryset, value: queryset.filter(function_id="t.admin.greet", input__tenant=value),
    )
    client = staff(superuser=True)
    with temporarily_registered_subject(subject):
        assert listed(client, "tenant=acme") == {tagged.pk}
        page = client.get(CHANGELIST).content.decode()
        assert 'href="?tenant=acme"' in page
    assert plain.pk in page
    assert client.get(f"{CHANGELIST}?tenant=acme", follow=True).redirect_chain, "gone again"
