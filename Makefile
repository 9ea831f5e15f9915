# vmtty: plain GNU make with pkg-config.
#   make            build build/vmtty
#   make run        install deps, build, open the TUI
#   make check      install deps, build (plain and sanitizer), run every test (JOBS=N side by side)
#   make check-asan only the sanitizer run (unit, CLI and TUI frames, ASan/UBSan/LSan)
#   make bench      benchmarks (figures and ratios; BENCH_ARGS='--runs 3 --only list')
#   make install PREFIX=/usr/local DESTDIR=  (SYSTEMDDIR=$(PREFIX)/lib/systemd for the units)

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
DATADIR   ?= $(PREFIX)/share/vmtty
MANDIR    ?= $(PREFIX)/share/man
LIBDIR    ?= $(PREFIX)/lib/vmtty
# systemd units (vmtty serve --supervise): system/ and user/ below it.
SYSTEMDDIR ?= $(PREFIX)/lib/systemd
BUILD     ?= build
CC        ?= cc
PKG_CONFIG ?= pkg-config

# The binary links the light libraries; libvirt (with its dozens of
# dependencies) is a plugin loaded on first use: vmtty-libvirt.so.  libxml2
# reads libvirt's XML back in the plugin only.
PKGS      := ncursesw sqlite3 json-c vterm inih nettle libmicrohttpd libcurl
LIBVIRT_PKGS := libvirt libxml-2.0
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) $(LIBVIRT_PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
LIBVIRT_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBVIRT_PKGS) 2>/dev/null)
# The VNC console (libvncclient, chafa with glib, libpng, zlib): vmtty-vnc.so.
VNC_PKGS  := libvncclient chafa libpng zlib
VNC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(VNC_PKGS) 2>/dev/null)
VNC_LIBS  := $(shell $(PKG_CONFIG) --libs $(VNC_PKGS) 2>/dev/null)
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
# ASan intercepts the SunRPC XDR functions, which glibc 2.32+ left to
# libtirpc; resolved when the sanitizer starts, they stay NULL if libtirpc
# only comes later with the libvirt plugin, and libvirt's first remote call
# jumps to address 0.  Loading libtirpc from the start resolves them.
SAN_LIBS    := -Wl,--no-as-needed $(shell $(PKG_CONFIG) --libs libtirpc 2>/dev/null) -Wl,--as-needed
endif

