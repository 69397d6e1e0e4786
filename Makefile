# The two commands of the README: `make demo` and `make test`. Each sets everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9

.PHONY: setup demo test lint lock bench browser

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q "uv==$(UV_VERSION)"
	$(UV) pip install -q --compile-bytecode --python $(PY) -r requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	touch $@

demo: setup
	$(VENV)/bin/kura demo

test: setup browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

# The steward's report is tested in headless Chromium: Debian's package, not a downloaded browser.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the report's browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

lint: setup
	$(VENV)/bin/ruff check .

# Re-resolve the pinned versions (needs the package registry). The cloud extras are locked too,
# so the tests of the gs:// and s3:// paths run everywhere.
lock:
	$(UV) pip compile pyproject.toml --extra dev --extra gcp --extra aws --python-version 3.11 -o requirements.lock

bench: setup
	$(PY) -m bench.run_all
