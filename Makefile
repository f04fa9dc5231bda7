# Two commands: `make run` serves the tool with its embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The local Ralph LRS lives in a venv of its own: ralph-malph[cli,lrs] pins versions (click
# among them) that clash with the tool's. constraints-lrs.txt pins it; its lrs extra lacks
# requests, so that is installed beside it.
LRS_VENV := .venv-lrs
LRS_STAMP := $(LRS_VENV)/.installed
LRS_HOST := 127.0.0.1
LRS_PORT ?= 8100
HOST ?= 127.0.0.1
PORT ?= 5000
export PLUGIN_CONFIG ?= instance/config.toml

.PHONY: run test check lint lock translations messages mutation clean

# Waits up to a minute for the URL in argv[1] to answer 200 (make run prints the addresses then).
define WAIT_FOR_TOOL
import sys, time, urllib.request
for _ in range(600):
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200:
            sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(f"the tool did not answer at {sys.argv[1]}")
endef
export WAIT_FOR_TOOL

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,sandbox]'
	touch $(STAMP)

# Front-end packages (axe-core, scorm-again, @xapi/cmi5): exactly what package-lock.json pins,
# into the git-ignored node_modules/, served by the tool under /vendor/ (plugin/web/vendor.py).
NPM_STAMP := node_modules/.installed

$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

$(LRS_STAMP): constraints-lrs.txt
	test -x $(LRS_VENV)/bin/python || $(PYTHON) -m venv $(LRS_VENV)
	$(LRS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LRS_VENV)/bin/python -m pip install --quiet -c constraints-lrs.txt 'ralph-malph[cli,lrs]' requests
	touch $(LRS_STAMP)

# mutmut in a venv of its own (it is a tool for this target only, not a test dependency).
MUTATION_VENV := .venv-mutation
MUTATION_STAMP := $(MUTATION_VENV)/.installed

