#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those that are missing (make run,
# make test and make bench call it first). Quiet when everything is there. Works as root and,
# for a normal user, through sudo. Package postinst scripts are kept from starting system
# services: the project runs its own private stack (scripts/stack.sh), never the system's.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The one list. Why each is here:
PACKAGES=(
    build-essential       # cc, make, libc headers
    pkg-config            # the Makefile asks it for every library's flags
    clang                 # make asan, make fuzz (libFuzzer needs clang)
    libclang-rt-14-dev    # clang's runtimes: ASan/UBSan and libFuzzer (-fsanitize=fuzzer links)
    llvm                  # llvm-symbolizer: readable ASan/libFuzzer stack traces
    libfcgi-dev           # FastCGI (fcgiapp.h, FCGX_Accept_r): vasgw, vas-floor
    libmariadb-dev        # MariaDB Connector/C
    libhiredis-dev        # Redis client
    libcjson-dev          # JSON
    libinih-dev           # the INI config parser
    libcsv-dev            # CSV for CDR exports and catalog imports
    libcurl4-openssl-dev  # game allocators, provider webhooks
    libssl-dev            # HMAC-SHA256 for tokens and signed links, random bytes
    libxxhash-dev         # XXH3: the catalog replies' ETags (a fast non-cryptographic hash)
    libcmocka-dev         # unit tests
    libopencore-amrnb-dev # vas-ringgen: AMR-NB ringtones for the demo catalog
    nginx-light           # the front web server of the private stack
    mariadb-server        # mariadbd and mariadb-install-db for the private stack
    mariadb-client        # mariadb / mariadb-admin: provisioning, pings
    redis-server          # Redis for the private stack
    redis-tools           # redis-cli: pings
    wrk                   # make bench
    lame                  # MP3 previews for the demo catalog
    valgrind              # make valgrind
    clang-format          # make lint
    clang-tidy            # make lint
    cppcheck              # make lint: bug patterns (missing va_end, leaks)
    python3               # integration tests
    python3-pytest        # integration test runner
    python3-pymysql       # integration tests read MariaDB directly
    python3-redis         # integration tests read Redis directly
    curl                  # stack.sh waits for /healthz; demo and tests
    jq                    # the README's lobby walk-through on the demo stack
    chromium              # browser tests of the storefront and console (driven by playwright-core)
    fonts-wqy-microhei    # CJK glyphs, so the browser tests' screenshots show the Chinese text
    nodejs                # runs the browser tests (node --test) and npm
    prometheus            # tests: promtool check metrics on a live /metrics (no daemon is run)
)
# npm: Debian's package, unless the installed Node.js brings its own npm (NodeSource's nodejs
# provides and conflicts with Debian's npm).
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
    # "ii " = installed; anything else (absent, removed, half-configured) gets installed.
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    [[ $status == "ii " ]] || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

log "installing missing packages: ${missing[*]}"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script targets Debian 12"

# policy-rc.d exiting 101 tells invoke-rc.d "not allowed": mariadb-server, redis-server and
# nginx are installed without being started as system services. Only a file we created is
# removed afterwards.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
    if ((created_policy)); then
        as_root rm -f "$POLICY"
    fi
}
trap cleanup EXIT
if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\n# Temporary, from scripts/deps.sh: start no services.\nexit 101\n' |
        as_root tee "$POLICY" >/dev/null
    as_root chmod 755 "$POLICY"
    created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"
log "packages installed"
