# vasgw — the VAS gateway. One non-recursive Makefile (see README.md).
#
#   make            build bin/ (vasgw, vasctl, tools)
#   make run        install missing packages, build, start the dev stack, load the demo
#   make stop       stop the dev stack
#   make test       unit tests, the test stack, integration tests, a short fuzz run
#   make asan       unit tests under AddressSanitizer + UBSan
#   make valgrind   unit tests under valgrind (leaks are errors)
#   make lint       clang-format check, banned functions, clang-tidy
#   make fuzz       libFuzzer harnesses for a bounded time (FUZZ_SECONDS)
#   make bench      wrk against the bench stack, ratios to the FastCGI floor
#   make install    FHS install (PREFIX=/usr/local, DESTDIR= for staging; see README)
#   make bench-finance  export and reconcile a 1,000,000-CDR day (seconds, RSS)

CC       ?= cc
BUILD    ?= build
PKGS     := libmariadb hiredis libcjson libcurl openssl inih libxxhash
OPT      ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wmissing-prototypes \
            -Wstrict-prototypes -Wshadow -Wpointer-arith -Wvla \
            -Wno-missing-field-initializers
CPPFLAGS += -D_GNU_SOURCE -Igateway -Ibilling -Icatalog -Inotify -Ilobby -Istore -Ifinance -Iservices \
            $(shell pkg-config --cflags $(PKGS))
CFLAGS   += $(OPT) $(WARN) -pthread -fno-strict-aliasing
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lfcgi -lcsv -lpthread -lm

