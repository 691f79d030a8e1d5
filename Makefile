# The two commands the README promises: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-integration test-asr test-browser test-rasa lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hotline run

# Lint and types, then the unit tier (SQLite; speech on a synthetic Vosk model), the
# integration tier (PostgreSQL, Redis, real worker processes), the real-model speech tier (runs
# when VOSK_MODEL_PATH points at a model, says it skipped otherwise), the browser tier (the web
# chat page in a real Chromium) and the Rasa tier (a real Rasa server in its own environment).
test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest tests/unit -q
	$(BIN)/python -m pytest tests/integration -q -m integration
	$(MAKE) --no-print-directory test-asr
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-rasa

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

test-integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration -q -m integration

# Speech with a real Vietnamese model: `hotline asr download`, then VOSK_MODEL_PATH=... make test-asr
test-asr: $(STAMP)
	$(BIN)/python -m pytest tests/asr -q -m asr

# The browser tier: Debian's Chromium (apt-get install chromium) driven by Playwright; the
# screenshots land in test-artifacts/browser/.
test-browser: $(STAMP)
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

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
