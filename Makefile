# Everything a user or CI needs starts here. `make test` and `make run` create their own virtual environment.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=
LABELS ?= ../shared/data/invoices/labels.jsonl
REPORT ?= build/eval-report.json

.PHONY: help venv test unit integration lint run eval clean require-terraform require-rds-ca
# build/ is also a folder: without this, `make build` (and so plan and deploy) would find it "up to date".
.PHONY: build tf-init plan deploy destroy checkov-venv parliament-venv bench

# The venv is installed with --no-compile: a module is compiled on its first import and its bytecode kept in
# __pycache__ (ignored by git) for every later process. Where the environment sets PYTHONDONTWRITEBYTECODE
# (some machine images do), nothing is kept, and every process compiles again what it imports: the test
# suite starts hundreds (the CLI, local mode, moto's server), each spending seconds compiling moto and boto3.
unexport PYTHONDONTWRITEBYTECODE

help:
	@echo "make run          run the pipeline locally on sample documents and print the results"
	@echo "make test         create .venv and run the whole test suite"
	@echo "make unit         unit tests only (fast)"
	@echo "make integration  integration tests only (Postgres + AWS emulation)"
	@echo "make lint         ruff and mypy"
	@echo "make build        the Lambda code package and dependency layer (build/lambda/*.zip)"
	@echo "make tf-init      terraform init from the local provider mirror (no registry access)"
	@echo "make plan         build, then plan a deployment to the AWS account of terraform/terraform.tfvars"
	@echo "make deploy       build, then apply that deployment (asks for confirmation; AUTO_APPROVE=1 does not)"
	@echo "make destroy      destroy that deployment (asks for confirmation)"
	@echo "make eval         local engine accuracy per field (LABELS=path/labels.jsonl REPORT=path.json)"
	@echo "make bench        the benchmarks of docs/performance.md -> bench/results.json (BENCH_ARGS=--burst ...)"

# Local mode and the tests deploy the pipeline with Terraform (the one deployment path): without it, say so
# in one line and stop before building anything.
REQUIRE_TERRAFORM = $(if $(shell command -v $(TERRAFORM) 2>/dev/null),,$(error terraform is not on PATH: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)))

require-terraform:
	$(REQUIRE_TERRAFORM)

$(STAMP): pyproject.toml
	@echo "creating $(VENV) from pyproject.toml (about a minute, once)"
	$(PYTHON) -m venv $(VENV)
	@# -qq: errors only (a machine's pip configuration can warn about every package otherwise); --no-compile:
	@# modules compile on first import instead, and most of the installed ones are never imported.
	$(BIN)/pip install -qq --disable-pip-version-check --no-compile -e '.[dev,local]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

# pdf.js for the web page's review view (PDF pages render in the browser): the pinned, integrity-checked
# pdfjs-dist tarball from the npm registry, unpacked into build/pdfjs/ once (local/invoice_local/vendor_pdfjs.py).
PDFJS := build/pdfjs/pdf.min.mjs
$(PDFJS): | $(STAMP)
	$(BIN)/python -m invoice_local.vendor_pdfjs

# Two pytest sessions at once, to keep the suite's wall time down on 2 cores: tests/iac (terraform plans,
# checkov, parliament, an apply and destroy of its own), the 100-document burst and the schemathesis run of the
# API (70 s), beside everything else.
# They share nothing (each session has its own Postgres, emulation, ports and terraform data directories under
# build/; the package build is safe to run twice). The second session's output is printed when the first is
# done (and kept in build/test-side.log); either failing fails the target.
SIDE_TESTS := tests/iac tests/integration/test_burst.py tests/integration/test_api_schemathesis.py
test: require-terraform $(STAMP) $(PDFJS)
	@mkdir -p build
	@( $(BIN)/pytest -q $(SIDE_TESTS) $(PYTEST_ARGS) > build/test-side.log 2>&1; echo $$? > build/test-side.rc ) & \
	$(BIN)/pytest -q $(addprefix --ignore=,$(SIDE_TESTS)) $(PYTEST_ARGS); rest=$$?; wait; \
	echo "--- $(SIDE_TESTS), run beside the tests above (build/test-side.log) ---"; cat build/test-side.log; \
	side=$$(cat build/test-side.rc); test $$rest -eq 0 && test $$side -eq 0

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check functions local tests bench
	$(BIN)/mypy functions/invoice_pipeline local/invoice_local

run: require-terraform $(STAMP) $(PDFJS)
	$(BIN)/invoices run

eval: $(STAMP)
	$(BIN)/invoices eval --labels $(LABELS) --report $(REPORT)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# --- the AWS deployment (terraform/, see README "Deploying to AWS") -----------------------------------------
