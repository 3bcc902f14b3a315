# mailtest - one non-recursive Makefile.
#
#   make                 bin/mailtest, bin/mailtestd
#   make check           every test: unit, end-to-end, conformance; then the
#                        same under ASan+UBSan, then a valgrind pass
#   make check-fast      the normal build's tests only
#   make san             the ASan+UBSan build in build-san/
#   make install         PREFIX=/usr/local DESTDIR=
#   make bench           benchmarks against peers (bench/README.md)
#   make fuzz            libFuzzer targets (clang), FUZZ_SECONDS each
#   make fuzz-smoke      each target for FUZZ_SMOKE_SECONDS on its seed corpus
#                        (part of make check; skipped when clang/libFuzzer is absent)
#   make fuzz-coverage   line coverage of the code under test by each corpus

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
SYSCONFDIR ?= /etc
CC        ?= cc
SAN       ?=
PYTHON    ?= /usr/bin/python3

PKGS      := libevent_core libevent_extra libevent_openssl libevent_pthreads \
             openssl opendkim jansson sqlite3 libpq libsystemd libpsl libidn2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT       ?= -O2 -g
WARN      := -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
             -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
             -Wno-format-truncation
CPPFLAGS  += -D_GNU_SOURCE -DMAILTEST_VERSION='"$(VERSION)"' \
             -DSYSCONFDIR='"$(SYSCONFDIR)"'
LDLIBS    := $(PKG_LIBS) -lspf2 -lopendmarc -lresolv -lpthread -lm

ifeq ($(SAN),1)
BUILD     := build-san
BINDIR    := $(BUILD)/bin
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
else
BUILD     ?= build
BINDIR    ?= bin
endif

ALL_CFLAGS = $(WARN) $(OPT) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP

