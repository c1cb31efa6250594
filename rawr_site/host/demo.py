"""Demo data for ``make run``: a few documents and, on the embedded default, a staff user."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth import get_user_model

from capabilities.search.client import search
from rawr_site.contract import BoundaryContext

DEMO_USER = ("demo", "demo")

DEMO_DOCUMENTS = [
    {
        "title": "Durable workflows on Celery",
        "body": "Runs, steps and timelines live in Postgres; Celery workers execute them and "
        "resume after a crash from the last completed step.",
        "tags": ["workflows", "celery"],
    },
    {
        "title": "One contract, many surfaces",
        "body": "A capability declares its payload shapes once; the host derives the RPC "
        "surface, the published OpenAPI routes and the in-process client.",
        "tags": ["contracts", "openapi"],
    },
    {
        "title": "The admin as an operations console",
        "body": "Staff inspect runs and timelines, approve human-wait desks, cancel and replay "
        "runs from the Django admin.",
        "tags": ["admin", "workflows"],
    },
]


def demo_data_create(*, staff_user: bool) -> Iterator[str]:
    """Idempotent: documents are created once, through the capability's own client."""
    from capabilities.search.models import Document

    ctx = BoundaryContext.internal()
    existing = set(Document.objects.values_list("title", flat=True))
    created = 0
    for doc in DEMO_DOCUMENTS:
        if doc["title"] not in existing:
            search.indexDocument(doc, ctx=ctx)
            created += 1
    yield f"demo documents: {created} created, {len(existing)} already there"
    yield from _demo_workflows(ctx)
    if staff_user:
        username, password = DEMO_USER
        User = get_user_model()
        user, made = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if made:
            user.set_password(password)
            user.save()
        yield f"demo staff user: {username} / {password}  (embedded default only)"


def _demo_workflows(ctx: BoundaryContext) -> Iterator[str]:
    """The two example coordination workflows, saved once through the contract."""
    from coordination.client import coordination
    from coordination.examples import example_documents
    from coordination.selectors import workflow_get

    for document in example_documents():
        if workflow_get(workflow_id=document["workflowId"]) is None:
            saved = coordination.saveWorkflow({"workflow": document}, ctx=ctx).workflow
            yield f"demo workflow: {saved['workflowId']} v{saved['version']}"
