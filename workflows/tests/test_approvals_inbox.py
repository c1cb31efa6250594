"""The approvals inbox at /admin/approvals/ (Django's test client; runs execute in-process)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import StaffUserFactory
from workflows import durable_function, temporarily_registered, trigger
from workflows.models import Approval, ApprovalStatus, Run
from workflows.selectors import approval_pending_for_run
from workflows.testing import drain

pytestmark = pytest.mark.django_db(transaction=True)

INBOX = "/admin/approvals/"


@pytest.fixture
def asking():
    @durable_function("t.inbox.ask", capability="inbox", retries=0)
    def ask(ctx, step):
        return step.wait_for_approval(
            "sign-off", title=ctx.input["title"], context=ctx.input.get("context")
        )

    with temporarily_registered(ask):
        yield


def _waiting(title: str = "Refund order 7?", context=None) -> Approval:
    run = trigger("t.inbox.ask", {"title": title, "context": context}).run
    drain()
    approval = approval_pending_for_run(run_id=run.pk)
    assert approval is not None
    return approval


def _staff(*perms: str) -> tuple[Client, object]:
    user = StaffUserFactory()
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="workflows", codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client, user


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _row_ids(page: str) -> list[str]:
    return re.findall(r'<tr class="apr-row[^"]*" data-approval-id="([^"]+)"', page)


@pytest.mark.usefixtures("asking")
def test_inbox_lists_pending_approvals_soonest_due_first_with_overdue_highlighted() -> None:
    later = _waiting("Later", {"amount": 12})
    overdue = _waiting("Overdue", {"amount": 99})
    no_timeout = _waiting("Whenever")
    now = timezone.now()
    Approval.objects.filter(pk=later.pk).update(timeout_at=now + timedelta(hours=1))
    Approval.objects.filter(pk=overdue.pk).update(timeout_at=now - timedelta(minutes=3))
    decided = _waiting("Done already")
    Approval.objects.filter(pk=decided.pk).update(status=ApprovalStatus.APPROVED)
    client, _user = _staff("decide_approval")

    response = client.get(INBOX)
    assert response.status_code == 200
    page = response.content.decode()
    assert _row_ids(page) == [overdue.pk, later.pk, no_timeout.pk]
    assert f'<tr class="apr-row apr-overdue" data-approval-id="{overdue.pk}"' in page
    assert f'<tr class="apr-row" data-approval-id="{later.pk}"' in page
    assert "1 overdue" in page
    assert "&quot;amount&quot;: 99" in page or '"amount": 99' in page.replace("&quot;", '"')
    run_url = reverse("admin:workflows_run_change", args=[quote(overdue.run_id)])
    assert f'href="{run_url}"' in page
    assert page.count('value="approve"') == 3 and page.count('value="reject"') == 3
    assert "Approvals inbox" in page and 'class="breadcrumbs"' in page


@pytest.mark.usefixtures("asking")
def test_approving_from_the_inbox_resumes_the_run_and_audits_the_user() -> None:
    approval = _waiting(context={"order": 7})
    client, user = _staff("decide_approval")

    response = client.post(
        INBOX,
        {"approval_id": approval.pk, "decision": "approve", "payload": '{"note": "ok"}'},
        follow=True,
    )
    assert response.redirect_chain == [(INBOX, 302)]
    assert any("Approved" in m for m in _messages(response))
    assert _row_ids(response.content.decode()) == []
    drain()
    run = Run.objects.get(pk=approval.run_id)
    assert run.status == "completed"
    assert run.output == {
        "decision": "approve",
        "payload": {"note": "ok"},
        "decidedBy": f"user:{user.username}",
    }
    decided = run.timeline.get(type="approval.decided")
    assert decided.payload["by"] == f"user:{user.username}"
    entry = LogEntry.objects.get(user=user)
    assert entry.object_id == approval.pk and "approvals inbox" in entry.change_message


@pytest.mark.usefixtures("asking")
@pytest.mark.parametrize(
    ("form", "shown"),
    [
        ({"decision": "approve", "payload": "{nope"}, "Malformed JSON: "),
        ({"decision": "maybe", "payload": ""}, "BAD_REQUEST"),
        ({"decision": "approve", "payload": "NaN"}, "NaN is not JSON"),
    ],
)
def test_bad_input_shows_a_message_and_changes_nothing(form, shown) -> None:
    approval = _waiting()
    run = Run.objects.get(pk=approval.run_id)
    client, _user = _staff("decide_approval")

    response = client.post(INBOX, {"approval_id": approval.pk, **form}, follow=True)
    assert response.status_code == 200
    assert any(shown in m and "Nothing changed" in m for m in _messages(response)), _messages(
        response
    )
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING
    assert Run.objects.get(pk=run.pk).next_seq == run.next_seq
    assert not LogEntry.objects.exists()
    if form["payload"]:
        # The typed payload comes back in the form to be fixed.
        assert form["payload"] in response.content.decode()


@pytest.mark.usefixtures("asking")
def test_an_approval_no_longer_pending_is_refused_with_a_message() -> None:
    approval = _waiting()
    client, _user = _staff("decide_approval")
    client.post(INBOX, {"approval_id": approval.pk, "decision": "reject"})
    seq = Run.objects.get(pk=approval.run_id).next_seq

    again = client.post(INBOX, {"approval_id": approval.pk, "decision": "approve"}, follow=True)
    assert any("APPROVAL_NOT_PENDING" in m for m in _messages(again))
    stored = Approval.objects.get(pk=approval.pk)
    assert stored.status == ApprovalStatus.REJECTED and stored.decision == "reject"
    assert Run.objects.get(pk=approval.run_id).next_seq == seq
    assert LogEntry.objects.count() == 1
    unknown = client.post(INBOX, {"approval_id": "apr_gone", "decision": "approve"}, follow=True)
    assert any("No approval" in m for m in _messages(unknown))


@pytest.mark.usefixtures("asking")
def test_view_only_staff_see_the_inbox_without_buttons_and_a_post_is_403() -> None:
    approval = _waiting()
    viewer, _user = _staff("view_approval")
    page = viewer.get(INBOX).content.decode()
    assert _row_ids(page) == [approval.pk]
    assert 'value="approve"' not in page and "<form" not in page.split('id="approvals"')[1]
    assert "not decide" in page

    refused = viewer.post(INBOX, {"approval_id": approval.pk, "decision": "approve"})
    assert refused.status_code == 403
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING
    assert not LogEntry.objects.exists()

    nobody, _ = _staff()
    assert nobody.get(INBOX).status_code == 403
    assert (
        nobody.post(INBOX, {"approval_id": approval.pk, "decision": "approve"}).status_code == 403
    )
    assert Client().get(INBOX).status_code == 302  # to the admin login


@pytest.mark.usefixtures("asking")
def test_the_inbox_survives_odd_stored_values() -> None:
    approval = _waiting("<script>alert(1)</script>", {"huge": "x" * 200_000, "emoji": "\u2603"})
    Approval.objects.filter(pk=approval.pk).update(
        context=[None, 1.5, {"deep": [[[[{}]]]]}, "y" * 200_000], workflow_id="wf<", desk_id="d&"
    )
    client, _user = _staff("decide_approval")
    response = client.get(INBOX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "d&amp;" in page


@pytest.mark.usefixtures("asking")
def test_the_approval_admin_is_read_only() -> None:
    approval = _waiting()
    client, _user = _staff("view_approval")
    listing = client.get(reverse("admin:workflows_approval_changelist"))
    assert listing.status_code == 200 and approval.title in listing.content.decode()
    detail = client.get(reverse("admin:workflows_approval_change", args=[approval.pk]))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
