# Two entry points: `make demo` and `make test`. Both install what they need first:
# Debian packages when a binary is missing (needs root), Python packages into .venv.
SHELL := /bin/bash
# Bytecode is written (a sandbox may set PYTHONDONTWRITEBYTECODE): every `onramp` and
# worker process the tests and the demo start compiled all of onramp from source again,
# ~0.5 s of CPU a start on a slow machine.
unexport PYTHONDONTWRITEBYTECODE
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# binary:package pairs (globs allowed); apt-get runs only when one of these binaries is missing
SYSTEM_DEPS := /usr/lib/frr/zebra:frr /usr/lib/frr/frr-reload.py:frr-pythontools /usr/sbin/sshd:openssh-server /usr/bin/ssh:openssh-client \
	/usr/sbin/ip:iproute2 /usr/sbin/tc:iproute2 /usr/bin/iperf3:iperf3 /usr/sbin/nft:nftables /usr/bin/ping:iputils-ping /usr/bin/pgrep:procps \
	/usr/bin/unshare:util-linux /usr/lib/postgresql/*/bin/initdb:postgresql \
	/usr/lib/rabbitmq/bin/rabbitmq-server:rabbitmq-server /usr/bin/redis-server:redis-server \
	/usr/bin/chromium:chromium /usr/bin/chromedriver:chromium-driver \
	/usr/sbin/traceroute:traceroute

.PHONY: demo test deps venv nautobot nautobot-fixture gen lint unit bench clean ansible-sanity ansible-collection

# make demo VIA=api: the same story ordered through the REST API with onramp.client;
# make demo SERVE=1: then the API, the Portal and the workers stay up (Ctrl-C stops)
VIA ?= cli
SERVE ?=
demo: deps venv
	$(BIN)/onramp demo --via $(VIA) $(if $(SERVE),--serve)

# venv and nautobot side by side, then gen and lint beside nautobot's (pip waits on the disk
# and the network, mypy on a core): one after another they were minutes of a fresh clone's
# run. The tests that need Nautobot's or the generator's venv make it themselves, under a
# lock, if it is not there.
test: deps
	$(MAKE) -j3 --output-sync=target --no-print-directory nautobot gen lint
	$(MAKE) --no-print-directory unit

# Nautobot for tests/inventory/test_nautobot.py, in a venv of its own (its Django pins
# stay out of .venv); the release is pinned in tests/nautobot_server.py
nautobot:  # on the system Python: Nautobot's venv is not .venv's, so it need not wait for it
	$(PYTHON) -c 'from tests.nautobot_server import ensure_venv; ensure_venv()'

# tests/fixtures/nautobot-<version>.dump again, from `migrate` on an empty database (after a
# Nautobot upgrade, or when test_the_shipped_schema_is_all_this_nautobot_migrates says so)
nautobot-fixture: venv
	$(BIN)/python -c 'from tests.nautobot_server import make_fixture; print(make_fixture())'

# openapi-python-client for tests/api/test_generated_client.py, in a venv of its own (it
# pins an older Typer than onramp's); the release is pinned in that test
gen: venv
	$(BIN)/python -c 'from tests.api.test_generated_client import ensure_venv; ensure_venv()'

# The customers' Ansible collection: ansible-test's sanity suite (needs the network: it
# downloads pip's bootstrap script and each test's requirements into venvs of its own), and
# the tarball `ansible-galaxy collection install` takes (dist/)
COLLECTION := ansible_collections/onramp/interconnect
ansible-sanity: venv
	cd $(COLLECTION) && PATH=$(abspath $(BIN)):$$PATH ansible-test sanity --python 3.11
ansible-collection: venv
	$(BIN)/ansible-galaxy collection build $(COLLECTION) --output-path dist --force

# Services installed here (postgresql, rabbitmq-server) are started by the tests that need
# them, as instances of their own: a temporary policy-rc.d keeps apt from starting the
# system ones.
deps:
	@missing=""; for pair in $(SYSTEM_DEPS); do \
	  compgen -G "$${pair%%:*}" >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root for apt-get (or install:$$missing)"; exit 1; fi; \
	  policy=/usr/sbin/policy-rc.d; made=""; \
	  if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy; chmod +x $$policy; made=1; fi; \
	  rc=0; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing >/dev/null || rc=$$?; \
	  [ -z "$$made" ] || rm -f $$policy; [ $$rc = 0 ]; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "onramp needs Python 3.11+"'
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages into $(VENV) (log: $(VENV)/pip.log)"
	@$(BIN)/pip install -q --upgrade pip >$(VENV)/pip.log 2>&1 || { tail -20 $(VENV)/pip.log; exit 1; }
	@# --no-compile: pip's bytecode for every installed module was half of this install (119 ->
	@# 59 s on a fresh venv); what a run imports is compiled once, when first imported
	@$(BIN)/pip install --no-compile -e '.[dev]' >>$(VENV)/pip.log 2>&1 || { tail -40 $(VENV)/pip.log; exit 1; }
	@touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# -n 3 on 2 cores: the lab tests mostly wait (BGP, the simulators, the workers), so a third
# worker fills the idle CPU: a clean clone's run took 21:07 against 30:05 with -n 2, the same
# 3,500 s of test work (each module's lab, and each worker's shared lab, on 172.20.<octet>)
unit: venv
	$(BIN)/pytest -n 3 --dist loadfile --durations=30  # a module and its lab on one worker; the 30 slowest steps in every CI log

bench: deps venv
	$(BIN)/python bench/lab_up.py
	$(BIN)/python bench/allocation.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/diff.py

clean:
	-$(BIN)/onramp lab down
	rm -rf $(VENV) .venv-nautobot .venv-gen .pytest_cache .mypy_cache .ruff_cache
