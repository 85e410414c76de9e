# koperator-rs: the two commands a user needs are `make run` and `make test`.
# Builds are cached outside the repo (keyed by version) so warm runs are quick.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

KOPERATOR_CACHE ?= $(HOME)/.cache/koperator
export KOPERATOR_CACHE
export CARGO_TARGET_DIR ?= $(shell e2e/cargo-target-dir)
export CARGO_TERM_COLOR ?= never
# Incremental caches only help edit-compile loops, and grow by gigabytes per change set.
export CARGO_INCREMENTAL ?= 0
CARGO ?= cargo

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: run
run: prune-target-dirs bootstrap ## the main job: test bed, controllers, a sample KafkaCluster and topic, a message through kcat, status
	e2e/run-local.sh

.PHONY: test
test: prune-target-dirs fmt-check clippy unit e2e ## the whole suite: format, lints, unit and API tests, CRD sync, end-to-end

.PHONY: prune-target-dirs
prune-target-dirs: ## drop other checkouts' stale cargo target dirs and incremental caches
	e2e/prune-target-dirs

.PHONY: fmt-check
fmt-check: ## fail on unformatted code
	$(CARGO) fmt --all -- --check

.PHONY: clippy
clippy: ## lints, warnings denied
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

.PHONY: unit
unit: ## unit tests, API round trips, admission rules, CRD sync check
	$(CARGO) test --workspace --locked --exclude e2e-tests

.PHONY: e2e
e2e: bootstrap ## end-to-end tests on the local test bed (started and stopped if not already up)
	e2e/run-tests.sh

.PHONY: crds
crds: ## regenerate deploy/crds from crates/crd-types
	$(CARGO) run --quiet --locked -p crd-types --bin crdgen -- deploy/crds

.PHONY: bootstrap
bootstrap: ## build or fetch the test bed's real components into $(KOPERATOR_CACHE)
	bash e2e/bootstrap/bootstrap.sh

.PHONY: testbed
testbed: bootstrap ## start the local Kubernetes test bed (kubeconfig: target/testbed/kubeconfig)
	e2e/testbed up

.PHONY: testbed-down
testbed-down: ## stop the test bed and everything it started
	e2e/testbed down

.PHONY: fmt
fmt: ## format the code
	$(CARGO) fmt --all
