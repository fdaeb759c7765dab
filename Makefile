# Weft — the whole set-up is `make run` (try it) and `make test` (check it).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?= -n 2

.PHONY: install run test test-fast lint format bench vendor messages worker beat clean-db

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import django, celery, playwright"
	@touch $(STAMP)

install: $(STAMP)

# Embedded mode: SQLite file, Celery tasks in-process, mail to the console, demo data.
run: install
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 $(BIN)/python manage.py seed_demo --if-empty
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Everything but the browser tests.
test-fast: install
	$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: install
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	DEBUG=1 DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/python -m ruff format .
	$(BIN)/python -m ruff check --fix .

bench: install
	$(BIN)/python bench/run.py

# Refresh static/vendor from the npm registry (needs npm; the copied files are committed,
# so running Weft never needs npm or the internet).
vendor:
	npm ci --no-audit --no-fund
	sh static/vendor/update.sh

# Re-extract and compile translations (needs GNU gettext: apt-get install gettext).
messages: install
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=node_modules
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv

worker: install
	$(BIN)/celery -A config worker -l info

beat: install
	$(BIN)/celery -A config beat -l info