LIB_SRC  := $(wildcard gateway/*.c billing/*.c catalog/*.c notify/*.c lobby/*.c store/*.c finance/*.c services/*.c)
CTL_SRC  := $(wildcard ctl/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CPPFLAGS += -I$(BUILD)
CTL_OBJ  := $(CTL_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIBVAS   := $(BUILD)/libvas.a

BINS     := bin/vasgw bin/vasctl bin/vas-floor bin/vas-ringgen

.PHONY: all run stop test unit asan valgrind lint fuzz bench bench-finance clean deps install
all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The commit shown by vasgw_build_info; the header is rewritten only when the commit changes,
# so a rebuild without a new commit leaves the binaries alone (make run would upgrade).
$(BUILD)/gw_build.h: FORCE
	@mkdir -p $(BUILD)
	@v="#define GW_BUILD_COMMIT \"$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)\""; \
	    [ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" >$@
$(BUILD)/gateway/gw_metrics.o: $(BUILD)/gw_build.h
FORCE:

$(LIBVAS): $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

bin/vasgw: $(BUILD)/cmd/vasgw_main.o $(LIBVAS)
	@mkdir -p bin
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bin/vasctl: $(CTL_OBJ) $(LIBVAS)
	@mkdir -p bin
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The FastCGI floor: a do-nothing libfcgi responder (and a minimal durable
# transaction) behind the same nginx, for make bench.
bin/vas-floor: $(BUILD)/tools/vas_floor.o
	@mkdir -p bin
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lfcgi -lmariadb -lhiredis -lpthread

# Demo content generator: standard MIDI files, WAV, AMR-NB.
bin/vas-ringgen: $(BUILD)/tools/vas_ringgen.o
	@mkdir -p bin
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lopencore-amrnb -lm

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBVAS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/stack.sh start dev
	@scripts/demo.sh dev

stop:
	@scripts/stack.sh stop dev

unit: $(UNIT_BIN)
	@scripts/unit.sh $(UNIT_BIN)

test: deps
	@scripts/test.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
	    OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" build-asan/unit-stamp

build-asan/unit-stamp: $(UNIT_BIN)
	ASAN_OPTIONS=detect_leaks=1 scripts/unit.sh $(UNIT_BIN)

valgrind: $(UNIT_BIN)
	@VALGRIND=1 scripts/unit.sh $(UNIT_BIN)

lint:
	@scripts/lint.sh

fuzz:
	@scripts/fuzz.sh $${FUZZ_SECONDS:-60}

bench: deps all
	@scripts/bench.sh

# Finance batch jobs at carrier scale: a 1,000,000-CDR day exported and reconciled.
bench-finance: deps all
	@scripts/bench_finance.sh

clean:
	rm -rf build build-asan build-fuzz bin

# --- make install PREFIX=... DESTDIR=... (README: "Production deployment") -------------------
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
SBINDIR       ?= $(PREFIX)/sbin
DATADIR       ?= $(PREFIX)/share/vasgw
DOCDIR        ?= $(PREFIX)/share/doc/vasgw
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR   ?= $(PREFIX)/lib/sysusers.d
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
RUNSTATEDIR   ?= /run
INSTALL       ?= install
# The installed configuration: the FHS defaults of etc/vasgw.ini, plus log files, a socket
# nginx's group can use, and this prefix's migrations.
INI_SED := -e 's|^log_file = -$$|log_file = $(LOCALSTATEDIR)/log/vasgw/vasgw.log|' \
           -e 's|^slowlog_file =$$|slowlog_file = $(LOCALSTATEDIR)/log/vasgw/slow.log|' \
           -e 's|^socket_mode = 0600$$|socket_mode = 0660|' \
           -e 's|^socket = /run/vasgw/|socket = $(RUNSTATEDIR)/vasgw/|' \
           -e 's|^pid_file = /run/vasgw/|pid_file = $(RUNSTATEDIR)/vasgw/|' \
           -e 's|/etc/vasgw/|$(SYSCONFDIR)/vasgw/|' \
           -e 's|^content_dir = /var/lib/vasgw/|content_dir = $(LOCALSTATEDIR)/lib/vasgw/|' \
           -e 's|^migrations_dir = .*|migrations_dir = $(DATADIR)/migrations|'
SUBST   := sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
           -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
           -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
           -e 's|@SOCKET@|$(RUNSTATEDIR)/vasgw/vasgw.sock|g' \
           -e 's|@CONTENT_DIR@|$(LOCALSTATEDIR)/lib/vasgw/content|g'

install: bin/vasgw bin/vasctl
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/migrations \
	    $(DESTDIR)$(DATADIR)/nginx $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	$(INSTALL) -m 0755 bin/vasgw $(DESTDIR)$(SBINDIR)/vasgw
	$(INSTALL) -m 0755 bin/vasctl $(DESTDIR)$(BINDIR)/vasctl
	$(INSTALL) -m 0644 migrations/*.sql $(DESTDIR)$(DATADIR)/migrations/
	$(SUBST) etc/nginx/vasgw-upstream.conf.in >$(DESTDIR)$(DATADIR)/nginx/vasgw-upstream.conf
	$(SUBST) etc/nginx/vasgw-locations.conf.in >$(DESTDIR)$(DATADIR)/nginx/vasgw-locations.conf
	@# The storefront and console: static files that nginx serves (vasgw-locations.conf).
	$(INSTALL) -d $(DESTDIR)$(DATADIR)/web/lib $(DESTDIR)$(DATADIR)/web/store $(DESTDIR)$(DATADIR)/web/console
	$(INSTALL) -m 0644 web/lib/*.* $(DESTDIR)$(DATADIR)/web/lib/
	$(INSTALL) -m 0644 web/store/*.* $(DESTDIR)$(DATADIR)/web/store/
	$(INSTALL) -m 0644 web/console/*.* $(DESTDIR)$(DATADIR)/web/console/
	$(SUBST) etc/systemd/vasgw.service.in >$(DESTDIR)$(UNITDIR)/vasgw.service
	$(INSTALL) -m 0644 etc/systemd/vasgw.sysusers $(DESTDIR)$(SYSUSERSDIR)/vasgw.conf
	$(INSTALL) -m 0644 etc/logrotate.d/vasgw $(DESTDIR)$(SYSCONFDIR)/logrotate.d/vasgw
	bin/vasctl completion bash >$(DESTDIR)$(COMPLETIONDIR)/vasctl
	$(INSTALL) -m 0644 README.md docs/grafana-dashboard.json $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/vasgw $(DESTDIR)$(SYSCONFDIR)/vasgw/secrets \
	    $(DESTDIR)$(LOCALSTATEDIR)/lib/vasgw $(DESTDIR)$(LOCALSTATEDIR)/lib/vasgw/content \
	    $(DESTDIR)$(LOCALSTATEDIR)/log/vasgw
	@# An existing configuration is the operator's: never overwritten.
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/vasgw/vasgw.ini ]; then \
	    sed $(INI_SED) etc/vasgw.ini >$(DESTDIR)$(SYSCONFDIR)/vasgw/vasgw.ini.dist; \
	    echo "kept $(DESTDIR)$(SYSCONFDIR)/vasgw/vasgw.ini (new defaults: vasgw.ini.dist)"; \
	else \
	    sed $(INI_SED) etc/vasgw.ini >$(DESTDIR)$(SYSCONFDIR)/vasgw/vasgw.ini; \
	    chmod 0640 $(DESTDIR)$(SYSCONFDIR)/vasgw/vasgw.ini; \
	fi

-include $(LIB_OBJ:.o=.d) $(CTL_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/%.d)
