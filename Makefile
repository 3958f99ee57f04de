# scalebench — `make bench` runs the main job, `make test` runs every test.
GO      ?= go
BACKEND ?= local
SUITE   ?= scenarios/library
OUT     ?= out/bench

.PHONY: all build test bench results vet fuzz clean deps-test controlplane deps-e2e e2e kind-up kind-down kind-bench

all: build

# The CLI, the function workload the local platform runs, and the Go
# example function (examples/goserver/scenario.yaml runs bin/goserver).
build:
	$(GO) build -o bin/scalebench ./cmd/scalebench
	$(GO) build -o bin/fn ./cmd/fn
	$(GO) build -o bin/goserver ./examples/goserver

vet:
	$(GO) vet ./...

# Headless Chromium renders report.html in the report test, and the Python
# example function runs on Debian's python3 (/usr/bin/python3). Debian's
# packages are installed when missing (CI and a fresh Debian machine run as
# root).
deps-test:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the report test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else \
	    echo "the report test needs chromium: sudo apt-get install chromium"; exit 1; \
	  fi; }
	@command -v shellcheck >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's shellcheck for the kind-config test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null); \
	  else \
	    echo "the kind-config test needs shellcheck: sudo apt-get install shellcheck"; exit 1; \
	  fi; }
	@test -x /usr/bin/python3 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's python3 for the Python example function"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null); \
	  else \
	    echo "the Python example needs Debian's python3: sudo apt-get install python3"; exit 1; \
	  fi; }

# The conformance module checks the KPA tick by tick against Knative's own
# autoscaler code; it is a separate module so the project does not depend on
# Knative's dependency tree.
test: build vet deps-test
	$(GO) test -count=1 -timeout 30m ./...
	cd conformance/knative && $(GO) vet ./... && $(GO) test -count=1 ./...

# The control plane the Kubernetes tests run against (kube/cluster):
# kube-apiserver, kube-controller-manager and kube-scheduler built from the
# Kubernetes release pinned in test/controlplane/go.mod, about 7 minutes on 2
# cores the first time. The binaries are kept in a cache outside the work tree,
# keyed by the release and a hash of that module's go.mod and go.sum, so a
# clean clone or a second run finds them; bin/controlplane links to them.
KUBE_VERSION := $(shell sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' test/controlplane/go.mod)
KUBE_HASH    := $(shell cat test/controlplane/go.mod test/controlplane/go.sum | sha256sum | cut -c1-12)
CONTROLPLANE_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/scalebench/controlplane/$(KUBE_VERSION)-$(KUBE_HASH)
KUBE_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION)))
KUBE_CMDS := kube-apiserver kube-controller-manager kube-scheduler

controlplane:
	@if [ -x $(CONTROLPLANE_CACHE)/kube-apiserver ] && [ -x $(CONTROLPLANE_CACHE)/kube-controller-manager ] && [ -x $(CONTROLPLANE_CACHE)/kube-scheduler ]; then \
	  echo "control plane $(KUBE_VERSION): cached in $(CONTROLPLANE_CACHE)"; \
	else \
	  echo "building the control plane, Kubernetes $(KUBE_VERSION) (about 7 minutes on 2 cores the first time)"; \
	  rm -rf $(CONTROLPLANE_CACHE).tmp && mkdir -p $(CONTROLPLANE_CACHE).tmp && \
	  (cd test/controlplane && $(GO) build -ldflags '$(KUBE_LDFLAGS)' -o $(CONTROLPLANE_CACHE).tmp/ $(addprefix k8s.io/kubernetes/cmd/,$(KUBE_CMDS))) && \
	  rm -rf $(CONTROLPLANE_CACHE) && mv $(CONTROLPLANE_CACHE).tmp $(CONTROLPLANE_CACHE) && \
	  echo "control plane $(KUBE_VERSION) built into $(CONTROLPLANE_CACHE)"; \
	fi
	@mkdir -p bin && ln -sfn $(CONTROLPLANE_CACHE) bin/controlplane

# etcd for the control plane is Debian's etcd-server; the tests' network
# namespace is set up with iproute2's ip. Installed when missing, as root.
deps-e2e:
	@for need in etcd:etcd-server ip:iproute2; do \
	  cmd=$${need%%:*}; pkg=$${need#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || { \
	    if [ "$$(id -u)" = 0 ]; then \
	      echo "installing Debian's $$pkg for the Kubernetes tests"; \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkg >/dev/null) || exit 1; \
	    else \
	      echo "the Kubernetes tests need $$cmd: sudo apt-get install $$pkg"; exit 1; \
	    fi; }; \
	done

# The Kubernetes tests, against the control plane above and scalebench
# nodes (kube/e2e): the files with the e2e build tag under kube/. One package
# at a time, since each brings up a control plane of its own. Root, for the
# tests' network namespace.
e2e: build controlplane deps-e2e
	$(GO) test -tags e2e -count=1 -p 1 -timeout 20m ./kube/...

# The main job: every library scenario in simulation under every policy, and
# some for real on $(BACKEND); prints where the report is. BACKEND=kubernetes
# brings up the project's own control plane per real run: it builds (or
# reuses) the control-plane binaries and installs etcd and iproute2 first.
bench: build $(if $(filter kubernetes,$(BACKEND)),controlplane deps-e2e)
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

# A kind cluster with Knative Serving, OpenFaaS CE, the HPA and scalebench's
# controller side by side (needs Docker, kind, kubectl and helm; see
# docs/readme-kind.md). DRY_RUN=1 prints every step instead of taking it.
kind-up: build
	DRY_RUN=$(DRY_RUN) bash kind-config/up.sh

kind-down:
	DRY_RUN=$(DRY_RUN) bash kind-config/down.sh

# One scenario on all four targets: make kind-bench SCENARIO=scenarios/library/spike.yaml
# With your own function image: IMAGE=registry/me/fn:tag PORT=8080 READINESS=/healthz
# A function with revisions: ROLLOUT=canary,instant MATCH_PODS=5 (docs/readme-kind.md)
kind-bench: build
	DRY_RUN=$(DRY_RUN) SCENARIO=$(SCENARIO) IMAGE=$(IMAGE) PORT=$(PORT) READINESS=$(READINESS) ROLLOUT=$(ROLLOUT) MATCH_PODS=$(MATCH_PODS) bash kind-config/bench.sh

clean:
	rm -rf bin out
