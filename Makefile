# The two commands a newcomer needs: `make demo` (the main job) and `make test`.
# Both create .venv and install everything on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hmworld-installed
# the engine's own generated `unreal` stubs (UE 5.5.4 and 5.6.0) for tests/ue5/test_ue_api_stubs.py;
# two versions of one package, so each goes into its own folder (pip --target), not site-packages
STUBS := $(VENV)/unreal-stubs/.installed
DEMO ?= data/demo

.PHONY: venv demo test lint bench clean browser

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,train,caption,ray,yolo]'
	# the oldest typer pyproject allows, beside the newest: tests/test_cli_usage.py runs the CLI with both
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(VENV)/typer-oldest typer==0.18.0 click
	touch $(STAMP)

$(STUBS): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(VENV)/unreal-stubs/5.5 unreal-stub==0.2.1
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(VENV)/unreal-stubs/5.6 unreal-stub==0.3
	touch $(STUBS)

venv: $(STAMP) $(STUBS)

# The main job: a small dataset end to end with the embedded renderer
# (plan → render → events → captions → parquet + card → validate). Resumable.
demo: $(STAMP)
	$(BIN)/hmworld plan --out $(DEMO)/plan.parquet --scenes park,beach,city_street,farmyard,village_square --clips 10 --seed 0
	$(BIN)/hmworld render --plan $(DEMO)/plan.parquet --out $(DEMO) --workers 2
	$(BIN)/hmworld filter-events $(DEMO)
	$(BIN)/hmworld caption $(DEMO)
	$(BIN)/hmworld package $(DEMO)
	$(BIN)/hmworld validate $(DEMO)
	$(BIN)/hmworld preview "$$(ls -d $(DEMO)/clips/*/ | head -n 1)" --out $(DEMO)/preview.png
	$(BIN)/hmworld report $(DEMO) --out $(DEMO)/report
	@echo "report: $$(cd $(DEMO)/report && pwd)/index.html"

test: $(STAMP) $(STUBS) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The report's tests drive a real headless Chromium (Debian's package, through Playwright).
# As root (CI) it is installed with apt; elsewhere those tests skip, saying how to install it.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (apt) for the report's browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "could not install chromium; the browser tests will skip (or fail under CI=true)"; \
	else echo "no chromium: the browser tests will skip; install it with: sudo apt-get install chromium"; fi

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(DEMO)
