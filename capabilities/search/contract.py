"""The search capability's contract: every payload shape, route, visibility and error.

Everything the host publishes for search (``/rpc/search/*``, ``/api/orpc/search/*``, the
in-process client, the OpenAPI entries, the manifest row) is derived from this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from rawr_site.contract import Contract, ErrorSpec, Schema
from workflows.surface import workflow_trigger

contract = Contract("search", title="Search", description="Index documents and query them.")

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]

DOCUMENT_NOT_FOUND = ErrorSpec("DOCUMENT_NOT_FOUND", 404, "Document not found")


class DocumentInput(Schema):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    body: Annotated[str, Field(max_length=100_000)] = ""
    tags: Annotated[list[Tag], Field(max_length=20)] = []


class Document(Schema):
    document_id: int
    title: str
    body: str
    tags: list[str]
    keywords: list[str] = []
    created_at: datetime
    updated_at: datetime


class GetDocumentInput(Schema):
    document_id: Annotated[int, Field(ge=1, description="The document's id.")]


class QueryInput(Schema):
    q: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
        Field(description='Search text (web-search syntax on Postgres: words, "phrases", -not).'),
    ]
    limit: Annotated[int, Field(ge=1, le=50, description="Maximum number of results.")] = 10
    tags: Annotated[
        list[Tag], Field(max_length=20, description="Only documents carrying all these tags.")
    ] = []


class QueryHit(Schema):
    document_id: int
    title: str
    snippet: str
    tags: list[str]
    score: float


class QueryResult(Schema):
    results: list[QueryHit]
    total: int


class StatsResult(Schema):
    documents: int
    tags: dict[str, int]


index_document = contract.procedure(
    "indexDocument",
    input=DocumentInput,
    output=Document,
    route=("POST", "/search/documents"),
    visibility="external",
    summary="Index a document",
    description="Stores the document and makes it searchable at once.",
)

get_document = contract.procedure(
    "getDocument",
    input=GetDocumentInput,
    output=Document,
    route=("GET", "/search/documents/{documentId}"),
    visibility="external",
    summary="Get a document",
    errors=[DOCUMENT_NOT_FOUND],
)

query = contract.procedure(
    "query",
    input=QueryInput,
    output=QueryResult,
    route=("GET", "/search/query"),
    visibility="external",
    summary="Search documents",
    description="Ranked full-text search; `tags` narrows to documents carrying every tag.",
)

stats = contract.procedure(
    "stats",
    input=None,
    output=StatsResult,
    route=("GET", "/search/stats"),
    visibility="internal",
    summary="Document and tag counts (first-party only)",
)


class EnrichInput(Schema):
    document_id: Annotated[int, Field(ge=1, description="The document to enrich.")]


enrich = workflow_trigger(
    contract,
    "enrich",
    function="search.enrich",
    input=EnrichInput,
    route=("POST", "/search/enrich"),
    summary="Extract and store a document's keywords (durable run)",
)
