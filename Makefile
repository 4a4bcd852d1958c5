# posfeed - build, test, bench, demo, install.
#
#   make            build ./posfeed
#   make test       unit + end-to-end tests, then again under ASan+UBSan
#   make demo       import the demo shop and build its feeds into feeds/
#   make bench      synthetic shops at two sizes; prints rates and peak RSS
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS each (clang)
#   make fuzz-build build the harnesses only, into build/fuzz/
#   make install    posfeed, its templates and man pages under PREFIX
#                   (/usr/local), staged under DESTDIR if set
#   make uninstall  removes exactly what install put there

PKGS     := libcjson libxml-2.0 libpcre2-8 sqlite3 zlib inih yajl libcrypto \
            libcurl libmicrohttpd libisal gnutls
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wno-format-truncation
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share/posfeed
MANDIR   ?= $(PREFIX)/share/man
DEFS     := -D_POSIX_C_SOURCE=200809L
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lm -pthread

# Build flavours: plain in build/, sanitized in build/asan/, and the
# libFuzzer harnesses in build/fuzz/ (clang only: see fuzz-build).
B        ?= build
SAN      :=
# GCC's "undefined" leaves out float-cast-overflow (clang's does not):
# a double too large for its integer type is named too.
ifeq ($(B),build/asan)
SAN      := -fsanitize=address,undefined,float-cast-overflow \
            -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined,float-cast-overflow
endif
ifeq ($(B),build/fuzz)
SAN      := -fsanitize=fuzzer-no-link,address,undefined \
            -fno-omit-frame-pointer -fno-sanitize-recover=undefined
WARN     += -Wno-unknown-warning-option
endif

ALL_CFLAGS := $(WARN) $(DEFS) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -pthread
ALL_LDFLAGS := $(SAN) $(LDFLAGS)

