# posfeed - build, test, bench, demo, install.
#
#   make            build ./posfeed
#   make test       unit + end-to-end tests, then again under ASan+UBSan
#   make demo       import the demo shop and build its feeds into feeds/
#   make bench      synthetic shops at two sizes; prints rates and peak RSS

PKGS     := libcjson libxml-2.0 libpcre2-8 sqlite3 zlib inih yajl libcrypto \
            libcurl libmicrohttpd
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wno-format-truncation
PREFIX   ?= /usr/local
DATADIR  ?= $(PREFIX)/share/posfeed
DEFS     := -D_POSIX_C_SOURCE=200809L -DPF_DATADIR=\"$(DATADIR)\"
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lm -pthread

# Build flavours: plain in build/, sanitized in build/asan/.
B        ?= build
SAN      :=
ifeq ($(B),build/asan)
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
endif

ALL_CFLAGS := $(WARN) $(DEFS) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -pthread
ALL_LDFLAGS := $(SAN) $(LDFLAGS)

SRCS     := $(filter-out src/cli.c,$(wildcard src/*.c))
OBJS     := $(SRCS:src/%.c=$(B)/obj/%.o)
LIB      := $(B)/libposfeed.a
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all test test-plain test-asan demo bench install clean check-deps

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

$(B)/posfeed: $(B)/obj/cli.o $(LIB)
	$(say) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(LIB): $(OBJS)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(say) TEST $@
	$(Q)$(CC) $(ALL_CFLAGS) -Isrc $(ALL_LDFLAGS) -o $@ $< $(LIB) \
	    $(PKG_LIBS) $(shell pkg-config --libs cmocka)

-include $(OBJS:.o=.d) $(B)/obj/cli.d

units: $(UNIT_BIN) $(B)/posfeed

# Plain run first, then the same suite under ASan+UBSan. One summary line.
test:
	@$(MAKE) --no-print-directory B=build units posfeed
	@$(MAKE) --no-print-directory B=build/asan units
	@tests/run.sh build build/asan

demo: posfeed
	@tests/demo.sh

bench: posfeed
	@tests/bench.sh
	@tests/bench_serve.sh
	@tests/bench_lsr.sh

install: posfeed
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)/templates
	install -m 0755 posfeed $(DESTDIR)$(PREFIX)/bin/posfeed
	install -m 0644 templates/* $(DESTDIR)$(DATADIR)/templates/

clean:
	rm -rf build posfeed
