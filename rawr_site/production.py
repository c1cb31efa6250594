"""``RAWR_ENV=production`` refuses to start with settings that are unsafe on a public host.

Settings call ``unsafe_production_settings`` and raise ``ImproperlyConfigured`` listing
every problem at once, so gunicorn, Celery and ``manage.py`` all refuse to start (gunicorn
runs no system checks, so a check alone would not stop the web process).
"""

from __future__ import annotations

# Django's own bar for a strong key (``security.W009``): long, varied, not generated as
# a throwaway by ``startproject``.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
INSECURE_SECRET_KEY_PREFIX = "django-insecure"


def unsafe_production_settings(
    *, debug: bool, secret_key: str, known_insecure_keys: set[str], allowed_hosts: list[str]
) -> list[str]:
    """Everything wrong with these settings for production, one sentence each."""
    problems = []
    if debug:
        problems.append("DEBUG is on (tracebacks and settings shown to anyone): unset DEBUG")
    if not secret_key:
        problems.append("SECRET_KEY is not set")
    elif (
        secret_key in known_insecure_keys
        or secret_key.startswith(INSECURE_SECRET_KEY_PREFIX)
        or len(secret_key) < MIN_SECRET_KEY_LENGTH
        or len(set(secret_key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS
    ):
        problems.append(
            "SECRET_KEY is a development default or too weak (use 50+ random characters: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    if not allowed_hosts:
        problems.append("ALLOWED_HOSTS is empty (set the host names the site answers on)")
    elif "*" in allowed_hosts:
        problems.append("ALLOWED_HOSTS contains '*' (any Host header accepted)")
    return problems
