# scalebench — make bench runs the main job, make test runs every test.
GO      ?= go
BIN     := bin/scalebench
BACKEND ?= local

.PHONY: all build test bench vet fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/scalebench

vet:
	$(GO) vet ./...

test: build vet
	$(GO) test -count=1 -timeout 30m ./...

clean:
	rm -rf bin
