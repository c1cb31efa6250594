"""The MFE host over HTTP: the shell, its login, the module files and the run watch.

Browser behaviour (mounting, history, the real RPCLink) is in tests/browser/test_mfe_host.py.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from rawr_site.contract import registry
from rawr_site.manifest import build_manifest
from rawr_site.mfe.contracts import browser_contract
from rawr_site.mfe.registry import enabled_mfe
from rawr_site.mfe.typegen import TYPES_DIR, generated_type_files
from tests.conftest import csrf_headers
from tests.factories import StaffUserFactory, UserFactory, issue_key
from workflows.testing import drain

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _config(response) -> dict:
    match = re.search(
        rb'<script id="rawr-host-config" type="application/json">(.*?)</script>',
        response.content,
        re.S,
    )
    assert match, "the host page embeds its config"
    return json.loads(match.group(1))


# -- the shell ---------------------------------------------------------------------------
def test_anonymous_user_is_sent_to_the_login_page_and_back_to_the_deep_link(client) -> None:
    UserFactory(username="ada", first_name="Ada", last_name="Lovelace")
    response = client.get("/rawr/search/doc/3")
    assert response.status_code == 302
    assert response["Location"] == "/rawr/login/?next=/rawr/search/doc/3"

    login = client.post(
        "/rawr/login/?next=/rawr/search/doc/3",
        {"username": "ada", "password": "pw-for-tests", "next": "/rawr/search/doc/3"},
    )
    assert login.status_code == 302 and login["Location"] == "/rawr/search/doc/3"
    page = client.get("/rawr/search/doc/3")
    assert page.status_code == 200
    assert b"Ada Lovelace" in page.content


def test_a_wrong_password_stays_on_the_login_form(client) -> None:
    UserFactory(username="ada")
    response = client.post("/rawr/login/", {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert b"match. Please try again" in response.content


def test_host_shows_the_user_and_navigation_of_enabled_mfes(client) -> None:
    user = UserFactory(first_name="Grace", last_name="Hopper")
    client.force_login(user)
    response = client.get("/rawr/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Grace Hopper" in html
    assert 'href="/rawr/search" data-rawr-link data-mfe="search"' in html
    assert 'data-mfe="coordination"' not in html  # no web/
    assert "csrftoken" in response.cookies  # the gateway's CSRF header reads it
    config = _config(response)
    assert config["user"] == {
        "username": user.username,
        "displayName": "Grace Hopper",
        "isStaff": False,
    }
    search = next(m for m in config["mfes"] if m["id"] == "search")
    assert search["basePath"] == "/rawr/search"
    assert re.fullmatch(r"/rawr/plugins/web/search/index\.js\?v=[0-9a-f]{16}", search["entry"])
    # the import map points at the vendored, pinned builds (no CDN)
    assert '"@orpc/client": "/static/vendor/orpc-client/orpc-client.js?v=1.16.1"' in html


def test_deep_link_renders_the_host_with_the_mfe_selected(client, user) -> None:
    client.force_login(user)
    response = client.get("/rawr/search/doc/3")
    assert response.status_code == 200
    assert b'data-mfe="search" aria-current="page"' in response.content


@pytest.mark.parametrize("path", ["/rawr/nope", "/rawr/coordination/x", "/rawr/plugins"])
def test_host_answers_404_for_a_capability_that_is_no_mfe(client, user, path) -> None:
    client.force_login(user)
    assert client.get(path).status_code == 404


def test_disabled_mfe_is_neither_listed_nor_mounted_nor_served(client, user, settings) -> None:
    settings.RAWR_MFE_ENABLED = ["invoicing"]
    client.force_login(user)
    page = client.get("/rawr/")
    assert b'data-mfe="search"' not in page.content
    assert client.get("/rawr/search").status_code == 404
    assert client.get("/rawr/plugins/web/search").status_code == 404
    assert client.get("/rawr/plugins/web/search/index.js").status_code == 404


def test_contracts_reach_the_page_from_the_contract_kit(client, user) -> None:
    client.force_login(user)
    contracts = _config(client.get("/rawr/"))["contracts"]
    assert contracts["search"] == browser_contract(registry.get_contract("search"))
    get_document = contracts["search"]["getDocument"]
    assert get_document["input"]["required"] == ["documentId"]
    assert get_document["input"]["properties"]["documentId"]["minimum"] == 1
    assert get_document["errors"] == [
        {"code": "DOCUMENT_NOT_FOUND", "status": 404, "message": "Document not found"}
    ]
    assert contracts["search"]["stats"]["input"] is None


# -- module files ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/rawr/plugins/web/../settings.py",
        "/rawr/plugins/web/..%2Fsettings.py",
        "/rawr/plugins/web/search/../contract.py",
        "/rawr/plugins/web/search/%2e%2e/contract.py",
        "/rawr/plugins/web/search/..%2Fcontract.py",
        "/rawr/plugins/web/search/.hidden.js",
        "/rawr/plugins/web/search/index.js/",
        "/rawr/plugins/web/search/contract.py",
        "/rawr/plugins/web/search/missing.js",
        "/rawr/plugins/web/nope",
        "/rawr/plugins/web/Search",
        "/rawr/plugins/web/coordination",  # registered, no web/
        "/rawr/plugins/web/invoicing/index.js/../../models.py",
    ],
)
def test_plugin_paths_outside_an_enabled_mfe_are_404(client, user, path) -> None:
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 404, path
    assert not response.content.startswith(b"//")


def test_capability_without_web_module_is_404(client, user, settings) -> None:
    client.force_login(user)
    assert enabled_mfe("coordination") is None
    assert client.get("/rawr/plugins/web/coordination/index.js").status_code == 404


def test_module_is_javascript_with_an_etag_that_revalidates(client, user) -> None:
    client.force_login(user)
    response = client.get("/rawr/plugins/web/search")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"export function mount" in response.content
    assert client.head("/rawr/plugins/web/search").status_code == 200
    same = client.get("/rawr/plugins/web/search/index.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert same.status_code == 304 and same["ETag"] == response["ETag"]
    stale = client.get("/rawr/plugins/web/search/index.js", HTTP_IF_NONE_MATCH='"old-deploy"')
    assert stale.status_code == 200 and stale.content == response.content


def test_new_deploy_changes_the_entry_url_and_the_etag(client, user, tmp_path, monkeypatch) -> None:
    mfe = enabled_mfe("search")
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.js").write_text("export function mount () { return () => {} }\n")
    monkeypatch.setattr("rawr_site.mfe.registry.web_dir_of", lambda cap: web)
    first = enabled_mfe("search")
    assert first is not None and first.web_dir == web and mfe.web_dir != web
    first_url = first.entry_url()
    client.force_login(user)
    before = client.get("/rawr/plugins/web/search")["ETag"]
    (web / "index.js").write_text("export function mount () { return () => 1 }\n")
    after = client.get("/rawr/plugins/web/search", HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200 and after["ETag"] != before
    assert enabled_mfe("search").entry_url() != first_url


def test_module_files_need_a_session(client) -> None:
    assert client.get("/rawr/plugins/web/search").status_code == 401


# -- manifest and TypeScript -------------------------------------------------------------------
def test_manifest_shows_each_capability_mfe_and_whether_it_is_enabled(settings) -> None:
    rows = {row["id"]: row for row in build_manifest()["capabilities"]}
    assert rows["search"]["mfe"] == {
        "module": "capabilities/search/web/index.js",
        "url": "/rawr/plugins/web/search",
        "mountPath": "/rawr/search",
        "enabled": True,
    }
    assert rows["coordination"]["mfe"] is None
    settings.RAWR_MFE_ENABLED = []
    rows = {row["id"]: row for row in build_manifest()["capabilities"]}
    assert rows["search"]["mfe"]["enabled"] is False


def test_typescript_declarations_are_generated_from_the_contract_and_committed() -> None:
    files = generated_type_files()
    search = files["search.d.ts"]
    assert "getDocument(input: SearchGetDocumentInput): Promise<SearchDocument>;" in search
    assert "stats(input?: undefined): Promise<SearchStatsResult>;" in search
    assert 'getDocument: "DOCUMENT_NOT_FOUND";' in search
    assert "search: SearchProcedures;" in files["rawr-mfe.d.ts"]
    for name, content in files.items():
        assert (TYPES_DIR / name).read_text() == content, f"{name} is stale: rawr manifest"


# -- the run watch -------------------------------------------------------------------------------
def _start_enrich(client: Client, capture) -> str:
    """Trigger search.enrich through /rpc in ``client``'s session (Run.principal = user)."""
    with capture(execute=True):
        response = client.post(
            "/rpc/search/enrich",
            data=json.dumps({"json": {"documentId": 1}}),
            content_type="application/json",
            **csrf_headers(client),
        )
    assert response.status_code == 200, response.content
    return response.json()["json"]["runId"]


