# Thin wrapper over meson: every target first makes sure the Debian packages
# are there (scripts/deps.sh), so each works on a fresh Debian 12 machine.
#
#   make demo     build and run the showcase
#   make test     normal build + ASan/UBSan build (+ TSan for concurrent suites)
#   make bench    run every library's benchmarks (bench/)
#   make fuzz     run every libFuzzer harness FUZZ_SECONDS (default 60) each
#   make docs     Doxygen HTML into build/docs/html (warnings fail)
#   make lint     clang-format, clang-tidy, cppcheck: 0 findings
#   make install  PREFIX=/usr/local DESTDIR=

BUILD       ?= build
BUILD_ASAN  ?= build-asan
BUILD_TSAN  ?= build-tsan
BUILD_FUZZ  ?= build-fuzz
FUZZ_SECONDS ?= 60
PREFIX      ?= /usr/local
DESTDIR     ?=
MESON_FLAGS ?= -Dwerror=true

# meson setup only once per directory; ninja re-runs it when build files change.
setup = test -f $(1)/build.ninja || meson setup $(1) $(MESON_FLAGS) $(2)
# Sanitizer options live in variables: a literal comma inside $(call ...)
# would split the argument (address,undefined lost everything after it).
ASAN_FLAGS  := -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false
TSAN_FLAGS  := -Db_sanitize=thread -Db_lundef=false -Dbenchmarks=false

.PHONY: all deps build demo test test-normal test-asan test-tsan test-fuzz fuzz bench docs lint install clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@$(call setup,$(BUILD),--prefix=$(PREFIX))
	meson compile -C $(BUILD)

demo: build
	@bash scripts/demo.sh $(BUILD)

test: deps test-normal test-asan test-tsan test-fuzz

test-normal:
	@$(call setup,$(BUILD),--prefix=$(PREFIX))
	meson compile -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs

test-asan:
	@$(call setup,$(BUILD_ASAN),$(ASAN_FLAGS))
	meson compile -C $(BUILD_ASAN)
	meson test -C $(BUILD_ASAN) --print-errorlogs

# ThreadSanitizer for the suites that run threads against each other.
test-tsan:
	@$(call setup,$(BUILD_TSAN),$(TSAN_FLAGS))
	meson compile -C $(BUILD_TSAN)
	@if meson test -C $(BUILD_TSAN) --list --suite concurrent >/dev/null 2>&1; then \
	  meson test -C $(BUILD_TSAN) --print-errorlogs --suite concurrent; \
	else echo "test-tsan: no concurrent suite yet"; rm -f $(BUILD_TSAN)/meson-logs/testlog.json; fi

# libFuzzer harnesses (clang, ASan+UBSan): each replays its corpus, then
# fuzzes briefly (30 s in all when CI=true, ~10 s otherwise).
fuzz-setup = test -f $(BUILD_FUZZ)/build.ninja || CC=clang meson setup $(BUILD_FUZZ) \
	-Dfuzzing=true -Db_lundef=false -Dbenchmarks=false

test-fuzz:
	@$(fuzz-setup)
	meson compile -C $(BUILD_FUZZ)
	meson test -C $(BUILD_FUZZ) --print-errorlogs --suite fuzz

# make fuzz FUZZ_SECONDS=600: fuzz each harness for that long.
fuzz: deps
	@$(fuzz-setup)
	meson compile -C $(BUILD_FUZZ)
	bash scripts/fuzz.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

bench: build
	meson test -C $(BUILD) --benchmark --verbose --timeout-multiplier 0

docs: deps
	@$(call setup,$(BUILD),--prefix=$(PREFIX))
	meson compile -C $(BUILD) docs

lint: deps
	@$(call setup,$(BUILD),--prefix=$(PREFIX))
	meson compile -C $(BUILD)
	bash scripts/lint.sh $(BUILD)

install: build
	meson configure $(BUILD) --prefix=$(PREFIX)
	meson install -C $(BUILD) --destdir "$(DESTDIR)"

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ)

# libnet server load test: 50,000 connections held 30 s (examples/echo with
# SO_REUSEPORT workers, examples/loadgen from several processes/addresses).
.PHONY: loadtest
loadtest: build
	bash scripts/loadtest.sh $(BUILD) 50000 30
