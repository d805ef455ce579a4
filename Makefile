# SaveGame: `make run` for the demo, `make test` for the whole suite. Only Python 3.11+ needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# `make run` has the production shape: pages on PORT (gunicorn), streams on LIVE_PORT (the live process);
# pages open their streams on the same host at LIVE_PORT (credentialed CORS for that host only).
LIVE_PORT ?= 8001
export PORT

.PHONY: install migrate seed run test stop clean smoke

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
	rm -rf .data/prometheus  # prometheus-client multiprocess files of the last run (docs/OPERATIONS.md)
	DEBUG=$${DEBUG:-1} LIVE_PORT=$(LIVE_PORT) $(VENV)/bin/honcho -f Procfile.dev start

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# Smoke test any deployment: readyz, one login, one simulated payment (deploy/smoke.py). Against `make run`
# the callback URL and the organization's Paybill come from this checkout's `mpesa_urls` (same embedded
# servers); elsewhere set SMOKE_CALLBACK_URL and SMOKE_SHORTCODE (and SMOKE_PHONE, SMOKE_SMS_FILE).
SMOKE_ORG ?= $(firstword $(subst ., ,$(patsubst http://%,%,$(patsubst https://%,%,$(URL)))))
smoke: install
	@test -n "$(URL)" || { echo "usage: make smoke URL=http://umoja.localhost:8000"; exit 2; }
	urls="$$($(PY) manage.py mpesa_urls --org $(SMOKE_ORG) 2>/dev/null)"; \
	SMOKE_CALLBACK_URL="$${SMOKE_CALLBACK_URL:-$$(echo "$$urls" | $(PY) -c 'import json, sys; from urllib.parse import urlsplit; u = urlsplit(json.load(sys.stdin)["confirmation"]); print("$(URL)".rstrip("/") + u.path)' 2>/dev/null)}" \
	SMOKE_SHORTCODE="$${SMOKE_SHORTCODE:-$$(echo "$$urls" | $(PY) -c 'import json, sys; print(json.load(sys.stdin)["shortcode"])' 2>/dev/null)}" \
		$(PY) deploy/smoke.py --url "$(URL)"

stop:
	$(PY) -c "from pathlib import Path; from savegame.embedded import stop, data_dir; stop(data_dir(Path('.')))"

clean: stop
	rm -rf .data staticfiles
