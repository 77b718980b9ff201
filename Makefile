# gmpos — thin wrappers over cargo. `make help` lists the targets.
#
# Every target that builds first installs what is missing (`make deps`): the
# Rust toolchain pinned in rust-toolchain.toml and, for targets that boot,
# QEMU. Everything uses cargo's dev profile, so `make run` and `make test`
# share one build (the kernel itself is optimised through the
# [profile.dev.package.kernel] section of Cargo.toml).

# How QEMU runs (these may also come from the environment).
SMP     ?= 4
MEM     ?= 8192
ACCEL   ?= tcg
TIMEOUT ?= 600
ICOUNT  ?=
# Host ports (on 127.0.0.1) forwarded to the kernel's HTTP server (port 80)
# and echo server (port 7, TCP and UDP); 0 = none.
HTTP_PORT ?= 8080
ECHO_PORT ?= 7777

# What the kernel is told: passed as KEY=VALUE words, each only when set.
# Set them on the make command line (`make run PROG=spawn GOMAXPROCS=2`); they
# deliberately ignore the environment, where GODEBUG or GOMAXPROCS may be set
# for real Go programs.
PROG       = demo
GOMAXPROCS =
GODEBUG    =
N          =
CPU        =

CARGO    ?= cargo
QEMU_BIN ?= qemu-system-x86_64