SRCS     := $(filter-out src/cli.c,$(wildcard src/*.c))
OBJS     := $(SRCS:src/%.c=$(B)/obj/%.o)
LIB      := $(B)/libposfeed.a
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Test support linked into unit tests and fuzz harnesses.
TSUP_OBJ := $(B)/obj/tests/fake_shop.o $(B)/obj/tests/script_server.o \
            $(B)/obj/tests/store_fixture.o
# Fuzz harnesses (tests/fuzz/fuzz_NAME.c): each is also linked with a
# replay driver by the normal compiler, so `make test` runs every corpus
# file through it in both flavours, clang or not.
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
REPLAY_BIN := $(FUZZ_NAMES:%=$(B)/tests/replay_%)
FUZZ_BIN   := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60

.PHONY: all test test-plain test-asan demo bench install uninstall clean \
        check-deps units fuzz fuzz-build fuzzers FORCE

all: posfeed

posfeed: $(B)/posfeed
	@if [ "$(B)" = build ]; then cp $(B)/posfeed posfeed; fi

# V=1 shows the full command lines.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n'
endif

# Objects depend on the flags they were compiled with, not only on their
# sources: $(B)/cflags holds the compile command and $(B)/datadir the
# templates folder compiled into config.o (PF_DATADIR, from PREFIX or
# DATADIR); each is rewritten only when it changes. So `make install
# PREFIX=/x` after a plain `make` rebuilds config.o for /x instead of
# installing a binary that looks in /usr/local/share.
stamp = @mkdir -p $(@D); printf '%s\n' '$(1)' >$@.new; \
        if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi
$(B)/cflags: FORCE
	$(call stamp,$(CC) $(ALL_CFLAGS))
$(B)/datadir: FORCE
	$(call stamp,$(DATADIR))

$(B)/obj/config.o: $(B)/datadir
$(B)/obj/config.o: OBJ_DEFS = -DPF_DATADIR=\"$(DATADIR)\"

$(B)/posfeed: $(B)/obj/cli.o $(LIB)
	$(say) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(LIB): $(OBJS)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(B)/obj/%.o: src/%.c $(B)/cflags
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) $(OBJ_DEFS) -MMD -MP -c -o $@ $<

$(B)/obj/tests/%.o: tests/%.c $(B)/cflags
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) -Isrc -Itests -MMD -MP -c -o $@ $<

$(B)/tests/test_%: tests/unit/test_%.c $(TSUP_OBJ) $(LIB) $(B)/cflags
	@mkdir -p $(dir $@)
	$(say) TEST $@
	$(Q)$(CC) $(ALL_CFLAGS) -Isrc -Itests $(ALL_LDFLAGS) -o $@ $< \
	    $(TSUP_OBJ) $(LIB) $(PKG_LIBS) $(shell pkg-config --libs cmocka)

$(B)/tests/replay_%: tests/fuzz/fuzz_%.c $(B)/obj/tests/fuzz/replay.o \
                     $(TSUP_OBJ) $(LIB) $(B)/cflags
	@mkdir -p $(dir $@)
	$(say) REPLAY $@
	$(Q)$(CC) $(ALL_CFLAGS) -Isrc -Itests $(ALL_LDFLAGS) -o $@ $< \
	    $(B)/obj/tests/fuzz/replay.o $(TSUP_OBJ) $(LIB) $(PKG_LIBS)

# Only with B=build/fuzz and CC=clang (fuzz-build sets both).
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(TSUP_OBJ) $(LIB) $(B)/cflags
	$(say) FUZZ $@
	$(Q)$(CC) $(ALL_CFLAGS) -Isrc -Itests -fsanitize=fuzzer $(LDFLAGS) \
	    -o $@ $< $(TSUP_OBJ) $(LIB) $(PKG_LIBS)

# Objects that only pattern rules name would be deleted as intermediate.
.SECONDARY: $(TSUP_OBJ) $(B)/obj/tests/fuzz/replay.o

-include $(OBJS:.o=.d) $(B)/obj/cli.d $(B)/obj/tests/fake_shop.d \
    $(B)/obj/tests/script_server.d $(B)/obj/tests/store_fixture.d \
         $(B)/obj/tests/fuzz/replay.d

units: $(UNIT_BIN) $(REPLAY_BIN) $(B)/posfeed

fuzzers: $(FUZZ_BIN)

# The harnesses need clang's libFuzzer (Debian: clang, libclang-rt-14-dev).
fuzz-build:
	@command -v $(FUZZ_CC) >/dev/null || \
	    { echo "fuzz-build: $(FUZZ_CC) not found (apt-get install clang" \
	           "libclang-rt-14-dev)"; exit 1; }
	@$(MAKE) --no-print-directory B=build/fuzz CC=$(FUZZ_CC) \
	    CFLAGS="-O1 -g" fuzzers

# Each harness for FUZZ_SECONDS over a scratch copy of its corpus in
# build/fuzz/corpus/; stops at the first crash and names the reproducer.
# FUZZ_NAMES="template text" picks harnesses.
fuzz: fuzz-build
	@tests/fuzz/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

# Plain run first, then the same suite under ASan+UBSan. One summary line.
test:
	@$(MAKE) --no-print-directory B=build units posfeed
	@$(MAKE) --no-print-directory B=build/asan units
	@tests/run.sh build build/asan

demo: posfeed
	@tests/demo.sh

# Each part prints its figures; parts that measure an issue-13 target also
# print a "target" line (tests/bench_lib.sh), gathered again at the end.
bench: posfeed
	@rm -f bench/targets.txt bench/scale.tsv
	@tests/bench_import.sh
	@tests/bench_feeds.sh
	@tests/bench_gzip.sh
	@tests/bench_linear.sh
	@tests/bench_serve.sh
	@tests/bench_lsr.sh
	@tests/bench_lse.sh
	@tests/bench_push.sh
	@tests/bench_dutchie.sh
	@tests/bench_tls.sh
	@tests/bench_clerkv2.sh
	@tests/bench_s3.sh
	@tests/bench_shops.sh
	@tests/bench_summary.sh

# What install puts where; uninstall removes these files and then the
# templates folders if they are left empty, nothing else.
TEMPLATES := $(wildcard templates/*.json templates/*.xml)
INST_TPL  := $(TEMPLATES:templates/%=$(DESTDIR)$(DATADIR)/templates/%)
INST_MAN  := $(DESTDIR)$(MANDIR)/man1/posfeed.1 \
             $(DESTDIR)$(MANDIR)/man5/posfeed.conf.5

install: $(B)/posfeed
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/templates \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(B)/posfeed $(DESTDIR)$(BINDIR)/posfeed
	install -m 0644 $(TEMPLATES) $(DESTDIR)$(DATADIR)/templates/
	install -m 0644 man/posfeed.1 $(DESTDIR)$(MANDIR)/man1/posfeed.1
	install -m 0644 man/posfeed.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/posfeed.conf.5

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/posfeed $(INST_TPL) $(INST_MAN)
	@for d in $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(DATADIR); do \
	    if [ -d "$$d" ]; then rmdir "$$d" 2>/dev/null || \
	        echo "uninstall: $$d is not empty; left in place"; fi; \
	done

clean:
	rm -rf build posfeed
