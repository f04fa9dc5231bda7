# Two commands: `make run` serves the tool with its embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export PLUGIN_CONFIG ?= instance/config.toml

.PHONY: run test lint lock translations messages clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d plugin/translations

# The development config: the example with the sandbox platform switched on.
# After adding _("…") strings: refresh the catalog, then translate the new entries.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o plugin/translations/messages.pot --no-location \
	  --sort-output --project dc-competency-tool .
	$(BIN)/pybabel update -i plugin/translations/messages.pot -d plugin/translations \
	  --no-fuzzy-matching

instance/config.toml:
	mkdir -p instance
	sed '/^\[sandbox\]/,/^\[/ s/^enabled = false/enabled = true/' config.example.toml > instance/config.toml

run: $(STAMP) translations instance/config.toml
	$(BIN)/flask --app plugin db upgrade
	$(BIN)/flask --app plugin framework load
	@echo "Serving the tool on http://$(HOST):$(PORT)/  (health: http://$(HOST):$(PORT)/healthz)"
	@echo "Config: $(PLUGIN_CONFIG) · stop with Ctrl-C"
	@# The grade worker (AGS passback) runs beside the server and stops when it stops.
	@$(BIN)/flask --app plugin grades worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	echo "Grade worker running (pid $$worker): sends queued scores to LMS gradebooks"; \
	$(BIN)/flask --app plugin run --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: $(STAMP) translations lint
	$(BIN)/python -m pytest

# Regenerate constraints.txt from a fresh resolve of pyproject.toml.
lock:
	rm -rf /tmp/dc-lock-venv && $(PYTHON) -m venv /tmp/dc-lock-venv
	/tmp/dc-lock-venv/bin/python -m pip install --quiet -e '.[test]'
	(echo "# Exact versions a fresh machine installs (make lock regenerates this file)."; \
	 /tmp/dc-lock-venv/bin/python -m pip freeze --exclude-editable) > constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
