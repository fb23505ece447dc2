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

CC       ?= cc
BUILD    ?= build
PKGS     := libmariadb hiredis libcjson libcurl openssl inih
OPT      ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wmissing-prototypes \
            -Wstrict-prototypes -Wshadow -Wpointer-arith -Wvla \
            -Wno-missing-field-initializers
CPPFLAGS += -D_GNU_SOURCE -Igateway -Ibilling -Icatalog -Istore -Ifinance -Iservices \
            $(shell pkg-config --cflags $(PKGS))
CFLAGS   += $(OPT) $(WARN) -pthread -fno-strict-aliasing
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lfcgi -lcsv -lpthread -lm

LIB_SRC  := $(wildcard gateway/*.c billing/*.c catalog/*.c store/*.c finance/*.c services/*.c)
CTL_SRC  := $(wildcard ctl/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CPPFLAGS += -I$(BUILD)
CTL_OBJ  := $(CTL_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIBVAS   := $(BUILD)/libvas.a

BINS     := bin/vasgw bin/vasctl bin/vas-floor bin/vas-ringgen

.PHONY: all run stop test unit asan valgrind lint fuzz bench clean deps
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
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lfcgi -lmariadb -lpthread

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

clean:
	rm -rf build build-asan build-fuzz bin

-include $(LIB_OBJ:.o=.d) $(CTL_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/%.d)