$(MUTATION_STAMP): pyproject.toml constraints.txt
	test -x $(MUTATION_VENV)/bin/python || $(PYTHON) -m venv $(MUTATION_VENV)
	$(MUTATION_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MUTATION_VENV)/bin/python -m pip install --quiet -c constraints.txt mutmut==3.8.1 \
	  -e '.[test,sandbox]'
	touch $(MUTATION_STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d plugin/translations

# The development config: the example with the sandbox platform switched on.
# After adding _("…") strings: refresh the catalog, then translate the new entries.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o plugin/translations/messages.pot --no-location \
	  --sort-output --width 100 --project dc-competency-tool .
	$(BIN)/pybabel update -i plugin/translations/messages.pot -d plugin/translations \
	  --no-fuzzy-matching --width 100

instance/config.toml:
	mkdir -p instance
	sed '/^\[sandbox\]/,/^\[/ s/^enabled = false/enabled = true/' config.example.toml > instance/config.toml

# Under make run the development defaults follow the ports: the tool's URL (127.0.0.1:PORT),
# the sandbox's (localhost:PORT) and the local Ralph's endpoint (127.0.0.1:LRS_PORT)
# (plugin/core/config.py).
run: export PLUGIN_DEV_PORT := $(PORT)
run: export PLUGIN_DEV_LRS_PORT := $(LRS_PORT)
run: $(STAMP) $(NPM_STAMP) translations instance/config.toml
	$(BIN)/flask --app plugin db upgrade
	$(BIN)/flask --app plugin framework load
	@echo "Config: $(PLUGIN_CONFIG) · stop with Ctrl-C"
	@# Beside the server, stopped with it: the local Ralph LRS (when no [[xapi.lrs]] is
	@# configured; it gets the credentials the config generated), the grade worker (AGS
	@# passback) and the statement worker (xAPI). The addresses are printed last, once the
	@# tool answers.
	@lrs_credentials=$$($(BIN)/flask --app plugin xapi local-lrs) || exit 1; \
	if [ -n "$$lrs_credentials" ]; then $(MAKE) --no-print-directory $(LRS_STAMP) || exit 1; fi; \
	pids=""; \
	trap 'kill $$pids 2>/dev/null; wait $$pids 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	if [ -n "$$lrs_credentials" ]; then \
	  $(LRS_VENV)/bin/python lrs/run_ralph.py --host $(LRS_HOST) --port $(LRS_PORT) \
	    --data-dir "$$(dirname "$$lrs_credentials")/lrs" --credentials-file "$$lrs_credentials" & \
	  pids="$$pids $$!"; \
	  echo "Ralph LRS running (pid $$!) on http://$(LRS_HOST):$(LRS_PORT)/xAPI/: stores the statements"; \
	fi; \
	$(BIN)/flask --app plugin grades worker & pids="$$pids $$!"; \
	echo "Grade worker running (pid $$!): sends queued scores to LMS gradebooks"; \
	$(BIN)/flask --app plugin xapi worker & pids="$$pids $$!"; \
	echo "Statement worker running (pid $$!): sends queued xAPI statements to the LRS"; \
	$(BIN)/flask --app plugin run --host $(HOST) --port $(PORT) & server=$$!; pids="$$pids $$server"; \
	$(BIN)/python -c "$$WAIT_FOR_TOOL" "http://127.0.0.1:$(PORT)/healthz" || exit 1; \
	echo; \
	echo "The tool:    http://127.0.0.1:$(PORT)/  (health: http://127.0.0.1:$(PORT)/healthz)"; \
	echo "The sandbox: http://localhost:$(PORT)/sandbox  <- open this to try it as each role"; \
	wait $$server

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: $(STAMP) $(LRS_STAMP) $(NPM_STAMP) translations lint
	$(BIN)/python -m pytest

# The fast part while developing: everything but the browser tests and the load test.
check: $(STAMP) $(LRS_STAMP) $(NPM_STAMP) translations lint
	$(BIN)/python -m pytest -m "not browser and not load"

# Mutation testing ([tool.mutmut] in pyproject.toml names the tests): every mutant of the roll-up
# engine, and those of the launch checks, where a survivor may change a message, never a decision.
# _check_claims hands each claim to a checker of its own; all of them are the launch checks.
LAUNCH_CHECKS := claims message_type deployment_id resource_link grade_service \
  deep_linking_settings state deployment
MUTANTS := 'plugin.rollup.engine.*' \
  $(foreach check,$(LAUNCH_CHECKS),'plugin.lti.launch.x__check_$(check)__mutmut_*')
mutation: $(MUTATION_STAMP)
	rm -rf mutants
	$(MUTATION_VENV)/bin/mutmut run --max-children 2 $(MUTANTS)
	@$(MUTATION_VENV)/bin/mutmut results --all true | awk -F': ' \
	  '/rollup\.engine\./ { e++; if ($$2 == "killed") ek++ } \
	   /launch\.x__check_(claims|message_type|deployment_id|resource_link|grade_service|deep_linking_settings|state|deployment)__/ { l++; if ($$2 == "killed") lk++ } \
	   $$2 != "killed" && $$2 != "not checked" { print } \
	   END { printf "engine: %d of %d mutants killed; launch checks: %d of %d\n", ek, e, lk, l }'

# Regenerate constraints.txt from a fresh resolve of pyproject.toml.
lock:
	rm -rf /tmp/dc-lock-venv && $(PYTHON) -m venv /tmp/dc-lock-venv
	/tmp/dc-lock-venv/bin/python -m pip install --quiet -e '.[test,sandbox]'
	(echo "# Exact versions a fresh machine installs (make lock regenerates this file)."; \
	 /tmp/dc-lock-venv/bin/python -m pip freeze --exclude-editable) > constraints.txt

clean:
	rm -rf $(VENV) $(LRS_VENV) $(MUTATION_VENV) node_modules mutants build *.egg-info .pytest_cache .ruff_cache \
	  .mypy_cache
