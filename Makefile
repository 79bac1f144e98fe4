# heepr: every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/heepr
LINT  := tools/lint/node_modules/.bin/redocly
SPECTRAL := tools/lint/node_modules/.bin/spectral
WEB_DEPS := web/node_modules/.package-lock.json
WEB_DIST := web/dist/index.html

.DEFAULT_GOAL := help
.PHONY: help run build web test test-short generate check-generated lint ci clean demo demo-smoke e2e

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

run: build ## run heepr on the embedded SQLite in ./data (no configuration needed)
	./$(BIN) serve

build: web ## build bin/heepr (with the web app) and the reference agent runtime bin/heepr-agent
	$(GO) build -trimpath -o $(BIN) ./cmd/heepr
	$(GO) build -trimpath -o bin/heepr-agent ./cmd/heepr-agent

$(WEB_DEPS): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	@touch $(WEB_DEPS)

$(WEB_DIST): $(WEB_DEPS) web/index.html web/vite.config.ts web/tsconfig.json $(shell find web/src -type f 2>/dev/null)
	cd web && npm run build

web: $(WEB_DIST) ## build the web app into web/dist (embedded by the binary; needs Node.js and npm)

test: web ## every test, on SQLite and on Postgres (127.0.0.1:5432 or DATABASE_URL), with the race detector; the web app's Vitest tests
	cd web && npm test
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 30m ./...

test-short: web ## the tests without the race detector (faster while editing)
	$(GO) test -count=1 ./...

FUZZTIME ?= 10s
.PHONY: fuzz
fuzz: ## run every fuzz target (func FuzzXxx) for FUZZTIME each (default 10s), one at a time; make test runs their seeds (docs/RELIABILITY.md)
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

.PHONY: fault
fault: ## fault-injection tests (test/fault, build tag fault): Postgres crash, SIGKILL, worker kill around a payout, full disk, slow clients, huge requests; needs root and Postgres 15's server binaries (docs/RELIABILITY.md)
	$(GO) test -tags fault -count=1 -v -timeout 15m ./test/fault

generate: $(WEB_DEPS) ## regenerate api/ (server, models, client, embedded spec) and web/src/api/schema.d.ts from openapi.yaml
	cd api && $(GO) generate ./...
	cd web && npm run --silent generate

check-generated: generate ## fail when generated files differ from what is committed
	@if [ -n "$$(git status --porcelain -- api web/src/api)" ]; then \
		echo "generated code is stale: run make generate and commit"; git status --short -- api web/src/api; git diff --stat -- api web/src/api; exit 1; fi

.PHONY: check-breaking
check-breaking: ## fail when openapi.yaml breaks a client of the last release tag (oasdiff; docs/api.md, Versioning)
	GO=$(GO) scripts/check-breaking.sh

$(LINT): tools/lint/package.json tools/lint/package-lock.json
	npm ci --prefix tools/lint --no-audit --no-fund
	@touch $(LINT)

lint: $(LINT) web ## lint openapi.yaml (Redocly; Spectral with the OWASP rules, .spectral.yaml), go vet, gofmt, the /docs bundle is the pinned Redoc
	$(LINT) lint openapi.yaml --config redocly.yaml
	$(SPECTRAL) lint openapi.yaml --ruleset .spectral.yaml --fail-severity warn
	scripts/redoc-bundle.sh --check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

ci: test fault fuzz check-generated lint check-breaking demo-smoke e2e ## what .ci/run runs (after installing jq and chromium when missing)

BENCH_ROUNDS    ?= 3
BENCHTIME       ?= 1s
BENCH_SUITES    ?= ledger,browse,events,orders,payouts,browse-load
BROWSE_REQUESTS ?= 2000
EVENTS_POLLS    ?= 5000
.PHONY: bench
bench: ## ledger hold/payout, browse/search and agent-events poll benchmarks beside their baselines, held long-polls (Postgres, SQLite); updates docs/PERFORMANCE.md
	$(GO) run ./bench/cmd/benchreport -go $(GO) -suites $(BENCH_SUITES) -rounds $(BENCH_ROUNDS) -benchtime $(BENCHTIME) -browse-requests $(BROWSE_REQUESTS) -events-polls $(EVENTS_POLLS)

demo: ## heepr on SQLite with demo data and a live reference agent; prints the URL and logins (Ctrl-C stops)
	scripts/demo.sh

demo-smoke: ## make demo, drive one order through it with scripts/demo-order.sh, stop (CI)
	scripts/demo.sh --smoke

e2e: web ## browser tests: Playwright + Debian's chromium (apt-get install chromium) against make demo; output in test-output/e2e
	@command -v $${CHROMIUM:-chromium} >/dev/null || { echo "make e2e needs Debian's chromium: apt-get install chromium" >&2; exit 1; }
	scripts/demo.sh --e2e

clean: ## remove build output (not ./data)
	rm -rf bin tools/lint/node_modules web/dist web/node_modules test-output
