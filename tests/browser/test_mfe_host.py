"""The MFE host in Chromium: login, deep links, history across MFEs, the real oRPC gateway,
contract validation and live run status.

Two MFEs are mounted: search's own (``capabilities/search/web/index.js``) and a tiny probe
MFE written by the test (served as the coordination capability's module, which has none),
which exposes its mount context on ``window.__probe`` so the test can drive ``ctx`` itself.
Screenshots land in ``docs/mfe/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

import tests.e2e.flows  # noqa: F401 - registers e2e.approval in this process (the worker has it)
from capabilities.search.client import search
from tests.browser.conftest import STAFF_PASSWORD
from tests.factories import UserFactory, issue_key
from workflows import trigger

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "mfe"

PROBE_MFE = """
export function mount (element, ctx) {
  window.__probe = window.__probe || { mounts: 0, unmounts: 0, updates: [], errors: [] }
  const probe = window.__probe
  probe.ctx = ctx
  probe.mounts += 1
  const route = document.createElement('p')
  route.id = 'probe-route'
  const links = ['/', '/a', '/b'].map((path) => {
    const a = document.createElement('a')
    a.href = ctx.basePath + path
    a.textContent = 'probe ' + path
    a.addEventListener('click', (event) => { event.preventDefault(); ctx.navigate(path); render() })
    return a
  })
  function render () { route.textContent = ctx.getLocation().pathname }
  const off = ctx.onHostNavigate(render)
  render()
  element.append(route, ...links)
  return () => { off(); probe.unmounts += 1; element.replaceChildren() }
}
"""


@pytest.fixture
def mfe_user(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return UserFactory(username="ada", first_name="Ada", last_name="Lovelace")


@pytest.fixture
def probe_mfe(tmp_path, monkeypatch) -> Path:
    """The probe MFE as the ``coordination`` capability's web module (live server thread
    and test share this process, so the patched lookup serves it)."""
    from rawr_site.mfe import registry

    web = tmp_path / "probe-web"
    web.mkdir()
    (web / "index.js").write_text(PROBE_MFE)
    real = registry.web_dir_of
    monkeypatch.setattr(
        registry, "web_dir_of", lambda cap: web if cap == "coordination" else real(cap)
    )
    return web


@pytest.fixture
def documents(transactional_db) -> list[dict]:
    return [
        search.indexDocument(
            title="Durable workflows on Celery",
            body="Workers resume a run from its last completed step after a crash.",
            tags=["celery", "workflows"],
        ).model_dump(by_alias=True),
        search.indexDocument(
            title="Celery routing keys",
            body="Queues per capability let Celery workers scale out.",
            tags=["celery"],
        ).model_dump(by_alias=True),
    ]


def _log_in_at_rawr(page: Page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _mounted(page: Page, capability: str) -> None:
    expect(page.locator(f'#rawr-mfe[data-mounted="{capability}"]')).to_be_visible()


@pytest.fixture
def user_page(anonymous_page: Page, live_server, mfe_user) -> Page:
    anonymous_page.goto("/rawr/")
    _log_in_at_rawr(anonymous_page, mfe_user.username)
    expect(anonymous_page).to_have_url(f"{live_server.url}/rawr/")
    return anonymous_page


def test_deep_link_signs_in_then_mounts_search_on_its_sub_route(
    anonymous_page: Page, live_server, mfe_user, documents
) -> None:
    page = anonymous_page
    doc = documents[0]
    page.goto(f"/rawr/search/doc/{doc['documentId']}")
    expect(page).to_have_url(
        f"{live_server.url}/rawr/login/?next=/rawr/search/doc/{doc['documentId']}"
    )
    _log_in_at_rawr(page, "ada")

    expect(page).to_have_url(f"{live_server.url}/rawr/search/doc/{doc['documentId']}")
    _mounted(page, "search")
    expect(page.get_by_role("heading", name=doc["title"])).to_be_visible()
    expect(page.get_by_test_id("user-name")).to_have_text("Ada Lovelace")
    expect(
        page.get_by_role("navigation", name="Capabilities").get_by_role("link", name="Search")
    ).to_have_attribute("aria-current", "page")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "host-search-document.png"))


def test_search_calls_rpc_through_the_real_rpclink_and_shows_declared_errors(
    user_page: Page, live_server, documents
) -> None:
    page = user_page
    rpc: list[Request] = []
    page.on("request", lambda r: rpc.append(r) if "/rpc/" in r.url else None)
    page.get_by_role("navigation", name="Capabilities").get_by_role("link", name="Search").click()
    _mounted(page, "search")
    page.get_by_label("Search text").fill("celery")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(f"{live_server.url}/rawr/search/?q=celery")
    expect(page.locator(".search-mfe li")).to_have_count(2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "host-search-results.png"))

    # The request is oRPC's RPC wire format, sent by RPCLink with the session's CSRF token.
    query = next(r for r in rpc if r.url.endswith("/rpc/search/query"))
    assert query.method == "POST"
    assert json.loads(query.post_data) == {"json": {"q": "celery", "limit": 20}}
    headers = query.all_headers()
    assert headers["content-type"] == "application/json"
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    assert headers["x-csrftoken"] == csrf
    assert query.response().status == 200

    # A declared error (DOCUMENT_NOT_FOUND, 404) reaches the MFE with its code and data.
    page.goto("/rawr/search/doc/999999")
    problem = page.locator(".search-mfe .problem")
    expect(problem).to_have_attribute("data-error-code", "DOCUMENT_NOT_FOUND")
    expect(problem).to_have_attribute("data-error-status", "404")
    expect(problem).to_have_attribute(
        "data-error-data", json.dumps({"documentId": 999999}).replace(" ", "")
    )
    missing = next(r for r in reversed(rpc) if r.url.endswith("/rpc/search/getDocument"))
    assert json.loads(missing.post_data) == {"json": {"documentId": 999999}}
    assert missing.response().status == 404
    assert missing.response().json()["json"]["defined"] is True


def test_back_and_forward_keep_each_mfe_sub_route(
    probe_mfe, user_page: Page, live_server, documents
) -> None:
    page = user_page
    url = live_server.url
    nav = page.get_by_role("navigation", name="Capabilities")
    nav.get_by_role("link", name="Search").click()
    _mounted(page, "search")
    page.get_by_label("Search text").fill("routing")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Celery routing keys").click()
    doc_id = documents[1]["documentId"]
    expect(page).to_have_url(f"{url}/rawr/search/doc/{doc_id}")
    expect(page.get_by_role("heading", name="Celery routing keys")).to_be_visible()

    nav.get_by_role("link", name="Coordination").click()
    _mounted(page, "coordination")
    expect(page.locator("#probe-route")).to_have_text("/")
    page.get_by_role("link", name="probe /b").click()
    expect(page).to_have_url(f"{url}/rawr/coordination/b")
    expect(page.locator("#probe-route")).to_have_text("/b")

    page.go_back()  # inside the probe: told through onHostNavigate, not remounted
    expect(page).to_have_url(f"{url}/rawr/coordination")
    expect(page.locator("#probe-route")).to_have_text("/")
    assert page.evaluate("window.__probe.mounts") == 1

    page.go_back()  # into search: the probe is unmounted, search shows its document again
    expect(page).to_have_url(f"{url}/rawr/search/doc/{doc_id}")
    expect(page.get_by_role("heading", name="Celery routing keys")).to_be_visible()
    assert page.evaluate("window.__probe.unmounts") == 1
    page.go_back()
    expect(page).to_have_url(f"{url}/rawr/search/?q=routing")
    expect(page.locator(".search-mfe li")).to_have_count(1)
    expect(page.get_by_label("Search text")).to_have_value("routing")

    page.go_forward()
    page.go_forward()
    page.go_forward()
    expect(page).to_have_url(f"{url}/rawr/coordination/b")
    expect(page.locator("#probe-route")).to_have_text("/b")
    expect(nav.get_by_role("link", name="Coordination")).to_have_attribute("aria-current", "page")

    page.reload()  # a deep link into the probe's sub-route
    _mounted(page, "coordination")
    expect(page.locator("#probe-route")).to_have_text("/b")


def test_ctx_gateway_contracts_and_validation(probe_mfe, user_page: Page) -> None:
    page = user_page
    page.goto("/rawr/coordination/a")
    _mounted(page, "coordination")
    result = page.evaluate(
        """async () => {
          const { ORPCError } = await import('@orpc/client')
          const ctx = window.__probe.ctx
          let error
          try { await ctx.rpc.search.getDocument({ documentId: 424242 }) } catch (e) { error = e }
          const schema = ctx.contracts.search.query.input
          return {
            hostAppId: ctx.hostAppId, basePath: ctx.basePath, location: ctx.getLocation(),
            user: ctx.user,
            error: { isORPCError: error instanceof ORPCError, code: error.code,
                     status: error.status, data: error.data, defined: error.defined,
                     message: error.message },
            errors: ctx.contracts.search.getDocument.errors,
            bad: ctx.validate(schema, { q: '', limit: 99 }),
            good: ctx.validate(schema, { q: 'celery', limit: 5 }),
            stats: await ctx.rpc.search.stats(),
          }
        }"""
    )
    assert result["hostAppId"] == "rawr-hq"
    assert result["basePath"] == "/rawr/coordination"
    assert result["location"] == {"pathname": "/a", "search": "", "hash": ""}
    assert result["user"] == {"username": "ada", "displayName": "Ada Lovelace", "isStaff": False}
    assert result["error"] == {
        "isORPCError": True,
        "code": "DOCUMENT_NOT_FOUND",
        "status": 404,
        "data": {"documentId": 424242},
        "defined": True,
        "message": "Document 424242 not found",
    }
    assert result["errors"] == [
        {"code": "DOCUMENT_NOT_FOUND", "status": 404, "message": "Document not found"}
    ]
    assert sorted(issue["path"] for issue in result["bad"]) == ["limit", "q"]
    assert result["good"] == []
    assert isinstance(result["stats"]["documents"], int)


def test_runs_watch_follows_a_real_run_to_its_end(
    probe_mfe, user_page: Page, mfe_user, tmp_path, celery_worker_process
) -> None:
    page = user_page
    page.goto("/rawr/coordination")
    _mounted(page, "coordination")
    run = trigger(
        "e2e.approval",
        {"log": str(tmp_path / "marks.log"), "orderId": "mfe-1"},
        principal=f"user:{mfe_user.username}",
    ).run
    stranger = trigger("e2e.quick", {"log": str(tmp_path / "other.log")}, principal="user:bob").run
    page.evaluate(
        """([runId, strangerId]) => {
          const probe = window.__probe
          probe.ctx.runs.watch(runId, (u) => probe.updates.push(u), (e) => probe.errors.push(e))
          probe.ctx.runs.watch(strangerId, () => probe.updates.push('leak'),
                               (e) => probe.errors.push({ code: e.code, status: e.status }))
        }""",
        [run.pk, stranger.pk],
    )
    page.wait_for_function(
        "window.__probe.updates.some((u) => u.status === 'waiting' && u.waitingFor)",
        timeout=30_000,
    )
    waiting = page.evaluate("window.__probe.updates.find((u) => u.status === 'waiting')")
    assert waiting["waitingFor"]["kind"] == "event"
    assert waiting["finished"] is False
    assert page.evaluate("window.__probe.errors") == [{"code": "RUN_NOT_FOUND", "status": 404}]

    # The MFE resumes the run through the gateway; the watch sees it finish, no reload.
    page.evaluate(
        "window.__probe.ctx.rpc.search.sendEvent({name: 'e2e.approved', data: {orderId: 'mfe-1'}})"
    )
    page.wait_for_function("window.__probe.updates.some((u) => u.finished)", timeout=30_000)
    updates = page.evaluate("window.__probe.updates")
    statuses = [u["status"] for u in updates]
    assert statuses[-1] == "completed" and "waiting" in statuses
    assert "leak" not in updates
    final = updates[-1]
    assert final["output"]["event"]["data"] == {"orderId": "mfe-1"}
    types = [e["type"] for e in final["timeline"]]
    assert types[0] == "run.queued" and types[-1] == "run.completed"
    assert [e["seq"] for e in final["timeline"]] == sorted({e["seq"] for e in final["timeline"]})

    # The watch is for sessions: an API key is refused even with the same browser.
    key = issue_key(name="integrator").secret
    status = page.evaluate(
        """([runId, key]) => fetch(`/rawr/runs/${runId}/watch`, {
             headers: { Authorization: `Bearer ${key}` }, credentials: 'omit'
           }).then((r) => r.status)""",
        [run.pk, key],
    )
    assert status == 403
