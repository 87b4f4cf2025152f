# ringcap — plain Makefile.
#   make                      build ringcap, ringcap-read, the bench programs and tools/
#   make test                 install missing Debian packages, build with -Werror, run the suite
#   make test SANITIZE=address,undefined   the same suite under ASan/UBSan (libc malloc, build-san/)
#   make test SANITIZE=thread              the same suite under ThreadSanitizer (libc malloc, build-tsan/)
#   make deps                 install the Debian packages the project needs (root)
#   make demo                 capture a generated burst on a self-made testbed and show it
#   make install [PREFIX=/usr/local] [DESTDIR=]   ringcap, ringcap-read, man pages, systemd unit
#   make install-bench [PREFIX=/usr/local] [DESTDIR=]   bench programs and tools, in libexec/ringcap
#
# Every bench/*.c but the parts of a program split by concern (named with an
# underscore: arm_sock.c) is a program of its own; so are the tools/*.c named
# in TOOL_PROGS. The other tools/*.c (what the generators share) and the bench
# parts go into libtools.a, which both link. Every tests/unit/*.c is a unit
# test binary. All link the project's library (util/opt.c is every program's
# option table), so a new file there needs no Makefile change.

# No built-in implicit rules: every rule this project needs is below, and
# make would otherwise try them against each included .d file (seconds on
# every run over a built tree).
MAKEFLAGS += --no-builtin-rules

CC       ?= cc
SANITIZE ?=
MALLOC   ?= jemalloc
CFLAGS   ?= -O2 -g

WARN = -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wformat=2 -Wvla -Wimplicit-fallthrough -Wnull-dereference
HARDEN_C  = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
HARDEN_LD = -pie -Wl,-z,relro,-z,now

# TSan cannot be combined with ASan, and its objects must not mix with theirs:
# a build directory of its own.
ifneq ($(findstring thread,$(SANITIZE)),)
BUILD   ?= build-tsan
else ifneq ($(SANITIZE),)
BUILD   ?= build-san
endif
ifneq ($(SANITIZE),)
MALLOC  := libc
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD   ?= build
SANFLAGS =
endif

ALL_CPPFLAGS = -I. -D_GNU_SOURCE $(CPPFLAGS)
ALL_CFLAGS   = $(WARN) $(HARDEN_C) $(SANFLAGS) $(CFLAGS) -pthread -MMD -MP
ALL_LDFLAGS  = $(HARDEN_LD) $(SANFLAGS) -pthread $(LDFLAGS)
LIBS         = -luring -lpcap -ljansson -lm -lzstd -lz
ifeq ($(MALLOC),jemalloc)
ALL_CPPFLAGS += -DRINGCAP_JEMALLOC
LIBS         += -ljemalloc
endif

