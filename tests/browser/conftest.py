"""Browser tests: the fixtures (``browser``, ``anonymous_page``, ``staff_page``,
``staff_user``) live in ``tests/browser/fixtures.py``, a plugin the root ``conftest.py``
registers for every test package, so capability tests can use them too. The helpers are
re-exported here for the tests that import them from this module.
"""

from tests.browser.fixtures import (  # noqa: F401 - re-exported (no fixture: those would be defined twice)
    CHROMIUM,
    CHROMIUM_ARGS,
    STAFF_PASSWORD,
    TIMEOUT_MS,
    log_in,
)
