# The two commands a fresh clone needs (see README.md):
#   make demo   - a simulated contact-centre day through the real functions
#   make test   - every test, against the local stack
# Both set themselves up: toolchain components, Python venv with moto, tables, secret.

SHELL := /bin/bash
CARGO ?= cargo
SCENARIO ?= infra/scenarios/demo-day.json
# Extra demo arguments, e.g. DEMO_ARGS="--no-person-edit --hours 6" (see `target/debug/demo --help`).
DEMO_ARGS ?=

.PHONY: setup build test demo lint bench-pacing clean stack-up stack-down

setup:
	@bash infra/setup.sh

build: setup
	$(CARGO) build --workspace --all-targets --locked

lint: setup
	$(CARGO) fmt --all -- --check
	.venv/bin/cfn-lint template.yaml

test: build lint
	bash infra/with-stack.sh $(CARGO) test --workspace --locked --no-fail-fast

demo: build
	bash infra/with-stack.sh --scenario $(SCENARIO) target/debug/demo --scenario $(SCENARIO) $(DEMO_ARGS)

bench-pacing:
	$(CARGO) run --release --locked -p pacing-bench -- --out docs/pacing-benchmark.md
	$(CARGO) run --release --locked -p pacing-bench --example unseen -- 100 7 > docs/pacing-unseen.md
	$(CARGO) run --release --locked -p pacing-bench --example unseen -- 300 14 25 > docs/pacing-unseen-small-14.md
	$(CARGO) run --release --locked -p pacing-bench --example unseen -- 300 16 25 > docs/pacing-unseen-small-16.md
	$(CARGO) run --release --locked -p pacing-bench --example unseen -- 300 17 25 > docs/pacing-unseen-small-17.md

stack-up: setup
	bash infra/stack.sh up

stack-down:
	bash infra/stack.sh down

clean: stack-down
	$(CARGO) clean
