# Two commands on a fresh machine: `make quickstart` and `make test`. Both set up .venv first.
.PHONY: setup quickstart test test-all bench lint

VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/specc run specs/quickstart.toml

# Two workers, one test file each at a time, one torch thread per process: much of the suite is
# single-threaded (subprocess start-up, imports, tokenizing), so two files at once fill both cores.
test: $(STAMP)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(VENV)/bin/python -m pytest -n 2 --dist loadfile

test-all: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m pytest -m ""

bench: $(STAMP)
	$(VENV)/bin/python -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