TERRAFORM ?= terraform
# Where this machine keeps the AWS provider for offline use; other machines point it elsewhere or go online.
TF_PLUGIN_MIRROR ?= /opt/tf-plugins
TF_BUILD := build/terraform
TF_OFFLINE_RC := $(TF_BUILD)/offline.tfrc
# plan/deploy/destroy install the provider from the mirror when this machine has one, from the registry
# otherwise; the committed lock file pins the version either way. terraform.tfvars is read automatically.
TF_RC_ENV = $(if $(wildcard $(TF_PLUGIN_MIRROR)),TF_CLI_CONFIG_FILE=$(abspath $(TF_OFFLINE_RC)))
TF_ARGS ?=
AUTO_APPROVE ?=
CHECKOV_VERSION := 3.3.30
# checkov lives in its own virtual environment: its bc-python-hcl2 installs a module named hcl2 that clashes
# with the project's dependencies.
CHECKOV_VENV := build/checkov-venv
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# parliament (the IAM, key and resource policy linter of tests/iac/test_parliament.py) lives in its own
# virtual environment too: its pins (boto3, PyYAML, json-cfg) are not the project's.
PARLIAMENT_VERSION := 1.6.4
PARLIAMENT_VENV := build/parliament-venv
PARLIAMENT_STAMP := $(PARLIAMENT_VENV)/.installed-$(PARLIAMENT_VERSION)

# The RDS CA bundle the functions verify the database's certificate against (README: Deploying to AWS). Packed
# into code.zip by the build; plan and deploy refuse to start without it. Local mode needs none.
RDS_CA_BUNDLE ?=
RDS_CA_BUNDLE_SHA256 ?=
REQUIRE_RDS_CA = $(if $(and $(RDS_CA_BUNDLE),$(wildcard $(RDS_CA_BUNDLE))),,$(error RDS_CA_BUNDLE must name the RDS CA bundle, e.g. RDS_CA_BUNDLE=build/global-bundle.pem after: curl -fsSo build/global-bundle.pem https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem (README: Deploying to AWS)))

build: $(STAMP)
	$(BIN)/python functions/build_package.py $(if $(RDS_CA_BUNDLE),--rds-ca-bundle $(RDS_CA_BUNDLE)) $(if $(RDS_CA_BUNDLE_SHA256),--rds-ca-sha256 $(RDS_CA_BUNDLE_SHA256))

require-rds-ca:
	$(REQUIRE_RDS_CA)

# The committed offline.tfrc names /opt/tf-plugins; this copy names TF_PLUGIN_MIRROR.
$(TF_OFFLINE_RC): terraform/offline.tfrc
	mkdir -p $(TF_BUILD)
	sed 's#"/opt/tf-plugins"#"$(TF_PLUGIN_MIRROR)"#' terraform/offline.tfrc > $@

.PHONY: $(TF_OFFLINE_RC)

tf-init: $(TF_OFFLINE_RC)
	TF_CLI_CONFIG_FILE=$(abspath $(TF_OFFLINE_RC)) $(TERRAFORM) -chdir=terraform init -input=false

plan: require-rds-ca build $(TF_OFFLINE_RC)
	$(TF_RC_ENV) $(TERRAFORM) -chdir=terraform init -input=false
	$(TF_RC_ENV) $(TERRAFORM) -chdir=terraform plan -input=false $(TF_ARGS)

deploy: require-rds-ca build $(TF_OFFLINE_RC)
	$(TF_RC_ENV) $(TERRAFORM) -chdir=terraform init -input=false
	$(TF_RC_ENV) $(TERRAFORM) -chdir=terraform apply $(if $(AUTO_APPROVE),-auto-approve) $(TF_ARGS)

# Needs the zips too: destroy evaluates the same configuration (source_code_hash).
destroy: build $(TF_OFFLINE_RC)
	$(TF_RC_ENV) $(TERRAFORM) -chdir=terraform init -input=false
	$(TF_RC_ENV) $(TERRAFORM) -chdir=terraform destroy $(TF_ARGS)

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

checkov-venv: $(CHECKOV_STAMP)

$(PARLIAMENT_STAMP):
	rm -rf $(PARLIAMENT_VENV)
	$(PYTHON) -m venv $(PARLIAMENT_VENV)
	$(PARLIAMENT_VENV)/bin/pip install --quiet --disable-pip-version-check parliament==$(PARLIAMENT_VERSION)
	touch $@

parliament-venv: $(PARLIAMENT_STAMP)

# --- benchmarks (docs/performance.md) -----------------------------------------------------------------------
# Textractor, the normalizer's point of comparison, lives in a virtual environment of its own: never a
# dependency of the project or of the Lambda layer.
TEXTRACTOR_VERSION := 1.10.0
TEXTRACTOR_VENV := build/textractor-venv
TEXTRACTOR_STAMP := $(TEXTRACTOR_VENV)/.installed-$(TEXTRACTOR_VERSION)
BENCH_ARGS ?=

$(TEXTRACTOR_STAMP):
	rm -rf $(TEXTRACTOR_VENV)
	$(PYTHON) -m venv $(TEXTRACTOR_VENV)
	$(TEXTRACTOR_VENV)/bin/pip install --quiet --disable-pip-version-check amazon-textract-textractor==$(TEXTRACTOR_VERSION)
	touch $@

bench: require-terraform $(STAMP) $(TEXTRACTOR_STAMP)
	$(BIN)/python bench/run_all.py --textractor-python $(TEXTRACTOR_VENV)/bin/python $(BENCH_ARGS)
