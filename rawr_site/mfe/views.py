"""The host page (``/rawr/``, ``/rawr/<cap>/...``), its login, and the MFE module files.

The page is one template for every route: the browser-side host (``static/rawr/host.js``)
reads the path, imports the selected MFE and mounts it with the context described in
``docs/mfe/README.md``. A deep link (``/rawr/search/doc/3``) therefore loads the same page
and mounts search with the sub-route ``/doc/3``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from rawr_site.contract import registry
from rawr_site.manifest import BASE_DIR
from rawr_site.mfe.contracts import browser_contract
from rawr_site.mfe.registry import ENTRY, Mfe, enabled_mfe, enabled_mfes, served_file

LOGIN_URL = reverse_lazy("rawr-login")
HOST_SCRIPT = BASE_DIR / "static" / "rawr" / "host.js"
JS_CONTENT_TYPE = "text/javascript; charset=utf-8"


class HostLoginView(LoginView):
    """Django's login form for every user (the admin's accepts staff only)."""

    template_name = "rawr/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return "/rawr/"


@require_safe
@login_required(login_url=LOGIN_URL)
@ensure_csrf_cookie
def host_page(request: HttpRequest, capability: str | None = None, rest: str = "") -> HttpResponse:
    """The shell. ``capability`` must be an enabled MFE (404 otherwise)."""
    mfes = enabled_mfes()
    if capability is not None and enabled_mfe(capability) is None:
        raise Http404("No such micro-frontend")
    user = request.user
    config = {
        "hostAppId": settings.RAWR_HOST_APP_ID,
        "mountPrefix": "/rawr",
        "rpcUrl": "/rpc",
        "runWatchUrl": "/rawr/runs/{runId}/watch",
        # A long-poll (the server holds the request) needs no pause between requests.
        "runWatchPollMs": (
            0 if settings.RAWR_RUN_WATCH_WAIT_SECONDS > 0 else settings.RAWR_RUN_WATCH_POLL_MS
        ),
        "csrfToken": get_token(request),
        "user": {
            "username": user.get_username(),
            "displayName": user.get_full_name() or user.get_username(),
            "isStaff": bool(user.is_staff),
        },
        "mfes": [_mfe_json(mfe) for mfe in mfes],
        "contracts": {c.capability: browser_contract(c) for c in registry.all_contracts()},
    }
    current = next((m for m in mfes if m.capability == capability), None)
    context: dict[str, Any] = {
        "config": config,
        "mfes": mfes,
        "current": current,
        "host_version": _file_version(HOST_SCRIPT),
    }
    return render(request, "rawr/host.html", context)


def _mfe_json(mfe: Mfe) -> dict[str, Any]:
    return {
        "id": mfe.capability,
        "title": mfe.title,
        "basePath": mfe.base_path,
        "entry": mfe.entry_url(),
    }


def _file_version(path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "0"


@require_safe
def plugin_module(request: HttpRequest, capability: str, file: str = ENTRY) -> HttpResponse:
    """An enabled MFE's module file, or 404 (unknown, disabled, no ``web/``, not ``.js``,
    any path trick). Signed-in sessions only (401 otherwise).

    ``ETag`` is the file's hash and ``Cache-Control: no-cache`` makes the browser revalidate
    every time (a 304 costs nothing): a new deploy takes effect on the next page load.
    """
    if not request.user.is_authenticated:
        return HttpResponse("Sign in first.", status=401, content_type="text/plain")
    mfe = enabled_mfe(capability)
    if mfe is None:
        raise Http404("No such micro-frontend")
    path = served_file(mfe, file)
    if path is None:
        raise Http404("No such module")
    body = path.read_bytes()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    if etag in _if_none_match(request):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=JS_CONTENT_TYPE)
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _if_none_match(request: HttpRequest) -> set[str]:
    header = request.headers.get("If-None-Match", "")
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
