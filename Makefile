# oneprof build. Everything lands in build/ (out of tree).
#   make            agent (liboneprof.so), library and CLI
#   make test       installs missing dependencies, then every test
#   make demo       installs missing dependencies, then profiles a demo
#   make install PREFIX=/usr/local
#   make fuzz       libFuzzer targets for every parser of untrusted input (clang)
#   make bench      helpers of the benchmarks in bench/
#   make clean

CC ?= cc
PREFIX ?= /usr/local
B := build

# -Werror in CI (CI=true), warnings stay warnings on a developer's machine.
WERROR := $(if $(filter true 1 yes,$(CI)),-Werror,)
# snprintf truncation is how we bound messages, not a mistake.
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers \
        -Wno-format-truncation $(WERROR)
CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu11 $(WARN) -fno-omit-frame-pointer -Iinclude -MMD -MP -D_GNU_SOURCE
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined

# The in-process agent: libc, pthread and zstd only (see DESIGN.md).
# escape.c: the one UTF-8 decoder, for the metrics endpoint's label values.
AGENT_SRC := $(wildcard src/agent/*.c) src/capture/writer.c src/util/escape.c
# The CLI-side library: reader, model, symbolizer, reports, exporters.
# The agent's perf map parser is in it too, for its unit tests and fuzzer.
LIB_SRC := $(wildcard src/capture/*.c src/model/*.c src/symbolize/*.c src/collect/*.c \
                      src/report/*.c src/export/*.c src/util/*.c) src/agent/jitmap.c \
           src/agent/procfs.c src/agent/expo.c src/agent/httpd.c
CLI_SRC := $(wildcard src/cli/*.c)
# -ldw: DWARF (elfutils); -liberty: demangling (static, binutils' own);
# libdebuginfod is dlopen'ed when DEBUGINFOD_URLS is set, not linked.
LIB_LIBS := -ldw -lelf -liberty -lzstd -lz -lxxhash -ldl -lm

AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/pic/%.o)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/obj/%.o)

UNIT_SRC := $(wildcard tests/unit/*.c)
PROG_SRC := $(wildcard tests/progs/*.c)
PROGS := $(PROG_SRC:tests/progs/%.c=$(B)/tests/progs/%)

DEPS_STAMP := $(B)/.deps-ok
# Objects depend on the flags they were built with: CI=true (-Werror) or a
# new CFLAGS rebuilds everything.
FLAGS_STAMP := $(B)/.flags
FLAGS_NOW := $(BASE_CFLAGS) $(CFLAGS)

.PHONY: all test demo install clean deps fuzz FORCE
all: $(B)/liboneprof.so $(B)/oneprof

# Dependencies: check first, install when missing (root), else a clear error.
$(DEPS_STAMP): scripts/install-deps.sh tests/node/package-lock.json
	@scripts/install-deps.sh
	@mkdir -p $(B) && touch $@
deps: $(DEPS_STAMP)

$(FLAGS_STAMP): FORCE
	@mkdir -p $(B)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' >$@

$(B)/pic/%.o: %.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -pthread -c $< -o $@

$(B)/obj/%.o: %.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -c $< -o $@

$(B)/asan/%.o: %.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN) -c $< -o $@

$(B)/liboneprof.so: $(AGENT_OBJ) src/agent/liboneprof.map
	$(CC) -shared -pthread -Wl,--version-script=src/agent/liboneprof.map -Wl,-z,defs \
		-o $@ $(AGENT_OBJ) -lzstd -ldl -lm

$(B)/liboneprof-cli.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/oneprof: $(CLI_OBJ) $(B)/liboneprof-cli.a
	$(CC) -o $@ $(CLI_OBJ) $(B)/liboneprof-cli.a $(LIB_LIBS)

# --- unwind tests ---
# src/unwind/ goes into the agent and into the CLI-side library (so the unit
# tests link it). AGENT_OBJ and the two link rules above were expanded
# already, hence the extra prerequisite lines; LIB_SRC is read by the rules
# below (unit-tests-asan, capture-tool, fuzz).
# space.c unwinds copied stacks for the out-of-process collector from
# files on disk: CLI side only, not in the agent.
UNWIND_SRC := $(wildcard src/unwind/*.c)
UNWIND_AGENT_SRC := $(filter-out src/unwind/space.c,$(UNWIND_SRC))
AGENT_SRC += $(UNWIND_AGENT_SRC)
AGENT_OBJ += $(UNWIND_AGENT_SRC:%.c=$(B)/pic/%.o)
LIB_SRC += $(UNWIND_SRC)
LIB_OBJ += $(UNWIND_SRC:%.c=$(B)/obj/%.o)
$(B)/liboneprof.so: $(UNWIND_AGENT_SRC:%.c=$(B)/pic/%.o)
$(B)/liboneprof-cli.a: $(UNWIND_SRC:%.c=$(B)/obj/%.o)
# The unwind test chain must have no frame pointers (that is what it
# tests): these come after BASE_CFLAGS' -fno-omit-frame-pointer and win,
# and survive a CFLAGS given on the command line. private: they do not
# leak into prerequisites such as $(FLAGS_STAMP).
UNWIND_CHAIN_FLAGS := -O2 -fomit-frame-pointer -fno-inline -fno-optimize-sibling-calls
$(B)/obj/tests/unit/unwind_chain.o: private BASE_CFLAGS += $(UNWIND_CHAIN_FLAGS)
$(B)/asan/tests/unit/unwind_chain.o: private SAN += $(UNWIND_CHAIN_FLAGS)
# --- end unwind tests ---

# --- tools library ---
# liboneprof-tools.so: the CLI's commands as one call, oneprof_tool_run(),
# for bindings that report in-process (bindings/python). The CLI-side
# library and the commands, compiled -fPIC; main() left out.
TOOL_OBJ := $(LIB_SRC:%.c=$(B)/tpic/%.o) $(CLI_SRC:%.c=$(B)/tpic/%.o)
$(B)/tpic/%.o: %.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -DONEPROF_TOOL_LIBRARY -c $< -o $@
$(B)/liboneprof-tools.so: $(TOOL_OBJ) src/cli/liboneprof-tools.map
	$(CC) -shared -Wl,--version-script=src/cli/liboneprof-tools.map -Wl,-z,defs \
		-o $@ $(TOOL_OBJ) $(LIB_LIBS)
all: $(B)/liboneprof-tools.so
# --- end tools library ---

# --- tests ---

# Sample programs: frame pointers on, no inlining and no sibling calls, so
# the true call structure is the one in the source.
PROG_CFLAGS := -O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
               -fno-optimize-sibling-calls -pthread -Iinclude
$(B)/tests/progs/%: tests/progs/%.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -o $@ $< -lm

# A capture of several processes, written through the capture writer as
# the out-of-process collector writes one (tests/e2e/t134_processes.sh).
$(B)/tests/progs/mpcapture: tests/progs/mpcapture.c tests/unit/builder.c $(B)/liboneprof-cli.a \
			    $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -o $@ $< tests/unit/builder.c $(B)/liboneprof-cli.a $(LIB_LIBS)

# The same ground truth the way distributions build: -O2, no frame
# pointers, frameless leaf work functions; and with its round function in
# a shared library without frame pointers.
NOFP_CFLAGS := -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls -pthread -DFRAMELESS
$(B)/tests/progs/split-nofp: tests/progs/split.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(NOFP_CFLAGS) -o $@ $<
$(B)/tests/progs/libsplitround.so: tests/progs/lib/splitround.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fomit-frame-pointer -fPIC -shared -o $@ $<
$(B)/tests/progs/split-lib: tests/progs/split.c $(B)/tests/progs/libsplitround.so
	$(CC) $(NOFP_CFLAGS) -DSHARED_ROUND -o $@ $< -L$(B)/tests/progs -lsplitround \
		-Wl,-rpath,'$$ORIGIN'
$(B)/tests/progs/attachsplit-nofp: tests/progs/attachsplit.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(NOFP_CFLAGS) -o $@ $<
PROGS += $(B)/tests/progs/split-nofp $(B)/tests/progs/split-lib \
	$(B)/tests/progs/attachsplit-nofp
# The known-split programs share their work functions.
$(B)/tests/progs/split $(B)/tests/progs/split-nofp $(B)/tests/progs/split-lib \
$(B)/tests/progs/attachsplit $(B)/tests/progs/attachsplit-nofp: tests/progs/split_work.h

# --- monitor tests (tests/e2e/t120..t124) ---
# The libuv loop monitor's test program: include/oneprof_uv.h compiled in,
# linked with libuv (the agent never is); the oneprof calls are weak.
$(B)/tests/progs/uvloop: tests/progs/uv/uvloop.c include/oneprof_uv.h include/oneprof.h \
		$(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -o $@ $< -luv
PROGS += $(B)/tests/progs/uvloop

# --- symbolization tests (tests/e2e/t90..t94) ---
# A C++ program for demangling; symhot without PIE and with its symbols in
# .dynsym (-rdynamic), for stripped-binary tests; a library dlhot loads
# twice under two names.
$(B)/tests/progs/cxxhot: tests/progs/cxxhot.cc $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	c++ -O2 -g -fno-omit-frame-pointer -o $@ $<
$(B)/tests/progs/symhot-nopie: tests/progs/symhot.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -fno-pie -no-pie -o $@ $<
$(B)/tests/progs/symhot-rdynamic: tests/progs/symhot.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -rdynamic -o $@ $<
$(B)/tests/progs/libhot.so: tests/progs/lib/libhot.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fPIC -shared -o $@ $<
$(B)/tests/progs/libheapdl.so: tests/progs/lib/libheapdl.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fPIC -shared -o $@ $<
# The Python binding's test library: two functions in a known split,
# called through ctypes.
$(B)/tests/progs/libpysplit.so: tests/progs/lib/pysplit.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
		-fno-optimize-sibling-calls -fPIC -shared -o $@ $<
PROGS += $(B)/tests/progs/libpysplit.so
PROGS += $(B)/tests/progs/cxxhot $(B)/tests/progs/symhot-nopie \
	$(B)/tests/progs/symhot-rdynamic $(B)/tests/progs/libhot.so $(B)/tests/progs/libheapdl.so
# bench/symbolize.sh's helper: synthetic captures, symbolization timed.
bench: $(B)/bench/sym-capture $(B)/bench/big-capture
$(B)/bench/big-capture: bench/big_capture.c $(B)/liboneprof-cli.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(B)/liboneprof-cli.a $(LIB_LIBS)
$(B)/bench/sym-capture: bench/sym_capture.c $(B)/liboneprof-cli.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(B)/liboneprof-cli.a $(LIB_LIBS)

# The agent's perf map parser, fuzzed alone.
fuzz: $(B)/fuzz/fuzz-jitmap
$(B)/fuzz/fuzz-jitmap: tests/fuzz/fuzz_jitmap.c src/agent/jitmap.c src/agent/jitmap.h \
		src/capture/writer.c
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -Iinclude -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ tests/fuzz/fuzz_jitmap.c src/agent/jitmap.c \
		src/capture/writer.c -lzstd

$(B)/tests/unit-tests: $(UNIT_SRC:%.c=$(B)/obj/%.o) $(B)/liboneprof-cli.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LIB_LIBS)

$(B)/tests/unit-tests-asan: $(UNIT_SRC:%.c=$(B)/asan/%.o) $(LIB_SRC:%.c=$(B)/asan/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIB_LIBS)

$(B)/tests/capture-tool: tests/tools/capture-tool.c $(LIB_SRC:%.c=$(B)/asan/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN) -o $@ $< $(LIB_SRC:%.c=$(B)/asan/%.o) $(LIB_LIBS)

TEST_BINS := all $(B)/tests/unit-tests $(B)/tests/unit-tests-asan $(B)/tests/capture-tool $(PROGS)

# Every test, one summary line at the end.
test: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory $(TEST_BINS)
	@tests/run-all.sh

demo: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory all $(B)/tests/progs/demo
	@tests/demo.sh

fuzz: $(B)/fuzz/fuzz-capture
$(B)/fuzz/fuzz-capture: tests/fuzz/fuzz_capture.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -Iinclude -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-o $@ $^ $(LIB_LIBS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/share/doc/oneprof
	install -m 755 $(B)/oneprof $(DESTDIR)$(PREFIX)/bin/oneprof
	install -m 755 $(B)/liboneprof.so $(DESTDIR)$(PREFIX)/lib/liboneprof.so
	install -m 755 $(B)/liboneprof-tools.so $(DESTDIR)$(PREFIX)/lib/liboneprof-tools.so
	install -m 644 include/oneprof.h $(DESTDIR)$(PREFIX)/include/oneprof.h
	install -m 644 README.md doc/*.md $(DESTDIR)$(PREFIX)/share/doc/oneprof/

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# --- eh_frame fuzzing and benchmarks ---
# The .eh_frame parser fuzzed alone (ASan, and UBSan made fatal); seeds in
# tests/fuzz/eh_frame_seeds/.
fuzz: $(B)/fuzz/fuzz-eh-frame
EH_FUZZ_SRC := tests/fuzz/fuzz_eh_frame.c src/unwind/eh_frame.c src/unwind/walk.c
$(B)/fuzz/fuzz-eh-frame: $(EH_FUZZ_SRC) src/unwind/unwind_internal.h src/unwind/walk_core.h \
		src/capture/encoding.h
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -Iinclude -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -pthread -o $@ $(EH_FUZZ_SRC)

# make bench: what bench/*.sh run. The handler-cost program twice, with and
# without frame pointers, linked with the unwinder of the CLI library.
.PHONY: bench
HC_CFLAGS := -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -fno-optimize-sibling-calls -pthread
bench: all $(B)/tests/progs/split $(B)/bench/handler-cost-fp $(B)/bench/handler-cost-nofp \
	$(B)/bench/heap-churn $(B)/bench/heap-churn-nofp $(B)/bench/span-cost \
	$(B)/bench/calls $(B)/bench/calls-pg $(B)/bench/calls-oneprof
$(B)/bench/handler-cost-fp: bench/handler_cost.c $(B)/liboneprof-cli.a
	@mkdir -p $(dir $@)
	$(CC) $(HC_CFLAGS) -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -o $@ $< \
		$(B)/liboneprof-cli.a
$(B)/bench/handler-cost-nofp: bench/handler_cost.c $(B)/liboneprof-cli.a
	@mkdir -p $(dir $@)
	$(CC) $(HC_CFLAGS) -fomit-frame-pointer -o $@ $< $(B)/liboneprof-cli.a
# bench/span-cost.sh's programs: the pair-cost loop, and the call-heavy
# program plain, for uftrace (-pg) and with a span per call.
SPAN_BENCH_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Iinclude
$(B)/bench/span-cost: bench/span_cost.c include/oneprof.h
	@mkdir -p $(dir $@)
	$(CC) $(SPAN_BENCH_CFLAGS) -o $@ $<
$(B)/bench/calls: bench/calls.c
	@mkdir -p $(dir $@)
	$(CC) $(SPAN_BENCH_CFLAGS) -o $@ $<
$(B)/bench/calls-pg: bench/calls.c
	@mkdir -p $(dir $@)
	$(CC) $(SPAN_BENCH_CFLAGS) -pg -o $@ $<
$(B)/bench/calls-oneprof: bench/calls.c include/oneprof.h
	@mkdir -p $(dir $@)
	$(CC) $(SPAN_BENCH_CFLAGS) -DTRACE_ONEPROF -o $@ $<
# bench/heap-overhead.sh's workload, with and without frame pointers.
$(B)/bench/heap-churn: bench/heap_churn.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -fno-omit-frame-pointer -pthread -o $@ $<
$(B)/bench/heap-churn-nofp: bench/heap_churn.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -fomit-frame-pointer -pthread -o $@ $<

# --- pprof import fuzzing ---
# The pprof reader with the whole CLI-side library behind it (ASan, and
# UBSan made fatal).
fuzz: $(B)/fuzz/fuzz-pprof
$(B)/fuzz/fuzz-pprof: tests/fuzz/fuzz_pprof.c tests/fuzz/fuzz_walk.h $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -Iinclude -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(filter %.c,$^) $(LIB_LIBS)

# --- text import fuzzing ---
# Folded stacks and perf script text, with format detection in front.
fuzz: $(B)/fuzz/fuzz-text
$(B)/fuzz/fuzz-text: tests/fuzz/fuzz_text.c tests/fuzz/fuzz_walk.h $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -Iinclude -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(filter %.c,$^) $(LIB_LIBS)
