# SaveGame: `make run` for the demo, `make test` for the whole suite. Only Python 3.11+ needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
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
	@echo "Starting web (uvicorn), Celery worker, beat and the local Daraja simulator. Ctrl-C stops them."
	rm -rf .data/prometheus  # prometheus-client multiprocess files of the last run (docs/OPERATIONS.md)
	DEBUG=$${DEBUG:-1} $(VENV)/bin/honcho -f Procfile.dev start

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

stop:
	$(PY) -c "from pathlib import Path; from savegame.embedded import stop, data_dir; stop(data_dir(Path('.')))"

clean: stop
	rm -rf .data staticfiles