@pytest.fixture
def fast_watch(settings):
    settings.RAWR_RUN_WATCH_WAIT_SECONDS = 0.5


def test_watch_reports_status_and_timeline_then_long_polls_with_etag(
    session_client, inline_dispatch, fast_watch, django_capture_on_commit_callbacks
) -> None:
    run_id = _start_enrich(session_client, django_capture_on_commit_callbacks)
    first = session_client.get(f"/rawr/runs/{run_id}/watch")
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "queued" and body["finished"] is False
    assert [e["type"] for e in body["events"]] == ["run.queued"]
    assert body["waitingFor"]["kind"] == "worker"

    unchanged = session_client.get(
        f"/rawr/runs/{run_id}/watch?after=1", HTTP_IF_NONE_MATCH=first["ETag"]
    )
    assert unchanged.status_code in (200, 304)  # after=1 is another view: a new tag
    tag = unchanged["ETag"]
    idle = session_client.get(f"/rawr/runs/{run_id}/watch?after=1", HTTP_IF_NONE_MATCH=tag)
    assert idle.status_code == 304

    drain()
    done = session_client.get(f"/rawr/runs/{run_id}/watch?after=1", HTTP_IF_NONE_MATCH=tag)
    assert done.status_code == 200
    body = done.json()
    assert body["status"] in ("completed", "failed") and body["finished"] is True
    assert body["events"][0]["seq"] == 2 and body["events"][-1]["type"].startswith("run.")