LIBVIRT_SRC := $(sort $(wildcard src/hv/libvirt*.c))
VNC_SRC   := $(sort $(wildcard src/console/vnc_*.c))
LIB_SRC   := $(filter-out $(LIBVIRT_SRC) $(VNC_SRC),$(sort $(wildcard src/util/*.c src/model/*.c \
             src/hv/*.c src/ops/*.c src/console/*.c src/ui/*.c src/cli/*.c)))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIBVIRT_OBJ := $(LIBVIRT_SRC:%.c=$(BUILD)/obj/%.o)
LIBVIRT_PIC := $(LIBVIRT_SRC:%.c=$(BUILD)/pic/%.o)
VNC_OBJ   := $(VNC_SRC:%.c=$(BUILD)/obj/%.o)
VNC_PIC   := $(VNC_SRC:%.c=$(BUILD)/pic/%.o)
PLUGINS   := $(BUILD)/vmtty-libvirt.so $(BUILD)/vmtty-vnc.so
MAIN_OBJ  := $(BUILD)/obj/src/main.o
# Plugins load from one directory, compiled into the loader (or from
# $VMTTY_PLUGIN_DIR): the build directory for $(BUILD)/vmtty, so that it
# and the tests run from the tree; LIBDIR for $(BUILD)/inst/vmtty, the
# binary `make install` puts in place, relinked with its own loader.
PLUGIN_OBJ := $(BUILD)/obj/src/util/plugin.o
INST_PLUGIN_OBJ := $(BUILD)/inst/plugin.o
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all run check check-asan asan-run unit bench install uninstall clean deps layers lint-man FORCE

all: $(BUILD)/vmtty $(PLUGINS)

deps:
	@scripts/install-deps

Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $< (PIC)")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/libvmtty.a: $(LIB_OBJ) Makefile
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

# The whole archive, with its symbols exported, so that a plugin finds every
# helper it calls in the running binary (one error buffer, one log).
$(BUILD)/vmtty: $(MAIN_OBJ) $(BUILD)/libvmtty.a
	$(CC) $(ALL_LDFLAGS) -rdynamic -o $@ $(MAIN_OBJ) -Wl,--whole-archive $(BUILD)/libvmtty.a \
		-Wl,--no-whole-archive $(LIBS) $(SAN_LIBS)

$(PLUGIN_OBJ): ALL_CPPFLAGS += -DVMTTY_LIBDIR='"$(abspath $(BUILD))"'

# LIBDIR as last built into the installed loader: rebuilt when it changes.
$(BUILD)/inst/libdir: FORCE
	@mkdir -p $(@D)
	@echo '$(LIBDIR)' | cmp -s - $@ || echo '$(LIBDIR)' >$@

$(INST_PLUGIN_OBJ): src/util/plugin.c $(BUILD)/inst/libdir
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -DVMTTY_LIBDIR='"$(LIBDIR)"' $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/inst/vmtty: $(MAIN_OBJ) $(filter-out $(PLUGIN_OBJ),$(LIB_OBJ)) $(INST_PLUGIN_OBJ)
	$(CC) $(ALL_LDFLAGS) -rdynamic -o $@ $^ $(LIBS) $(SAN_LIBS)

$(BUILD)/vmtty-libvirt.so: $(LIBVIRT_PIC)
	$(CC) $(ALL_LDFLAGS) -shared -o $@ $^ $(LIBVIRT_LIBS)

$(VNC_OBJ) $(VNC_PIC): ALL_CFLAGS += $(VNC_CFLAGS)

$(BUILD)/vmtty-vnc.so: $(VNC_PIC)
	$(CC) $(ALL_LDFLAGS) -shared -o $@ $^ $(VNC_LIBS)

# Unit tests link the backends directly (no plugin loading).
$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libvmtty.a $(LIBVIRT_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(LIBVIRT_OBJ) $(BUILD)/libvmtty.a $(LIBS) $(LIBVIRT_LIBS) $(TEST_LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libvmtty.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BENCH_OBJ) $(BUILD)/libvmtty.a \
		$(LIBS) $(BENCH_LIBS) -lutil

# The VNC benchmark links the plugin's code directly.
$(BUILD)/bench/vncbench: $(VNC_OBJ)
$(BUILD)/bench/vncbench: BENCH_OBJ = $(VNC_OBJ)
$(BUILD)/bench/vncbench: BENCH_LIBS = $(VNC_LIBS)

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/vmtty

# The unit tests, and the bench tools the suites drive (ptyrun, keylat,
# gen-inventory), so that `make all unit` is enough for any tests/run.
unit: $(UNIT_BIN) $(BENCH_BIN)

# Layering: model has no curses/libvirt, ui no sqlite3.h/libvirt.h, hv no curses.
layers:
	@scripts/check-layers

lint-man:
	@mandoc -Tlint -W warning man/*.[1-9]

# Both builds (the second with ASan/UBSan/LSan), then every test: those of
# the plain build and the unit and CLI suites of the sanitizer build,
# JOBS suites side by side (the slowest first); the line "total: N passed,
# N failed, N skipped" ends the output.  One more than the CPUs: the suites
# spend most of their time waiting for guests, daemons and terminals.
JOBS ?= $(shell echo $$(($$(nproc 2>/dev/null || echo 1) + 1)))
check: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all unit $(BENCH_BIN)
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build-asan SAN=1 all unit $(BENCH_BIN:$(BUILD)/%=build-asan/%)
	@tests/run --build $(BUILD) --asan build-asan -j $(JOBS)

check-asan: deps
	@$(MAKE) --no-print-directory asan-run

# (tests/run sets the sanitizers' options.)
asan-run:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all unit $(BENCH_BIN:$(BUILD)/%=build-asan/%)
	@tests/run --build build-asan --fast

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@bench/run --build $(BUILD) $(BENCH_ARGS)

# The units, their ExecStart the installed binary (rebuilt when BINDIR
# changes).
UNITS     := $(BUILD)/systemd/system/vmtty-serve.service $(BUILD)/systemd/user/vmtty-serve.service
$(BUILD)/systemd/system/vmtty-serve.service: share/systemd/vmtty-serve.service $(BUILD)/inst/bindir
	@mkdir -p $(@D)
	sed 's|@BINDIR@|$(BINDIR)|g' $< >$@
$(BUILD)/systemd/user/vmtty-serve.service: share/systemd/user/vmtty-serve.service $(BUILD)/inst/bindir
	@mkdir -p $(@D)
	sed 's|@BINDIR@|$(BINDIR)|g' $< >$@
$(BUILD)/inst/bindir: FORCE
	@mkdir -p $(@D)
	@echo '$(BINDIR)' | cmp -s - $@ || echo '$(BINDIR)' >$@

install: $(BUILD)/inst/vmtty $(PLUGINS) $(UNITS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSTEMDDIR)/system $(DESTDIR)$(SYSTEMDDIR)/user
	install -m 0755 $(BUILD)/inst/vmtty $(DESTDIR)$(BINDIR)/vmtty
	install -d $(DESTDIR)$(LIBDIR)
	install -m 0644 $(PLUGINS) $(DESTDIR)$(LIBDIR)/
	for t in share/templates/*.ini; do [ -e "$$t" ] || continue; \
		install -m 0644 "$$t" $(DESTDIR)$(DATADIR)/templates/; done
	install -m 0644 man/vmtty.1 $(DESTDIR)$(MANDIR)/man1/vmtty.1
	install -m 0644 man/vmtty-templates.5 $(DESTDIR)$(MANDIR)/man5/vmtty-templates.5
	install -m 0644 $(BUILD)/systemd/system/vmtty-serve.service $(DESTDIR)$(SYSTEMDDIR)/system/
	install -m 0644 $(BUILD)/systemd/user/vmtty-serve.service $(DESTDIR)$(SYSTEMDDIR)/user/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vmtty $(DESTDIR)$(MANDIR)/man1/vmtty.1 \
		$(DESTDIR)$(MANDIR)/man5/vmtty-templates.5 \
		$(DESTDIR)$(SYSTEMDDIR)/system/vmtty-serve.service \
		$(DESTDIR)$(SYSTEMDDIR)/user/vmtty-serve.service
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(LIBDIR)

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(LIBVIRT_OBJ:.o=.d) $(LIBVIRT_PIC:.o=.d)
-include $(VNC_OBJ:.o=.d) $(VNC_PIC:.o=.d) $(INST_PLUGIN_OBJ:.o=.d)
