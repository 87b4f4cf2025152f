# ringcap — plain Makefile.
#   make                      build ringcap, ringcap-read, ringcap-gen and the bench tools
#   make test                 install missing Debian packages, build with -Werror, run the suite
#   make test SANITIZE=address,undefined   the same suite under ASan/UBSan (libc malloc, build-san/)
#   make test SANITIZE=thread              the same suite under ThreadSanitizer (libc malloc, build-tsan/)
#   make deps                 install the Debian packages the project needs (root)
#   make demo                 capture a generated burst on a self-made testbed and show it
#   make install [PREFIX=/usr/local] [DESTDIR=]   ringcap, bench tools, man page, systemd unit
#
# Every bench/*.c but bench/common.c (their shared option table) is a program of its
# own; every tests/unit/*.c is a unit test binary. Both link the project's library,
# so a new file there needs no Makefile change.

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
LIBS         = -luring -lpcap -ljansson -lm
ifeq ($(MALLOC),jemalloc)
ALL_CPPFLAGS += -DRINGCAP_JEMALLOC
LIBS         += -ljemalloc
endif

LIB_SRCS   = $(wildcard ring/*.c workers/*.c responder/*.c writer/*.c merge/*.c util/*.c index/*.c) \
             $(wildcard stats/*.c jobs/*.c retention/*.c capture/*.c) \
             $(filter-out read/ringcap-read.c,$(wildcard read/*.c))
LIB_OBJS   = $(LIB_SRCS:%.c=$(BUILD)/%.o)
BENCH_SRCS = $(filter-out bench/common.c,$(wildcard bench/*.c))
BENCH_COMMON = $(BUILD)/bench/common.o
BENCH_BINS = $(BENCH_SRCS:bench/%.c=$(BUILD)/%)
UNIT_SRCS  = $(wildcard tests/unit/*.c)
UNIT_BINS  = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test check demo bench clean install
all: $(BUILD)/ringcap $(BUILD)/ringcap-read $(BENCH_BINS) $(UNIT_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libringcap.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The command line belongs to the program, not to the library.
$(BUILD)/ringcap: $(BUILD)/ringcap.o $(BUILD)/cli.o $(BUILD)/libringcap.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_cli: $(BUILD)/tests/unit/test_cli.o $(BUILD)/cli.o $(BUILD)/libringcap.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/ringcap-read: $(BUILD)/read/ringcap-read.o $(BUILD)/libringcap.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%: $(BUILD)/bench/%.o $(BENCH_COMMON) $(BUILD)/libringcap.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lm

$(BUILD)/tests/test_bench_common: $(BUILD)/tests/unit/test_bench_common.o $(BENCH_COMMON) \
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

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/ringcap
	install -m 0755 $(BUILD)/ringcap $(DESTDIR)$(SBINDIR)/ringcap
	install -m 0755 $(BUILD)/ringcap-read $(DESTDIR)$(BINDIR)/ringcap-read
	install -m 0644 $(wildcard doc/*.1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0755 $(BENCH_BINS) dist/ringcap-upload $(DESTDIR)$(LIBEXECDIR)/
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

clean:
	rm -rf build build-san build-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