COMMON_SRC := $(wildcard common/*.c)
VERIFY_SRC := $(wildcard verify/*.c)
REPLY_SRC  := $(filter-out reply/mailtest.c,$(wildcard reply/*.c))
SMTPD_SRC  := $(filter-out smtpd/mailtestd.c,$(wildcard smtpd/*.c))
LIB_SRC    := $(COMMON_SRC) $(VERIFY_SRC) $(REPLY_SRC) $(SMTPD_SRC)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB        := $(BUILD)/libmailtest.a

UNIT_SRC   := $(wildcard tests/unit/*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

PROGS      := $(BINDIR)/mailtest
ifneq ($(wildcard smtpd/mailtestd.c),)
PROGS      += $(BINDIR)/mailtestd
endif

.PHONY: all san check check-fast check-unit check-e2e check-san check-valgrind \
        install uninstall clean bench bench-smoke bench-deps fuzz fuzz-build \
        fuzz-smoke fuzz-coverage unit
all: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BINDIR)/mailtest: $(BUILD)/obj/reply/mailtest.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BINDIR)/mailtestd: $(BUILD)/obj/smtpd/mailtestd.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BIN)

san:
	$(MAKE) -j$(NPROC) SAN=1 all unit

# ---- tests ---------------------------------------------------------------
# tests/check.sh runs one build's suites; MAILTEST_BUILD tells it which.
check-fast: all unit
	MAILTEST_BINDIR=$(BINDIR) MAILTEST_TESTBIN=$(BUILD)/tests tests/check.sh all

check-unit: all unit
	MAILTEST_BINDIR=$(BINDIR) MAILTEST_TESTBIN=$(BUILD)/tests tests/check.sh unit

check-e2e: all unit
	MAILTEST_BINDIR=$(BINDIR) MAILTEST_TESTBIN=$(BUILD)/tests tests/check.sh pytest

check-san:
	$(MAKE) SAN=1 all unit
	MAILTEST_BINDIR=build-san/bin MAILTEST_TESTBIN=build-san/tests MAILTEST_SAN=1 \
	    tests/check.sh all

check-valgrind: all unit
	MAILTEST_BINDIR=$(BINDIR) MAILTEST_TESTBIN=$(BUILD)/tests tests/check.sh valgrind

check: check-fast bench-smoke fuzz-smoke check-san check-valgrind
	@echo "make check: all suites passed (normal, benchmark smoke, fuzz smoke, ASan+UBSan, valgrind)"

# ---- benchmarks (bench/README.md) -------------------------------------------
# make bench        the full run: one table, also bench/out/latest.md (3-6 min
#                   on 2 cores).  Environment: BENCH_CPU (the CPU of the
#                   verification processes, default the last), BENCH_AUX_CPU
#                   (the DNS server's, default 0), BENCH_CONDITIONS (free
#                   text for the machine description: what else ran)
# make bench-smoke  each benchmark once on a tiny input (seconds); part of
#                   make check.  Peers that are not installed (npm's mailauth:
#                   make bench-deps; postfix) are reported as skipped.
# make bench-deps   npm ci in bench/ (mailauth 4.x, pinned by package-lock.json)
bench-deps:
	cd bench && npm ci --no-audit --no-fund

bench: all
	@[ -f bench/node_modules/mailauth/package.json ] || $(MAKE) bench-deps || \
	    echo "bench: npm ci failed: the mailauth figures will be n/a"
	bench/run.sh

bench-smoke: all
	$(PYTHON) -m pytest -q -p no:cacheprovider bench/test_bench.py
	bench/run.sh --smoke

# ---- fuzzing (tests/fuzz/README.md) ------------------------------------------
# One libFuzzer binary per tests/fuzz/fuzz_NAME.c, built by clang with
# ASan+UBSan into build-fuzz/ (apart from build/ and build-san/).  -Werror is
# left out here: the gcc build is the warning gate, and a clang-only warning
# must not stop a fuzzing run.
FUZZ_CC     ?= clang
FUZZ_BUILD  := build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_JOBS   ?= 1
# make check runs its suites one after the other; the builds inside it use
# every core
NPROC       := $(shell nproc 2>/dev/null || echo 2)
FUZZ_TARGETS ?=
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := $(filter-out -Werror,$(WARN)) -Wno-unknown-warning-option \
               -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
               $(CPPFLAGS) $(PKG_CFLAGS) -MMD -MP
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN    := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/fuzz/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB    := $(FUZZ_BUILD)/libmailtest.a
FUZZ_ENV     = FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_TARGETS="$(FUZZ_TARGETS)"

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz/%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

# Line coverage of the code under test by each target's corpus (llvm-cov):
# the same targets built without sanitizers, with clang's source coverage.
FUZZ_COV_CFLAGS := $(filter-out $(FUZZ_SAN),$(FUZZ_CFLAGS)) \
                   -fprofile-instr-generate -fcoverage-mapping
FUZZ_COV_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/cov/%)

$(FUZZ_BUILD)/cov/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/cov/libmailtest.a: $(LIB_SRC:%.c=$(FUZZ_BUILD)/cov/obj/%.o)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/cov/%: $(FUZZ_BUILD)/cov/obj/tests/fuzz/%.o $(FUZZ_BUILD)/cov/libmailtest.a
	$(FUZZ_CC) -fsanitize=fuzzer -fprofile-instr-generate -o $@ $^ $(LDLIBS)

fuzz-coverage:
	$(MAKE) --no-print-directory $(FUZZ_COV_BIN)
	$(FUZZ_ENV) tests/fuzz/run.sh coverage

fuzz:
	@tests/fuzz/run.sh probe "$(FUZZ_CC)" || { echo "make fuzz: $(FUZZ_CC) with" \
	    "libFuzzer is needed (Debian: apt-get install clang-14 libclang-rt-14-dev)"; exit 1; }
	$(MAKE) --no-print-directory fuzz-build
	$(FUZZ_ENV) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh long

fuzz-smoke:
	@if tests/fuzz/run.sh probe "$(FUZZ_CC)"; then \
	    $(MAKE) -j$(NPROC) --no-print-directory fuzz-build && \
	    $(FUZZ_ENV) FUZZ_JOBS=$(NPROC) FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) \
	    tests/fuzz/run.sh smoke; \
	else \
	    echo "fuzz-smoke: SKIPPED: $(FUZZ_CC) with libFuzzer (-fsanitize=fuzzer)" \
	        "not found; install clang-14 and libclang-rt-14-dev to run the fuzz targets"; \
	fi

# ---- install ---------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]
#   PREFIX/bin/mailtest, PREFIX/sbin/mailtestd, the man pages, the systemd
#   unit (PREFIX/lib/systemd/system) and its user (PREFIX/lib/sysusers.d),
#   SYSCONFDIR/mailtest/mailtest.conf.example, a starter mailtest.conf when
#   there is none, and the guides in PREFIX/share/doc/mailtest.
# make uninstall removes the same (mailtest.conf only while unchanged).
MAN_PAGES := $(wildcard deploy/man/*.[0-9])
DOC_FILES := README.md deploy/DNS.md
UNITDIR   ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DOCDIR    ?= $(PREFIX)/share/doc/mailtest
MANDIR    ?= $(PREFIX)/share/man
CONFDIR   := $(SYSCONFDIR)/mailtest

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin
	install -m 755 $(BINDIR)/mailtest $(DESTDIR)$(PREFIX)/bin/mailtest
	if [ -f $(BINDIR)/mailtestd ]; then \
	    install -m 755 $(BINDIR)/mailtestd $(DESTDIR)$(PREFIX)/sbin/mailtestd; fi
	for m in $(MAN_PAGES); do \
	    s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    deploy/mailtestd.service > $(DESTDIR)$(UNITDIR)/mailtestd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/mailtestd.service
	install -m 644 deploy/mailtest.sysusers $(DESTDIR)$(SYSUSERSDIR)/mailtest.conf
	install -d $(DESTDIR)$(CONFDIR)
	install -m 644 deploy/mailtest.conf.example $(DESTDIR)$(CONFDIR)/mailtest.conf.example
	[ -e $(DESTDIR)$(CONFDIR)/mailtest.conf ] || \
	    install -m 644 deploy/mailtest.conf $(DESTDIR)$(CONFDIR)/mailtest.conf
	install -d $(DESTDIR)$(DOCDIR)
	install -m 644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	@[ -n "$(DESTDIR)" ] || echo "make install: now run systemd-sysusers and" \
	    "systemctl daemon-reload, edit $(CONFDIR)/mailtest.conf, then" \
	    "systemctl enable --now mailtestd"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mailtest $(DESTDIR)$(PREFIX)/sbin/mailtestd
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	    rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	rm -f $(DESTDIR)$(UNITDIR)/mailtestd.service $(DESTDIR)$(SYSUSERSDIR)/mailtest.conf
	rm -f $(DESTDIR)$(CONFDIR)/mailtest.conf.example
	if cmp -s deploy/mailtest.conf $(DESTDIR)$(CONFDIR)/mailtest.conf; then \
	    rm -f $(DESTDIR)$(CONFDIR)/mailtest.conf; fi
	-rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null
	for f in $(DOC_FILES); do rm -f $(DESTDIR)$(DOCDIR)/$${f##*/}; done
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san build-fuzz bin

-include $(LIB_OBJ:.o=.d) $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/tests/unit/*.d)
-include $(wildcard $(FUZZ_BUILD)/obj/*/*.d $(FUZZ_BUILD)/obj/tests/fuzz/*.d)
-include $(wildcard $(FUZZ_BUILD)/cov/obj/*/*.d $(FUZZ_BUILD)/cov/obj/tests/fuzz/*.d)
