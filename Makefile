# ohfp: the Open Host Factory Plugin.
#   make          build build/ohfp
#   make deps     install the Debian packages the build needs (only those missing)
#   make test     deps + build + the whole test suite (CTest)
#   make demo     deps + build + a full Host Factory cycle against a local AWS emulator
#   make bench    optimised build + the benchmark against a local AWS emulator
#   make fuzz     the libFuzzer harnesses, FUZZ_SECONDS (default 60) each
#   make test-sanitize  the whole test suite built with ASan and UBSan

BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# ccache, where the machine has it, makes rebuilds across build trees cheap.
LAUNCHER := $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

DEBIAN_PACKAGES := cmake g++ make pkg-config \
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libsqlite3-dev \
  libssl-dev openssl libpugixml-dev libgtest-dev libgmock-dev \
  clang-14 libclang-rt-14-dev
# What `make bench` needs on top: valgrind for the callgrind profile.
BENCH_PACKAGES := valgrind

# The fuzz harnesses: clang (libFuzzer), every library instrumented, ASan and
# UBSan on, assertions on (-O1 without NDEBUG). CI runs each harness for
# FUZZ_RUNS executions (fuzz/CMakeLists.txt); `make fuzz` for FUZZ_SECONDS.
FUZZ_BUILD ?= build-fuzz
FUZZ_RUNS ?= 50000
FUZZ_SECONDS ?= 60
FUZZ_CONFIG := -DCMAKE_CXX_COMPILER=clang++-14 -DOHFP_FUZZ=ON -DOHFP_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" \
  -DOHFP_FUZZ_RUNS=$(FUZZ_RUNS)

# The sanitizer build: the whole suite with ASan and UBSan (gcc), -O1 and
# assertions on. Any report fails its test: UB aborts (-fno-sanitize-recover),
# leaks fail the process at exit, and the exit code (86) is one ohfp never uses.
SANITIZE_BUILD ?= build-sanitize
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:exitcode=86:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86

.PHONY: all build deps test demo bench clean format build-fuzz fuzz test-sanitize

all: build

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES) $(EXTRA_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@command -v moto_server >/dev/null || echo "warning: moto_server is not on PATH; the AWS tests and the demo need it"

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(LAUNCHER)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: deps build build-fuzz
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)
	ctest --test-dir $(FUZZ_BUILD) --output-on-failure -j$(JOBS)

build-fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) $(FUZZ_CONFIG) $(LAUNCHER)
	cmake --build $(FUZZ_BUILD) --target fuzzers -j$(JOBS)

fuzz: build-fuzz
	@for h in $(FUZZ_BUILD)/fuzz/*_fuzzer; do \
	  work=$(FUZZ_BUILD)/fuzz/work/$$(basename $$h); mkdir -p $$work; \
	  echo "== $$(basename $$h), $(FUZZ_SECONDS) s (log: $$work/fuzz.log)"; \
	  fuzz/run_fuzzer.sh $$h $$work -max_total_time=$(FUZZ_SECONDS) >$$work/fuzz.log 2>&1; \
	  rc=$$?; grep -E '^(Done|stat::number_of_executed|stat::average|SUMMARY)' $$work/fuzz.log; \
	  if [ $$rc != 0 ]; then tail -n 40 $$work/fuzz.log; exit 1; fi; \
	done

test-sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD) -DOHFP_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" $(LAUNCHER)
	cmake --build $(SANITIZE_BUILD) -j$(JOBS)
	$(SANITIZER_ENV) ctest --test-dir $(SANITIZE_BUILD) --output-on-failure -j$(JOBS)

demo: deps build
	scripts/demo.sh $(BUILD)

# The test suites are not built here: the benchmark needs only ohfp and
# ohfp-bench, optimised. Figures land in build-bench/bench/ (see README).
bench:
	$(MAKE) deps EXTRA_PACKAGES="$(BENCH_PACKAGES)"
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DOHFP_BUILD_TESTS=OFF $(LAUNCHER)
	cmake --build build-bench -j$(JOBS) --target ohfp ohfp-bench
	bench/run.sh build-bench

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) build-bench $(FUZZ_BUILD) $(SANITIZE_BUILD)
