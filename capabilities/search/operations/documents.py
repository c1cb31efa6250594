from __future__ import annotations

from capabilities.search import selectors, services
from capabilities.search.contract import (
    DOCUMENT_NOT_FOUND,
    Document,
    DocumentInput,
    GetDocumentInput,
    contract,
)
from rawr_site.contract import BoundaryContext


def _document_out(document) -> Document:
    return Document(
        document_id=document.pk,
        title=document.title,
        body=document.body,
        tags=document.tags,
        keywords=document.keywords,
        created_at=document.created_at,
        updated_at=document.updated_at,
    )


@contract.implement("indexDocument")
def index_document(ctx: BoundaryContext, data: DocumentInput) -> Document:
    document = services.document_index(title=data.title, body=data.body, tags=data.tags)
    return _document_out(document)


@contract.implement("getDocument")
def get_document(ctx: BoundaryContext, data: GetDocumentInput) -> Document:
    document = selectors.document_get(document_id=data.document_id)
    if document is None:
        raise DOCUMENT_NOT_FOUND(
            f"Document {data.document_id} not found", data={"documentId": data.document_id}
        )
    return _document_out(document)
