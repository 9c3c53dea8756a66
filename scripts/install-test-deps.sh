#!/bin/sh
# Installs what the test suite needs beyond Go: rsyslogd, the real syslog
# receiver of the log forwarding tests (tests/logs_test.go runs its own
# rsyslogd on a loopback port). Idempotent: does nothing when rsyslogd is
# there. Installs only as root with apt-get; otherwise it says so, and the
# syslog test skips with a message.
set -eu

if command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-test-deps: rsyslogd is missing and this is not root: not installing it (the syslog forwarding test will be skipped)" >&2
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-test-deps: rsyslogd is missing and there is no apt-get: not installing it (the syslog forwarding test will be skipped)" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine.
apt-get install -y --no-install-recommends rsyslog >/dev/null 2>&1 ||
	{ apt-get update -qq && apt-get install -y --no-install-recommends rsyslog >/dev/null; }
echo "install-test-deps: installed rsyslog" >&2
