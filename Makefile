# Safe Passage casework. `make run` serves a development instance; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Tests get their own data directory, so they never touch the development instance's files.
TEST_DATA_DIR := $(CURDIR)/var/test
PYTEST_ARGS ?=

.PHONY: run test e2e check lint format typecheck migrations-check messages compilemessages \
        audit audit-if-reachable lock bench mutation system-packages system-packages-test clean

run: $(VENV)/.installed-base system-packages compilemessages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py init_keys --if-missing
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(VENV)/.installed-dev system-packages-test compilemessages
	CASEWORK_DATA_DIR=$(TEST_DATA_DIR) $(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests alone (also part of `make test`); screenshots in var/e2e-screenshots/.
e2e: $(VENV)/.installed-dev system-packages-test compilemessages
	CASEWORK_DATA_DIR=$(TEST_DATA_DIR) $(BIN)/python -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

check: lint typecheck migrations-check compilemessages test audit-if-reachable

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.installed-dev
	CASEWORK_DATA_DIR=$(TEST_DATA_DIR) $(BIN)/mypy .

migrations-check: $(VENV)/.installed-dev
	CASEWORK_DATA_DIR=$(TEST_DATA_DIR) $(BIN)/python manage.py makemigrations --check --dry-run

# Extract new strings into every catalogue (then translate them in locale/*/LC_MESSAGES/django.po).
messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages --all --no-obsolete --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'

# Only .po files are committed; .mo files are built here.
compilemessages: $(VENV)/.installed-base
	$(BIN)/python manage.py compilemessages --ignore '.venv' --ignore 'var' -v0

audit: $(VENV)/.installed-dev
	$(BIN)/pip-audit --strict --require-hashes --disable-pip -r requirements/base.txt -r requirements/dev.txt

# pip-audit needs PyPI's JSON API; where only a package mirror is reachable this says so
# plainly instead of failing `make check` (run `make audit` where the API is reachable).
audit-if-reachable: $(VENV)/.installed-dev
	@sh scripts/audit-if-reachable

# Regenerate the hash-pinned lock files after changing dependencies in pyproject.toml.
lock: $(VENV)/.installed-dev
	$(BIN)/python -m uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -q -o requirements/base.txt
	$(BIN)/python -m uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -q -c requirements/base.txt -o requirements/dev.txt

# Mutation testing (R65): crypto/ but for the audit log's formats, the field AAD builder, the
# access module, and the audit log's formats (chain, checkpoints, Merkle tree), each in a copy
# under var/mutation/<area>/ with its settings from tests/crypto/mutation/<area>.toml and only
# the tests that cover it. Slow: see README.
MUTATION_AREAS := crypto fields access audit
MUTANTS_crypto := crypto.*
MUTANTS_fields := *ǁEncryptedFieldǁaad__mutmut_* *ǁEncryptedModelǁencryption_record_id__mutmut_* \
                  *ǁEncryptedModelǁdata_organisation_id__mutmut_*
MUTANTS_access := casework.cases.access.*
MUTANTS_audit := crypto.audit_chain.* crypto.merkle.*
mutation: $(VENV)/.installed-dev compilemessages
	@for area in $(MUTATION_AREAS); do \
	  dir=var/mutation/$$area; rm -rf $$dir; mkdir -p $$dir; \
	  cp -r crypto casework templates static locale tests SECURITY.md $$dir/; \
	  { cat pyproject.toml; echo; cat tests/crypto/mutation/$$area.toml; } > $$dir/pyproject.toml; \
	done
	@cd var/mutation/crypto && CASEWORK_DATA_DIR=$(CURDIR)/var/test-mutation-crypto \
	  $(CURDIR)/$(BIN)/mutmut run '$(MUTANTS_crypto)' >mutmut.log 2>&1 || { tail -40 mutmut.log; exit 1; }
	@cd var/mutation/fields && CASEWORK_DATA_DIR=$(CURDIR)/var/test-mutation-fields \
	  $(CURDIR)/$(BIN)/mutmut run $(foreach m,$(MUTANTS_fields),'$(m)') >mutmut.log 2>&1 || { tail -40 mutmut.log; exit 1; }
	@cd var/mutation/access && CASEWORK_DATA_DIR=$(CURDIR)/var/test-mutation-access \
	  $(CURDIR)/$(BIN)/mutmut run '$(MUTANTS_access)' >mutmut.log 2>&1 || { tail -40 mutmut.log; exit 1; }
	@cd var/mutation/audit && CASEWORK_DATA_DIR=$(CURDIR)/var/test-mutation-audit \
	  $(CURDIR)/$(BIN)/mutmut run $(foreach m,$(MUTANTS_audit),'$(m)') >mutmut.log 2>&1 || { tail -40 mutmut.log; exit 1; }
	@$(BIN)/python tests/crypto/mutation/score.py $(MUTATION_AREAS)

# Every benchmark on SQLite and on PostgreSQL (127.0.0.1:5432, or DATABASE_URL), then the
# load test: one table, and bench/results/latest.json. 100,000 applicants and 1,000,000 audit
# entries; run it on a quiet machine (README, "Benchmarks"). A quick run, written to
# bench/results/quick.json instead: make bench BENCH_ARGS="--applicants 5000 --audit-entries 20000"
BENCH_ARGS ?=
bench: $(VENV)/.installed-dev
	CASEWORK_DATA_DIR=$(CURDIR)/var/bench $(BIN)/python bench/run_all.py $(BENCH_ARGS)

system-packages:
	@sh scripts/check-system-packages

system-packages-test:
	@sh scripts/check-system-packages test

$(VENV)/.installed-base: requirements/base.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Cannot create a virtual environment: install python3-venv (apt-get install python3-venv)."; exit 1; }
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/base.txt
	@touch $@

$(VENV)/.installed-dev: requirements/dev.txt $(VENV)/.installed-base
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	@touch $@

clean:
	rm -rf $(VENV) var/test var/bench .mypy_cache .pytest_cache .ruff_cache
