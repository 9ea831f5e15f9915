# vmtty: plain GNU make with pkg-config.
#   make            build build/vmtty
#   make run        install deps, build, open the TUI
#   make check      install deps, build, run every test
#   make check-asan unit tests under ASan/UBSan
#   make bench      benchmarks (figures and ratios)
#   make install PREFIX=/usr/local DESTDIR=

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
DATADIR   ?= $(PREFIX)/share/vmtty
MANDIR    ?= $(PREFIX)/share/man
BUILD     ?= build
CC        ?= cc
PKG_CONFIG ?= pkg-config

PKGS      := ncursesw sqlite3 json-c libvirt libvncclient vterm chafa libpng
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
TEST_LIBS  := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wvla
ALL_CPPFLAGS := -D_GNU_SOURCE -Isrc -DVMTTY_VERSION='"$(VERSION)"' \
             -DVMTTY_DATADIR='"$(DATADIR)"' $(CPPFLAGS)
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(PKG_CFLAGS) -pthread -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) -pthread
LIBS      := $(PKG_LIBS)

ifeq ($(SAN),1)
ALL_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ALL_LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC   := $(sort $(wildcard src/util/*.c src/model/*.c src/hv/*.c src/console/*.c \
             src/ui/*.c src/cli/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ  := $(BUILD)/obj/src/main.o
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all run check check-asan unit bench install uninstall clean deps layers lint-man

all: $(BUILD)/vmtty

deps:
	@scripts/install-deps

Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libvmtty.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/vmtty: $(MAIN_OBJ) $(BUILD)/libvmtty.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libvmtty.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(BUILD)/libvmtty.a $(LIBS) $(TEST_LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libvmtty.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libvmtty.a $(LIBS) -lutil

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/vmtty

unit: $(UNIT_BIN)

# Layering: model has no curses/libvirt, ui no sqlite3.h/libvirt.h, hv no curses.
layers:
	@scripts/check-layers

lint-man:
	@mandoc -Tlint -W warning man/vmtty.1

check: deps
	@$(MAKE) --no-print-directory all unit $(BENCH_BIN)
	@tests/run --build $(BUILD)

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all unit $(BENCH_BIN:$(BUILD)/%=build-asan/%)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run --build build-asan --fast

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@bench/run --build $(BUILD)

install: $(BUILD)/vmtty
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BUILD)/vmtty $(DESTDIR)$(BINDIR)/vmtty
	for t in share/templates/*.ini; do [ -e "$$t" ] || continue; \
		install -m 0644 "$$t" $(DESTDIR)$(DATADIR)/templates/; done
	install -m 0644 man/vmtty.1 $(DESTDIR)$(MANDIR)/man1/vmtty.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vmtty $(DESTDIR)$(MANDIR)/man1/vmtty.1
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
