# ohfp: the Open Host Factory Plugin.
#   make          build build/ohfp
#   make deps     install the Debian packages the build needs (only those missing)
#   make test     deps + build + the whole test suite (CTest)
#   make demo     deps + build + a full Host Factory cycle against a local AWS emulator
#   make bench    optimised build + the benchmark against a local AWS emulator

BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# ccache, where the machine has it, makes rebuilds across build trees cheap.
LAUNCHER := $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

DEBIAN_PACKAGES := cmake g++ make pkg-config \
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libsqlite3-dev \
  libcurl4-openssl-dev libssl-dev libpugixml-dev libgtest-dev libgmock-dev
# What `make bench` needs on top: valgrind for the callgrind profile.
BENCH_PACKAGES := valgrind

.PHONY: all build deps test demo bench clean format

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

test: deps build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

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
	rm -rf $(BUILD) build-bench
