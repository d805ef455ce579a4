# SaveGame: `make run` for the demo, `make test` for the whole suite. Only Python 3.11+ needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# `make run` has the production shape: pages on PORT (gunicorn), streams on LIVE_PORT (the live process);
# pages open their streams on the same host at LIVE_PORT (credentialed CORS for that host only).
LIVE_PORT ?= 8001
export PORT

.PHONY: install migrate seed run test stop clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate_all -v 0

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	$(PY) manage.py collectstatic --noinput -v 0
	@echo ""
	@echo "Platform console: http://localhost:$(PORT)/admin/  (make a login: $(PY) manage.py createsuperuser)"
	@echo "Starting web (gunicorn, :$(PORT)), live streams (uvicorn, :$(LIVE_PORT)), Celery worker, beat and the local Daraja simulator. Ctrl-C stops them."
	DEBUG=$${DEBUG:-1} LIVE_PORT=$(LIVE_PORT) $(VENV)/bin/honcho -f Procfile.dev start

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

stop:
	$(PY) -c "from pathlib import Path; from savegame.embedded import stop, data_dir; stop(data_dir(Path('.')))"

clean: stop
	rm -rf .data staticfiles
