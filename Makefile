# dyconv — two commands do everything on a fresh Debian machine with the Swift toolchain:
#   make run    install missing system packages, build (release), open the visualizer on the bundled checkpoint
#   make test   install missing system packages, run every test (unit, fixtures, CLI, end-to-end under tmux)
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

SWIFT ?= swift
APT_PACKAGES := pkg-config libncurses-dev libopenblas-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev dataset-fashion-mnist tmux librsvg2-bin
RELEASE := .build/release
CHECKPOINT ?= assets/dycnn-dynamic.safetensors

.PHONY: all deps build build-debug run test unit-test cli-test e2e-test bench fixtures fuzz clean

all: build

## Install the Debian packages that are missing (apt-get update once, only when something is missing).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "error: swift not found (expected at /opt/swift/usr/bin)"; exit 1; }

## Release build of both executables.
build: deps
	$(SWIFT) build -c release

build-debug: deps
	$(SWIFT) build

## The main job: the live attention visualizer on the bundled checkpoints and sample images.
run: build
	$(RELEASE)/dyconv-tui $(ARGS)

## Every test: unit + fixture tests (swift test), CLI checks, and the end-to-end TUI test under tmux.
test: unit-test cli-test e2e-test

## The Swift test targets (Tests/), log in .build/swift-test.log.
unit-test: deps
	mkdir -p .build
	$(SWIFT) test 2>&1 | tee .build/swift-test.log; exit $${PIPESTATUS[0]}

## The CLI scripts (system-tests/cli) against the release binary.
cli-test: build
	bash system-tests/cli/cli_test.sh $(RELEASE)/dyconv
	bash system-tests/cli/train_faults_test.sh $(RELEASE)/dyconv
	bash system-tests/cli/report_test.sh $(RELEASE)/dyconv

## The TUI driven under tmux (system-tests/e2e) against the release binary.
e2e-test: build
	bash system-tests/e2e/tui_e2e.sh $(RELEASE)/dyconv-tui

## Forward benchmark of the engine (medians; see docs/PERFORMANCE.md for the PyTorch comparison).
bench: build
	$(RELEASE)/dyconv bench --model dycnn dy-mobilenetv2 --batch 1 16 64 256

## Regenerate the PyTorch reference fixtures (needs: pip install -r tools/requirements.txt).
fixtures:
	python3 tools/make_fixtures.py
	python3 tools/make_import_fixtures.py
	python3 tools/make_tardelean_fixtures.py

## libFuzzer over the checkpoint, IDX, PyTorch (.pth) and image (PNG, JPEG, PPM/PGM) readers, FUZZ_SECONDS (default 300) per target (Fuzz/README.md).
fuzz: deps
	bash Fuzz/run.sh $(or $(FUZZ_SECONDS),300)

clean:
	rm -rf .build