def test_watch_answers_304_at_once_when_nothing_changed_by_default(
    session_client, inline_dispatch, django_capture_on_commit_callbacks, settings
) -> None:
    settings.RAWR_RUN_WATCH_WAIT_SECONDS = 0
    run_id = _start_enrich(session_client, django_capture_on_commit_callbacks)
    tag = session_client.get(f"/rawr/runs/{run_id}/watch")["ETag"]
    same = session_client.get(f"/rawr/runs/{run_id}/watch", HTTP_IF_NONE_MATCH=tag)
    assert same.status_code == 304 and same["ETag"] == tag


def test_host_tells_the_browser_how_often_to_poll(client, user, settings) -> None:
    client.force_login(user)
    settings.RAWR_RUN_WATCH_WAIT_SECONDS, settings.RAWR_RUN_WATCH_POLL_MS = 0, 750
    assert _config(client.get("/rawr/"))["runWatchPollMs"] == 750
    settings.RAWR_RUN_WATCH_WAIT_SECONDS = 15  # long-poll: the server paces the browser
    assert _config(client.get("/rawr/"))["runWatchPollMs"] == 0


def test_watch_refuses_api_keys_and_anonymous_callers(
    session_client, inline_dispatch, django_capture_on_commit_callbacks
) -> None:
    run_id = _start_enrich(session_client, django_capture_on_commit_callbacks)
    for key in (issue_key(name="ext"), issue_key(name="svc", first_party=True)):
        response = Client().get(
            f"/rawr/runs/{run_id}/watch", HTTP_AUTHORIZATION=f"Bearer {key.secret}"
        )
        assert response.status_code == 403
        assert response.json()["code"] == "FORBIDDEN"
    anonymous = Client().get(f"/rawr/runs/{run_id}/watch")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHORIZED"


def test_a_user_watches_only_runs_they_started_staff_watch_all(
    session_client, inline_dispatch, fast_watch, django_capture_on_commit_callbacks
) -> None:
    run_id = _start_enrich(session_client, django_capture_on_commit_callbacks)
    other = Client()
    other.force_login(UserFactory())
    hidden = other.get(f"/rawr/runs/{run_id}/watch")
    assert hidden.status_code == 404
    assert hidden.json() == {
        "defined": True,
        "code": "RUN_NOT_FOUND",
        "status": 404,
        "message": f"Run {run_id} not found",
        "data": {"runId": run_id},
    }
    staff = Client()
    staff.force_login(StaffUserFactory())
    assert staff.get(f"/rawr/runs/{run_id}/watch").json()["runId"] == run_id
    assert session_client.get("/rawr/runs/bad%20id/watch").status_code == 400
    assert session_client.get(f"/rawr/runs/{run_id}/watch?after=x").status_code == 400
    assert staff.post(f"/rawr/runs/{run_id}/watch").status_code == 405
