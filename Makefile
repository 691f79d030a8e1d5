# The two commands the README promises: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

SOUNDS_DIR ?= var/sounds/vi

.PHONY: prompts run audit test test-unit test-ivr test-integration test-asr test-browser test-rasa lint bench clean translations

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The console's English catalogue. The compiled .mo is kept in the tree (an installed package
# needs no build step); it is recompiled whenever the .po is newer, and a unit test checks that
# it matches the .po.
CATALOG := agents_console/translations/en/LC_MESSAGES
$(CATALOG)/messages.mo: $(CATALOG)/messages.po $(STAMP)
	$(BIN)/pybabel compile -d agents_console/translations -D messages

# After changing console strings: extract them, merge into the .po (then translate the new
# msgstr entries) and compile.
translations: $(STAMP)
	mkdir -p var
	$(BIN)/pybabel extract -F agents_console/babel.cfg -k _l -k lazy_gettext --no-location \
	  --sort-output --omit-header -o var/console.pot .
	$(BIN)/pybabel update -i var/console.pot -d agents_console/translations -D messages \
	  --width 100 --ignore-obsolete
	$(BIN)/pybabel compile -d agents_console/translations -D messages --statistics

run: $(STAMP) $(CATALOG)/messages.mo
	$(BIN)/hotline run

# The IVR's Vietnamese prompts as 8 kHz WAV files (espeak-ng + sox) under $(SOUNDS_DIR)/hotline/.
# Existing files (studio recordings) are kept; `make prompts PROMPTS_FLAGS=--force` replaces them.
prompts: $(STAMP)
	$(BIN)/python -m ivr.make_prompts --dir $(SOUNDS_DIR) $(PROMPTS_FLAGS)

# Lint and types, then the unit tier (SQLite; speech on a synthetic Vosk model), the IVR tier
# (the FastAGI server as a process, on SQLite), the integration tier (PostgreSQL, Redis, real
# worker processes), the real-model speech tier (runs
# when VOSK_MODEL_PATH points at a model, says it skipped otherwise), the browser tier (the web
# chat page in a real Chromium) and the Rasa tier (a real Rasa server in its own environment).
test: $(STAMP) $(CATALOG)/messages.mo
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory audit
	$(BIN)/python -m pytest tests/unit -q
	$(BIN)/python -m pytest tests/ivr -q
	$(BIN)/python -m pytest tests/integration -q -m integration
	$(MAKE) --no-print-directory test-asr
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-rasa

# Known vulnerabilities in the installed dependencies (pip-audit, OSV). Fails on a finding;
# warns and goes on when the database cannot be reached (AUDIT_REQUIRED=1 makes that fail too).
audit: $(STAMP)
	BIN=$(BIN) bash .ci/audit

test-unit: $(STAMP) $(CATALOG)/messages.mo
	$(BIN)/python -m pytest tests/unit -q

# The telephone line: `hotline agi serve` as a real process on SQLite, Asterisk played by a
# peer speaking AGI over a socket (tests/ivr/agi_peer.py).
test-ivr: $(STAMP)
	$(BIN)/python -m pytest tests/ivr -q

test-integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration -q -m integration

# Speech with a real Vietnamese model: `hotline asr download`, then VOSK_MODEL_PATH=... make test-asr
test-asr: $(STAMP)
	$(BIN)/python -m pytest tests/asr -q -m asr

# The browser tier: Debian's Chromium (apt-get install chromium) driven by Playwright; the
# screenshots land in test-artifacts/browser/.
test-browser: $(STAMP) $(CATALOG)/messages.mo
	$(BIN)/python -m pytest tests/browser -q -m browser

# The Rasa tier: its own Python 3.10 environment (.rasa-venv, about 2.7 GB, 4 minutes to build),
# then validate, train and serve the Rasa project and run the conversations through it.
test-rasa: $(STAMP)
	bash bot/rasa-env/setup.sh
	$(BIN)/python -m pytest tests/rasa -q -m rasa

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/case_creation.py
	$(BIN)/python bench/nlu_engine.py
	$(BIN)/python bench/asr_speed.py
	$(BIN)/python bench/webhook_ack.py
	$(BIN)/python bench/registration_wave.py
	$(BIN)/python bench/agi_load.py
	$(BIN)/python bench/soak.py
	$(BIN)/python bench/console_queue.py
	$(BIN)/python bench/console_dashboard.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
