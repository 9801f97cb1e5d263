# Set-up and checks for a fresh clone. `make test` is what CI runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The lean CPU build of PyTorch; the library itself accepts any torch>=2.1.
TORCH_PIN ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: test venv demo bench lint clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[onnx-cpu,test]"
	touch $@

venv: $(VENV)/.installed

# pytest exits with 5 when it collected nothing: that is a failure, not a pass.
test: $(VENV)/.installed
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: $(VENV)/.installed
	$(PY) -m pip install --quiet ruff
	$(VENV)/bin/ruff check inference_exp tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
