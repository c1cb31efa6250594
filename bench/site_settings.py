"""The project's settings, plus the raw ``INSERT + delay()`` baseline route.

gunicorn serves ``rawr_site.wsgi`` with ``DJANGO_SETTINGS_MODULE=bench.site_settings``:
the same middleware, database and broker settings as production, one extra URL.
"""

from rawr_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
