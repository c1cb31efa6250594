"""One contract, three surfaces: /rpc, /api/orpc and the in-process client agree."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from capabilities.search.client import search
from capabilities.search.services import document_index
from rawr_site.contract import RawrError
from tests.factories import issue_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus() -> list[int]:
    docs = [
        ("Matcha tea guide", "Whisking matcha tea: water at 80 degrees, a bamboo whisk.", ["tea"]),
        ("Green tea in Kyoto", "Kyoto tea houses serve sencha and matcha tea.", ["tea", "japan"]),
        ("Coffee roasting", "Roasting coffee beans at home; tea drinkers look away.", ["coffee"]),
        ("Kyoto temples", "Temples and gardens of Kyoto.", ["japan"]),
    ]
    return [document_index(title=t, body=b, tags=tags).pk for t, b, tags in docs]


def test_query_returns_the_same_results_through_rpc_published_and_client(corpus) -> None:
    service = issue_key(name="svc", first_party=True).secret
    external = issue_key(name="ext").secret
    http = Client()

    rpc = http.post(
        "/rpc/search/query",
        data=json.dumps({"json": {"q": "tea", "limit": 5, "tags": ["tea"]}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {service}",
    )
    published = http.get(
        "/api/orpc/search/query?q=tea&limit=5&tags=tea", HTTP_AUTHORIZATION=f"Bearer {external}"
    )
    bracketed = http.get(
        "/api/orpc/search/query?q=tea&limit=5&tags%5B0%5D=tea",
        HTTP_AUTHORIZATION=f"Bearer {external}",
    )
    client_result = search.query(q="tea", limit=5, tags=["tea"]).model_dump(
        mode="json", by_alias=True
    )

    assert rpc.status_code == published.status_code == bracketed.status_code == 200
    assert rpc.json() == {"json": client_result}
    assert published.json() == client_result == bracketed.json()
    titles = [hit["title"] for hit in client_result["results"]]
    assert set(titles) == {"Matcha tea guide", "Green tea in Kyoto"}
    assert client_result["total"] == 2
    scores = [hit["score"] for hit in client_result["results"]]
    assert scores == sorted(scores, reverse=True)


def test_query_ranks_better_matches_first(corpus) -> None:
    result = search.query(q="matcha")
    assert result.results[0].title == "Matcha tea guide"
    assert result.total == 2


def test_client_validates_and_raises_the_same_errors_as_http(corpus) -> None:
    with pytest.raises(RawrError) as invalid:
        search.query(q="", limit=500)
    assert invalid.value.code == "BAD_REQUEST"
    paths = sorted(issue["path"][0] for issue in invalid.value.data["issues"])
    assert paths == ["limit", "q"]

    with pytest.raises(RawrError) as missing:
        search.getDocument(document_id=999_999)
    assert (missing.value.code, missing.value.status) == ("DOCUMENT_NOT_FOUND", 404)

    external = issue_key(name="ext").secret
    http = Client().get(
        "/api/orpc/search/documents/999999", HTTP_AUTHORIZATION=f"Bearer {external}"
    )
    assert http.status_code == 404
    assert http.json() == {
        "defined": True,
        "code": "DOCUMENT_NOT_FOUND",
        "status": 404,
        "message": "Document 999999 not found",
        "data": {"documentId": 999999},
    }


def test_index_then_get_round_trips_through_published_routes() -> None:
    external = issue_key(name="ext").secret
    auth = {"HTTP_AUTHORIZATION": f"Bearer {external}"}
    http = Client()
    created = http.post(
        "/api/orpc/search/documents",
        data=json.dumps({"title": "  Hello  ", "body": "world", "tags": ["b", "a", "a"]}),
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 200
    doc = created.json()
    assert doc["title"] == "Hello"
    assert doc["tags"] == ["a", "b"]
    fetched = http.get(f"/api/orpc/search/documents/{doc['documentId']}", **auth)
    assert fetched.json() == doc


def test_rpc_emits_date_meta_so_clients_revive_dates() -> None:
    doc = document_index(title="Dated", body="")
    service = issue_key(name="svc", first_party=True).secret
    response = Client().get(
        "/rpc/search/getDocument",
        {"data": json.dumps({"json": {"documentId": doc.pk}})},
        HTTP_AUTHORIZATION=f"Bearer {service}",
    )
    body = response.json()
    assert response.status_code == 200
    assert body["meta"] == [[1, "createdAt"], [1, "updatedAt"]]
    assert body["json"]["createdAt"].endswith("Z") and len(body["json"]["createdAt"]) == 24


def test_internal_procedure_is_on_rpc_and_client_but_not_published(corpus) -> None:
    service = issue_key(name="svc", first_party=True).secret
    external = issue_key(name="ext").secret
    rpc = Client().post(
        "/rpc/search/stats",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {service}",
    )
    assert rpc.status_code == 200
    assert rpc.json()["json"]["documents"] == 4
    assert rpc.json()["json"]["tags"] == {"coffee": 1, "japan": 2, "tea": 2}
    assert search.stats().documents == 4
    published = Client().get("/api/orpc/search/stats", HTTP_AUTHORIZATION=f"Bearer {external}")
    assert published.status_code == 404