# The pinned toolchain is named once, in rust-toolchain.toml.
TOOLCHAIN := $(shell sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' rust-toolchain.toml)

RUN_FLAGS = --smp $(SMP) --mem $(MEM) --accel $(ACCEL) --timeout $(TIMEOUT) $(if $(filter-out 0,$(ICOUNT)),--icount) \
	--http-port $(HTTP_PORT) --echo-port $(ECHO_PORT)
KERNEL_WORDS = $(foreach v,PROG GOMAXPROCS GODEBUG N CPU,$(if $($(v)),'$(v)=$($(v))'))
# Builds gmpos-run (with cargo's usual progress and warnings, shown once) and
# runs the binary cargo reports, so that the recipe's status is gmpos-run's.
# $(call build_bin,NAME) builds boot's binary NAME and leaves its path in $$exe.
build_bin = exe=$$($(CARGO) build -p boot --bin $(1) --message-format=json-render-diagnostics \
	  | sed -n 's/.*"executable":"\([^"]*$(1)\)".*/\1/p') && [ -n "$$exe" ]
GMPOS_RUN = $(call build_bin,gmpos-run) && "$$exe"

.DEFAULT_GOAL := help
.PHONY: help run trace symbolize test fuzz torture loom gdb image deps toolchain qemu chromium clean bench bench-scale bench-peers bench-profile bench-idle bench-net

help:
	@echo 'gmpos: Go'"'"'s GMP scheduler as an x86_64 kernel, run in QEMU.'
	@echo
	@echo 'Targets (each installs what it needs first):'
	@echo '  make run     boot the kernel, serial console on this terminal (Ctrl-A X quits)'
	@echo '  make trace   run with an execution trace: target/trace/PROG.json (Perfetto) and PROG.svg'
	@echo '  make symbolize < FILE  print a saved run'"'"'s output with its code addresses named'
	@echo '               (the watchdog'"'"'s and a fault'"'"'s stacks: function and source line)'
	@echo '  make test    build everything and run all tests (host unit tests and QEMU boots)'
	@echo '  make fuzz    fuzz the command line and HTTP parsers (FUZZ_CASES per property) and the'
	@echo '               servers in QEMU (FUZZ_ROUNDS; FUZZ_SEED=N replays a run)'
	@echo '  make torture boot PROG=torture again and again with random SMP, GOMAXPROCS, GODEBUG and'
	@echo '               workloads for SECONDS (default 180), from SEED (default: the clock; printed);'
	@echo '               BOOT=K boots only the Kth boot of SEED, again and again'
	@echo '  make loom    model-check the run queue, the frame free list and the trace slot with loom'
	@echo '  make bench   instructions per scheduler operation (1 vCPU, QEMU icount, 2 boots compared)'
	@echo '               -> console table and target/bench/results.json'
	@echo '  make bench-scale  wall-clock speedup of fib and spawn at SMP=GOMAXPROCS=1,2,4'
	@echo '  make bench-peers  the same operations in Go and Tokio under callgrind, beside gmpos'
	@echo '  make bench-profile FUNC=... STEPS=...  instructions per function, single-stepped under gdb'
	@echo '  make bench-idle   host CPU an idle PROG=httpd costs (QEMU CPU time over SECS=10 s)'
	@echo '  make bench-net    httpd and echo beside Go 1.19 on Linux in the same VM (wrk, TAP; root)'
	@echo '                    -> table and target/bench/net.json'
	@echo '  make gdb     boot paused, waiting for gdb on localhost:1234'
	@echo '  make image   build the BIOS disk image and print its path'
	@echo '  make deps    install the pinned Rust toolchain and QEMU if missing'
	@echo '  make chromium  install Chromium if missing (make test loads the dashboard in it, headless)'
	@echo '  make clean   remove build output (cargo clean)'
	@echo
	@echo 'Variables for run, trace and gdb (now):'
	@echo '  SMP         virtual CPUs ($(SMP))'
	@echo '  PROG        program to run ($(PROG))'
	@echo '  GOMAXPROCS  number of Ps ($(or $(GOMAXPROCS),unset: the kernel decides))'
	@echo '  GODEBUG     as in Go, e.g. schedtrace=100,scheddetail=1 ($(or $(GODEBUG),unset))'
	@echo '              switch a mechanism off (docs/experiments.md; PROG=demo: each scene with and without):'
	@echo '                asyncpreemptoff=1  no 10 ms preemption: a hog delays a sleeper (PROG=hog GOMAXPROCS=1)'
	@echo '                stealoff=1         no stealing: a burst stays on its P (PROG=burst)'
	@echo '                runnextoff=1       no runnext: new goroutines run in order (PROG=order GOMAXPROCS=1)'
	@echo '                fairnessoff=1      no 1-in-61 global-queue check: it starves (PROG=fairness GOMAXPROCS=1)'
	@echo '                spinningoff=1      no spinning Ms: cores halt at once, more are woken (PROG=burst)'
	@echo '                handoffoff=1       no syscall handoff: the queue waits (PROG=syscall GOMAXPROCS=1 SMP=2)'
	@echo '                netpollirqoff=1    no wakeup on a packet: an idle server waits for sysmon (PROG=httpd)'
	@echo '                go10sched=1        Go 1.0: one global queue, one lock for every goroutine (PROG=spawn)'
	@echo '                netpollpreemptoff=1  no wake-up preemption: a request waits behind hogs, as in Go (PROG=httpd N=4)'
	@echo '  N, CPU      program parameters ($(or $(N),unset), $(or $(CPU),unset))'
	@echo '  MEM         guest memory in MiB ($(MEM))'
	@echo '  ACCEL       tcg or kvm ($(ACCEL))'
	@echo '  TIMEOUT     seconds before QEMU is killed, 0 = never ($(TIMEOUT))'
	@echo '  ICOUNT      1 = exact instruction-count timing, one host thread ($(or $(ICOUNT),unset))'
	@echo '  HTTP_PORT   host port on 127.0.0.1 for the kernel'"'"'s HTTP server, 0 = none ($(HTTP_PORT))'
	@echo '  ECHO_PORT   host port (TCP and UDP) for the echo server, 0 = none ($(ECHO_PORT))'
	@echo
	@echo 'Examples: make run SMP=8 PROG=demo GODEBUG=schedtrace=100'
	@echo '          make run PROG=million        (1,000,000 goroutines; MEM=8192 is sized for it)'
	@echo '          make run PROG=procresize GODEBUG=schedtrace=100'
	@echo '          make run PROG=sysfair GOMAXPROCS=1 N=10000   (short system calls vs. main)'
	@echo '          make run PROG=timers   (Timer Stop/Reset, AfterFunc, Ticker; N=, the timeout loop)'
	@echo '          make run PROG=httpd, then open http://127.0.0.1:$(HTTP_PORT)/ (the live dashboard)'

run: deps
	@$(GMPOS_RUN) $(RUN_FLAGS) $(KERNEL_WORDS)

# The trace leaves the VM on COM2; gmpos-run turns it into JSON and SVG.
trace: deps
	@$(GMPOS_RUN) $(RUN_FLAGS) --trace target/trace $(KERNEL_WORDS)

# Names the rip=/ret= addresses of a saved run's output (standard input).
symbolize: deps
	@$(GMPOS_RUN) --symbolize

gdb: deps
	@$(GMPOS_RUN) $(RUN_FLAGS) --timeout 0 --gdb $(KERNEL_WORDS)

# tests/dashboard.rs loads the dashboard in headless Chromium.
test: deps chromium
	$(CARGO) test

bench: deps
	@$(CARGO) build -p boot --bin gmpos-bench && $(CARGO) run --quiet -p boot --bin gmpos-bench -- $(if $(N),--n $(N))

bench-scale: deps
	@$(CARGO) build -p boot --bin gmpos-scale && $(CARGO) run --quiet -p boot --bin gmpos-scale

# The host CPU that an idle kernel costs; SECS= (default 10) and SMP.
bench-idle: deps
	@$(call build_bin,gmpos-run) && SECS='$(SECS)' bench/idle/run.sh "$$exe" $(SMP)

# gmpos beside Go 1.19 on Linux 6.1 in the same QEMU machine, over a TAP
# device in a network namespace (root); SECS= per wrk row (default 10).
bench-net: deps
	@$(call build_bin,gmpos-bench-net) && bench/net/run.sh "$$exe" $(or $(SECS),10) $(SMP)

# FUNC, SKIP, STEPS: see bench/profile/run.sh.
bench-profile: deps
	@$(CARGO) build -p boot --bin gmpos-run
	@FUNC='$(FUNC)' SKIP='$(SKIP)' STEPS='$(STEPS)' N='$(N)' bench/profile/run.sh

# Go and Tokio under callgrind beside gmpos (bench/peers/run.sh says how);
# gmpos's figures come from make bench, run first if there are none.
bench-peers: deps
	@[ -f target/bench/results.json ] || { $(CARGO) build -p boot --bin gmpos-bench && $(CARGO) run --quiet -p boot --bin gmpos-bench; }
	@bench/peers/run.sh

# The long fuzz run; `make test` runs the same tests briefly (tests/fuzz.rs,
# tests/fuzz_net.rs).
FUZZ_CASES  ?= 100000
FUZZ_ROUNDS ?= 1000
FUZZ_SEED   ?=
fuzz: deps
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --test fuzz
	FUZZ_ROUNDS=$(FUZZ_ROUNDS) $(if $(FUZZ_SEED),FUZZ_SEED=$(FUZZ_SEED)) $(CARGO) test --test fuzz_net -- --nocapture

# Boots with random machines and workloads (boot/src/torture.rs); the same
# SEED gives the same boots, BOOT=K only the Kth of them (again and again).
# `make test` runs about a minute of it.
SECONDS ?= 180
SEED    ?=
BOOT    ?=
torture: deps
	@$(CARGO) build -p boot --bin gmpos-torture && $(CARGO) run --quiet -p boot --bin gmpos-torture -- --seconds $(SECONDS) $(if $(SEED),--seed $(SEED)) $(if $(BOOT),--boot $(BOOT))

loom: toolchain
	$(CARGO) test --release --features loom --test runq_loom --test freestack_loom --test traceslot_loom

image: toolchain
	@$(GMPOS_RUN) --print-image

clean: toolchain
	$(CARGO) clean

deps: toolchain qemu

# Installs the pinned toolchain (with its components and targets) unless it is
# already there. `rustup toolchain install` with no argument reads
# rust-toolchain.toml (rustup >= 1.28); --no-self-update keeps it from
# replacing rustup itself, which a fresh rustup home would otherwise do.
toolchain:
	@command -v rustup >/dev/null 2>&1 || { \
	  echo 'make: rustup is not installed; install it from https://rustup.rs and run make again' >&2; exit 1; }
	@if rustup toolchain list | grep -q '^$(TOOLCHAIN)-' \
	   && rustup component list --toolchain $(TOOLCHAIN) --installed 2>/dev/null | grep -q '^rust-src' \
	   && rustup target list --toolchain $(TOOLCHAIN) --installed 2>/dev/null | grep -qx 'x86_64-unknown-none'; then :; \
	 else \
	   echo 'make: installing the Rust toolchain $(TOOLCHAIN) (from rust-toolchain.toml)' >&2; \
	   rustup toolchain install --no-self-update || { \
	     echo 'make: rustup could not install the toolchain in rust-toolchain.toml (rustup >= 1.28 is needed: rustup self update)' >&2; exit 1; }; \
	 fi

# $(call apt-install,COMMAND,PACKAGE,NAME): installs PACKAGE with apt-get
# (through sudo when not root) unless COMMAND is already there.
define apt-install
@command -v $(1) >/dev/null 2>&1 || { \
  echo 'make: $(1) is missing; installing $(2) with apt-get' >&2; \
  command -v apt-get >/dev/null 2>&1 || { \
    echo 'make: no apt-get here: install $(3) ($(1)) with your package manager' >&2; exit 1; }; \
  if [ "$$(id -u)" = 0 ]; then sudo=; \
  elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
  else echo 'make: not root and no sudo: install the $(2) package as root' >&2; exit 1; fi; \
  $$sudo apt-get update -qq && \
  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(2) >/dev/null && \
  command -v $(1) >/dev/null 2>&1 || { echo 'make: installing $(3) failed' >&2; exit 1; }; }
endef

qemu:
	$(call apt-install,$(QEMU_BIN),qemu-system-x86,QEMU)

# tests/dashboard.rs runs Chromium headless (Debian's package: chromium).
CHROMIUM_BIN ?= chromium
chromium:
	$(call apt-install,$(CHROMIUM_BIN),chromium,Chromium)
