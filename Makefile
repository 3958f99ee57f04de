# scalebench — `make bench` runs the main job, `make test` runs every test.
GO      ?= go
BACKEND ?= local
SUITE   ?= scenarios/library
OUT     ?= out/bench

.PHONY: all build test bench results vet fuzz clean deps-test

all: build

# Both binaries: the CLI and the function workload the local platform runs.
build:
	$(GO) build -o bin/scalebench ./cmd/scalebench
	$(GO) build -o bin/fn ./cmd/fn

vet:
	$(GO) vet ./...

# Headless Chromium renders report.html in the report test. Debian's package
# is installed when missing (CI and a fresh Debian machine run as root).
deps-test:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the report test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else \
	    echo "the report test needs chromium: sudo apt-get install chromium"; exit 1; \
	  fi; }

# The conformance module checks the KPA tick by tick against Knative's own
# autoscaler code; it is a separate module so the project does not depend on
# Knative's dependency tree.
test: build vet deps-test
	$(GO) test -count=1 -timeout 30m ./...
	cd conformance/knative && $(GO) vet ./... && $(GO) test -count=1 ./...

# The main job: every library scenario in simulation under every policy, and
# some for real on $(BACKEND); prints where the report is.
bench: build
	./bin/scalebench bench --suite $(SUITE) --backend $(BACKEND) --out $(OUT)

# docs/results.md: the library suite and the held-out suite, simulated
# under every policy (no real runs, so the table is the same on every
# machine), each bench's report.md one after the other.
results: build
	./bin/scalebench bench --suite scenarios/library --real 0 --out out/results-library
	./bin/scalebench bench --suite scenarios/heldout --real 0 --out out/results-heldout
	{ echo '# Results'; echo; \
	  echo 'Produced by `make results`: `scalebench bench --suite scenarios/library --real 0` and'; \
	  echo '`scalebench bench --suite scenarios/heldout --real 0`, every scenario under every policy in'; \
	  echo 'the simulator. The held-out suite (new seeds, a later hour of the Azure sample, a second'; \
	  echo 'synthetic fleet) was never used for tuning. How kpa compares with knative, and why each'; \
	  echo 'extension is on or off, is in docs/readme-policies.md (section `kpa`).'; echo; \
	  echo '# Library suite'; echo; sed 's/^#/##/' out/results-library/report.md; echo; \
	  echo '# Held-out suite'; echo; sed 's/^#/##/' out/results-heldout/report.md; } > docs/results.md.tmp
	mv docs/results.md.tmp docs/results.md

# A short run of every fuzz target (not part of make test).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "$$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s $$pkg || exit 1; \
	  done; done

clean:
	rm -rf bin out