LIB_SRCS   = $(wildcard ring/*.c workers/*.c responder/*.c writer/*.c merge/*.c util/*.c index/*.c) \
             $(wildcard zfile/*.c) \
             $(wildcard stats/*.c jobs/*.c retention/*.c format/*.c capture/*.c) \
             $(filter-out read/ringcap-read.c,$(wildcard read/*.c))
LIB_OBJS   = $(LIB_SRCS:%.c=$(BUILD)/%.o)
BENCH_PART_SRCS = $(wildcard bench/*_*.c)
BENCH_SRCS = $(filter-out $(BENCH_PART_SRCS),$(wildcard bench/*.c))
BENCH_BINS = $(BENCH_SRCS:bench/%.c=$(BUILD)/%)
TOOL_PROGS = tools/ringcap-gen.c tools/arp-classic.c
TOOL_BINS  = $(TOOL_PROGS:tools/%.c=$(BUILD)/%)
TOOL_LIB_SRCS = $(filter-out $(TOOL_PROGS),$(wildcard tools/*.c)) $(BENCH_PART_SRCS)
TOOL_LIB   = $(BUILD)/libtools.a
UNIT_SRCS  = $(wildcard tests/unit/*.c)
UNIT_BINS  = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test check demo bench clean install install-bench
all: $(BUILD)/ringcap $(BUILD)/ringcap-read $(BENCH_BINS) $(TOOL_BINS) $(UNIT_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libringcap.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The command line belongs to the program, not to the library.
$(BUILD)/ringcap: $(BUILD)/ringcap.o $(BUILD)/cli.o $(BUILD)/cli_check.o $(BUILD)/libringcap.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_cli: $(BUILD)/tests/unit/test_cli.o $(BUILD)/cli.o $(BUILD)/cli_check.o $(BUILD)/libringcap.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/ringcap-read: $(BUILD)/read/ringcap-read.o $(BUILD)/libringcap.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# What the generators share (tools/frame.c), ringcap-gen's parts and the bench parts.
$(TOOL_LIB): $(TOOL_LIB_SRCS:%.c=$(BUILD)/%.o)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%: $(BUILD)/bench/%.o $(TOOL_LIB) $(BUILD)/libringcap.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lm

$(BUILD)/%: $(BUILD)/tools/%.o $(TOOL_LIB) $(BUILD)/libringcap.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lm

$(BUILD)/tests/test_tools_frame: $(BUILD)/tests/unit/test_tools_frame.o $(TOOL_LIB) \
		$(BUILD)/libringcap.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libringcap.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

deps:
	bash scripts/deps.sh

test check: deps
	$(MAKE) all
	RINGCAP_SANITIZE=$(SANITIZE) bash tests/run.sh $(BUILD)

demo: deps
	$(MAKE) all
	bash scripts/demo.sh $(BUILD)

bench: deps
	$(MAKE) all
	bash bench/ringcap-bench $(BENCH_ARGS)

# Install. The unit reads /etc/ringcap/%i.conf whatever PREFIX is; its
# ExecStart is pointed at the installed binary.
PREFIX     ?= /usr/local
DESTDIR    ?=
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/ringcap
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc

# Production hosts get the capture program, its reader, their documentation,
# the unit and the upload hook; the bench programs and test tools go only
# where someone measures (install-bench).
install: $(BUILD)/ringcap $(BUILD)/ringcap-read
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/ringcap
	install -m 0755 $(BUILD)/ringcap $(DESTDIR)$(SBINDIR)/ringcap
	install -m 0755 $(BUILD)/ringcap-read $(DESTDIR)$(BINDIR)/ringcap-read
	install -m 0644 $(wildcard doc/*.1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0755 dist/ringcap-upload $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 $(wildcard doc/*.8) $(DESTDIR)$(MANDIR)/man8/
	sed -e 's|/usr/sbin/ringcap|$(SBINDIR)/ringcap|g' \
	    -e 's|/usr/libexec/ringcap/|$(LIBEXECDIR)/|g' \
	    -e 's|/etc/ringcap/|$(SYSCONFDIR)/ringcap/|g' dist/ringcap@.service \
		>$(DESTDIR)$(UNITDIR)/ringcap@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ringcap@.service
	install -m 0644 dist/ringcap.sysusers $(DESTDIR)$(SYSUSERSDIR)/ringcap.conf
	sed -e 's|/usr/libexec/ringcap/|$(LIBEXECDIR)/|g' dist/example.conf \
		>$(DESTDIR)$(SYSCONFDIR)/ringcap/example.conf
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/ringcap/example.conf
	@echo "installed; on the target: systemd-sysusers; systemctl daemon-reload;" \
	      "cp $(SYSCONFDIR)/ringcap/example.conf $(SYSCONFDIR)/ringcap/IFACE.conf;" \
	      "systemctl enable --now ringcap@IFACE"

install-bench: $(BENCH_BINS) $(TOOL_BINS)
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(BENCH_BINS) $(TOOL_BINS) $(DESTDIR)$(LIBEXECDIR)/

clean:
	rm -rf build build-san build-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
