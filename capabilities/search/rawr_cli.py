"""The search capability's demo documents for ``manage.py rawr demo`` (``make run``).

Autodiscovered by the host's ``rawr`` command (``rawr_site.host.cli_registry``): the host
kit never imports a capability.
"""

from __future__ import annotations

from collections.abc import Iterator

from rawr_site.contract import BoundaryContext
from rawr_site.host.cli_registry import register_demo

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


def demo_documents(ctx: BoundaryContext) -> Iterator[str]:
    """Idempotent: documents are created once, through the capability's own client."""
    from capabilities.search.client import search
    from capabilities.search.models import Document

    existing = set(Document.objects.values_list("title", flat=True))
    created = 0
    for doc in DEMO_DOCUMENTS:
        if doc["title"] not in existing:
            search.indexDocument(doc, ctx=ctx)
            created += 1
    yield f"demo documents: {created} created, {len(existing)} already there"


register_demo("search.documents", demo_documents, order=10)
