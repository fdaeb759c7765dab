# Weft — the whole set-up is `make run` (try it) and `make test` (check it).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?= -n 2

.PHONY: install run test test-fast lint format bench vendor messages worker beat clean-db \
	stack stack-stop system load faults restore-drill

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

# The production stack on this machine (docs/reliability.md): gunicorn ×2, 2 workers, beat on
# PostgreSQL (database weft_stack) and Redis (db 5), port 8105, state in /tmp/weft-stack.
stack: install
	$(BIN)/python bench/stack.py start

stack-stop: install
	$(BIN)/python bench/stack.py stop

# The acceptance journey through the stack (starts it when it is not running, stops it after).
system: install
	WEFT_SYSTEM=1 $(BIN)/python -m pytest tests/system -p no:xdist -v

# Locust against the stack, headless; CSV stats in bench/results/. Full run: USERS=50 DURATION=10m.
USERS ?= 50
DURATION ?= 10m
load: install
	$(BIN)/python bench/load.py --users $(USERS) --duration $(DURATION)

# Fault drills (kill a worker, restart PostgreSQL and Redis, fill the upload disk). Restarts the
# machine's PostgreSQL and Redis: never on a machine others are using.
faults: install
	$(BIN)/python bench/faults.py

# Backup (deploy/backup.sh), wipe, restore, compare row counts and checksums.
restore-drill: install
	$(BIN)/python bench/restore_drill.py
