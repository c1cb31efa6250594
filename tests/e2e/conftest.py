"""End-to-end tests: the real-worker fixtures live in ``tests/workers.py``.

They are registered once for every test package (the root ``conftest.py``), so the e2e
and browser tests share ONE session worker: two workers on one broker and database would
take each other's messages (and a test that checks which worker ran its run would fail).
"""
