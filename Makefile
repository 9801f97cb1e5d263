# Set-up and checks for a fresh clone. `make test` is what CI runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The lean CPU build of PyTorch; the library itself accepts any torch>=2.1.
TORCH_PIN ?= torch==2.13.0
# PaddleOCR's PP-OCRv4 ONNX files ship in this wheel (Apache-2.0): the real weights of the OCR parity tests and of
# `make demo`. It is installed without its dependencies (they pull opencv-python, which must not sit next to
# opencv-python-headless); only its ONNX files are read by us, its code only by the parity test.
RAPIDOCR_PIN ?= rapidocr_onnxruntime==1.4.4
PYTEST_ARGS ?=

.PHONY: test venv demo bench lint clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[onnx-cpu,ocr,test]"
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python "$(RAPIDOCR_PIN)"
	touch $@

venv: $(VENV)/.installed

# pytest exits with 5 when it collected nothing: that is a failure, not a pass.
test: $(VENV)/.installed
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# OCR on real weights, offline: the PP-OCRv4 models of the rapidocr wheel (installed with the venv) go into the
# cache (INFERENCE_HOME) as ordinary packages; OFFLINE_MODE=1 shows that no model hub is needed.
demo: $(VENV)/.installed
	$(PY) scripts/install_ppocr_packages.py
	OFFLINE_MODE=1 $(PY) examples/ocr_demo.py examples/assets/page.png --output-dir demo-output

# End to end and cold start of inference-exp vs a bare ONNX Runtime floor, Ultralytics and inference-models on the
# YOLOv8n fixtures (benchmarks/bench.py): prints the tables, writes benchmarks/results/latest.json. Each peer gets its
# own venv under benchmarks/.venvs/ on the first run (~2.5 min, ~13 GB of disk, wheels from the local cache); the
# OpenBLAS overrides of this machine are dropped for this command only (they slow a current numpy).
BENCH_ARGS ?=
bench: $(VENV)/.installed
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/bench.py $(BENCH_ARGS)

lint: $(VENV)/.installed
	$(PY) -m pip install --quiet ruff
	$(VENV)/bin/ruff check inference_exp tests benchmarks scripts examples

clean:
	rm -rf $(VENV) .pytest_cache
