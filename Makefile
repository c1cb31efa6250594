# RAWR HQ: `make run` serves the site with a worker; `make test` runs what CI runs.

SHELL := bash

.PHONY: help run serve test install bench scale

help:
	@echo "make run      install if needed, migrate, demo data, serve on 127.0.0.1:$${PORT:-8000} + a Celery worker"
	@echo "make serve    production profile: migrate, collectstatic, gunicorn + worker(s) + scheduler on DATABASE_URL/CELERY_BROKER_URL"
	@echo "make test     ruff, manifest/schema/migration checks, pytest on Postgres + Redis (PYTEST_ARGS=...)"
	@echo "make install  create .venv and pip install -e \".[dev]\" (skipped while pyproject.toml is unchanged)"
	@echo "make bench    runtime vs DBOS Transact vs raw Celery, one table (~8 min; BENCH_QUICK=1 ~1 min)"
	@echo "make scale    scale-out drill: 3 workers, 10,000 runs, a SIGKILL and a broker restart (~5 min; SCALE_RUNS=...)"

run:
	@bash scripts/run.sh

serve:
	@bash scripts/serve.sh

test:
	@bash scripts/test.sh $(PYTEST_ARGS)

install:
	@bash scripts/venv.sh

bench:
	@bash bench/bench.sh

scale:
	@bash bench/scale.sh
