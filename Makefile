# SPDX-License-Identifier: Apache-2.0
# Convenience front end for spindle's CMake presets (see CMakePresets.json).
#   make build         configure + build the default tree in build/default (-O3 -g, as the
#                      benchmarks build, so optimiser-only warnings fail here too)
#   make test          default, tsan, asan and clang builds, each followed by its test suite
#   make test-default  only the default build's tests (quick developer loop)
#   make test-<preset> any single preset: default, tsan, asan, ucontext, clang
#   make check-install the default build installed into a temporary prefix, then consumers
#                      built with find_package and pkg-config (tools/check_install.sh)
#   make check-shared  the same for a shared build of its own, with g++ (tools/check_shared.sh)
#   make package       a release build without tests packed by cpack as a Debian package:
#                      build/package/package/libspindle-dev_<version>_<arch>.deb
#   make demo | bench | docs | clean

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TEST_PRESETS ?= default tsan asan clang
PRESETS := default tsan asan ucontext clang

.PHONY: all deps build test check-install check-shared package demo bench docs clean $(addprefix test-,$(PRESETS)) $(addprefix build-,$(PRESETS))

all: build

deps:
	@bash tools/bootstrap.sh

build: build-default

$(addprefix build-,$(PRESETS)): build-%: deps
	@echo "==> [$*] configure"
	cmake --preset $*
	@echo "==> [$*] build"
	cmake --build --preset $* -j $(JOBS)

$(addprefix test-,$(PRESETS)): test-%: build-%
	@echo "==> [$*] test suite"
	ctest --preset $*
	@echo "==> [$*] test suite passed"

# Runs the suites one after another and stops at the first one that fails.
test: deps
	@for p in $(TEST_PRESETS); do \
	  echo ""; \
	  echo "################ test suite: $$p ################"; \
	  $(MAKE) --no-print-directory test-$$p || { echo "################ test suite FAILED: $$p ################"; exit 1; }; \
	done; \
	echo ""; echo "################ all test suites passed: $(TEST_PRESETS) ################"

check-install: build-default
	bash tools/check_install.sh build/default

check-shared: deps
	bash tools/check_shared.sh

# A build of its own without spindle's tests, so the packaged library carries no test hooks.
package: deps
	cmake --preset default -B build/package -DSPINDLE_BUILD_TESTS=OFF -DSPINDLE_BUILD_BENCH=OFF -DSPINDLE_BUILD_EXAMPLES=OFF
	cmake --build build/package -j $(JOBS)
	cd build/package && cpack --config CPackConfig.cmake

demo: build
	./build/default/examples/demo

# run_bench.sh builds its own Release tree (build/bench); QUICK=1 on the command line
# reaches it through the environment.
bench: deps
	bash tools/run_bench.sh

# Doxygen is all the docs need: the bootstrap (which wants every package of the other
# targets) runs only when it is missing.
docs:
	@command -v doxygen >/dev/null 2>&1 || bash tools/bootstrap.sh
	mkdir -p build
	doxygen Doxyfile
	@echo "==> HTML docs in build/docs/html/index.html"

clean:
	rm -rf build
