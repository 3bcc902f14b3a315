#!/bin/sh
# bootstrap.sh - set mailtest up on a fresh Debian 12 machine.
#
#   ./bootstrap.sh run     install missing build packages, build, and start
#                          mailtestd in the foreground on its embedded default
#                          configuration (127.0.0.1:2525, check@localhost)
#   ./bootstrap.sh check   install missing build and test packages, run every
#                          test (make check: unit, end-to-end, conformance,
#                          libFuzzer smoke, ASan+UBSan, valgrind)
#   ./bootstrap.sh deps    only install what is missing (build and test)
#
# Needs root or sudo for apt-get; installs by package name only.
set -eu
cd "$(dirname "$0")"

BUILD_PKGS="build-essential pkg-config libevent-dev libssl-dev libspf2-dev
  libopendkim-dev libopendmarc-dev libjansson-dev libsqlite3-dev libpq-dev
  libsystemd-dev libpsl-dev libidn2-dev publicsuffix ca-certificates openssl"
TEST_PKGS="python3 python3-pytest python3-pytest-xdist python3-yaml python3-dnslib python3-dkim
  python3-spf python3-authheaders python3-aiosmtpd python3-nacl swaks postfix
  opendkim-tools valgrind clang libclang-rt-14-dev postgresql sqlite3 curl
  systemd chromium strace mandoc python3-prometheus-client haproxy
  python3-dnspython python3-cryptography iproute2 groff-base util-linux"

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing() {
	for p in "$@"; do
		s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$s" = installed ] || printf '%s ' "$p"
	done
}

install_pkgs() {
	need=$(missing "$@")
	[ -n "$need" ] || return 0
	echo "bootstrap: installing $need"
	# postfix (test peer only) must not ask questions or configure a mailer
	echo "postfix postfix/main_mailer_type select No configuration" |
	    as_root debconf-set-selections
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $need
}

jobs=$(nproc 2>/dev/null || echo 2)
case "${1:-}" in
run)
	install_pkgs $BUILD_PKGS
	make -j"$jobs"
	echo "bootstrap: starting bin/mailtestd -f (Ctrl-C stops it)"
	exec bin/mailtestd -f
	;;
check)
	install_pkgs $BUILD_PKGS $TEST_PKGS
	# the benchmark peer (mailauth, from npm); Debian's nodejs only if none
	command -v npm >/dev/null 2>&1 || install_pkgs nodejs npm
	make bench-deps || echo "bootstrap: npm install of mailauth failed; its benchmark rows will say n/a"
	make -j"$jobs" all unit
	exec make check
	;;
deps)
	install_pkgs $BUILD_PKGS $TEST_PKGS
	;;
*)
	echo "usage: $0 run|check|deps" >&2
	exit 2
	;;
esac
