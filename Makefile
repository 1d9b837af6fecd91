# The two commands a fresh clone needs (see README.md):
#   make demo   - a simulated contact-centre day through the real functions
#   make test   - every test, against the local stack
# Both set themselves up: toolchain components, Python venv with moto, tables, secret.

SHELL := /bin/bash
CARGO ?= cargo
SCENARIO ?= infra/scenarios/demo-day.json
# Extra demo arguments, e.g. DEMO_ARGS="--no-person-edit --hours 6" (see `target/debug/demo --help`).
DEMO_ARGS ?=

.PHONY: setup build test demo lint package bench-perf bench-pacing clean stack-up stack-down

setup:
	@bash infra/setup.sh

build: setup
	$(CARGO) build --workspace --all-targets --locked

lint: setup
	$(CARGO) fmt --all -- --check
	.venv/bin/cfn-lint template.yaml
	@# SAM's transform and its linter (offline: a region is all it needs), then
	@# checkov (each finding left is skipped, with its reason, in the template).
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} SAM_CLI_TELEMETRY=0 .venv/bin/sam validate --lint --template template.yaml
	.venv/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	bash infra/unused-deps.sh

test: build lint
	bash infra/with-stack.sh $(CARGO) test --workspace --locked --no-fail-fast
	@# The deploy build, so that it cannot rot: arm64 release as sam build does it,
	@# without LTO to fit CI's time (PACKAGE_QUICK, docs/performance.md).
	PACKAGE_QUICK=1 bash infra/package.sh

demo: build
	bash infra/with-stack.sh --scenario $(SCENARIO) target/debug/demo --scenario $(SCENARIO) $(DEMO_ARGS)

# The arm64 release build of every function the template declares, laid out
# as `sam build` lays it out (.aws-sam/build/<LogicalId>/bootstrap), a zip per
# function (.aws-sam/zips/) and a table of their sizes (infra/package.sh).
package: setup
	bash infra/package.sh

# Cold start, warm latency and peak RSS of every function under the local
# Runtime API, beside a Python/boto3 handler (docs/performance.md); then the
# criterion benches. PERF_ARGS, e.g. PERF_ARGS="--cold 3 --warm 20".
PERF_ARGS ?=
bench-perf: setup
	$(CARGO) build --locked -p perf-bench
	bash infra/with-stack.sh target/debug/perf-bench $(PERF_ARGS)
	$(CARGO) bench --locked -p shared --benches

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
