# Two entry points for a fresh machine: `make demo` and `make test`. Each installs what it needs
# into ./.venv (once; reused while pyproject.toml and constraints.txt are unchanged).
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
OUT    ?= out
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test bench clean browser

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first and pinned: sam2 is compiled against the torch already present.
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -e ".[sam2,test,ray]"
	# sam2's metadata requires torchvision (no CPU build here; the video predictor never imports it).
	SAM2_BUILD_CUDA=0 $(PIP) install -q -c constraints.txt --no-deps --no-build-isolation sam2==1.1.0
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vgdata sample $(OUT)/sample
	$(VENV)/bin/vgdata build flows/configs/demo.yaml
	$(VENV)/bin/vgdata report $(OUT)
	# where allenai/molmo2's own code reads the build (MOLMO_DATA_DIR=$(OUT)-molmo2)
	$(VENV)/bin/vgdata export molmo2 $(OUT) --to $(OUT)-molmo2

test: $(STAMP) browser
	$(PY) -m pytest -q tests

# The report's browser test needs Chromium (Debian package). Installed when missing and possible
# (root, apt-get); otherwise that one test says it is skipped and why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)); } || \
	  echo "chromium not installed: the report's browser test will be skipped"

bench: $(STAMP)
	$(PY) benchmarks/segmenter_speed.py
	$(PY) benchmarks/video_writing.py
	$(PY) benchmarks/mask_sources.py --n 300 --rss 100 1000
	$(PY) benchmarks/rates.py
	$(PY) benchmarks/export_molmo2.py
	$(PY) benchmarks/workers.py

clean:
	rm -rf $(OUT) $(OUT)-molmo2 .pytest_cache
