#!/usr/bin/env bash
# Installs the system packages the test suites use, idempotently: a package
# already present is left alone, and nothing is installed unless we run as
# root with apt-get available (elsewhere the tests that need a package skip
# with a message saying which). Add a package by adding a line to PACKAGES:
# each line is "<package> <command that shows it is installed>", or
# "<package> -" where only dpkg can tell (busybox-static and the dynamic
# busybox both install /bin/busybox; the pod test needs the static one).
set -euo pipefail

PACKAGES=(
	"prometheus prometheus"
	"prometheus promtool"
	"rsyslog rsyslogd"
	"podman podman"
	"runc runc"
	"catatonit catatonit"
	"busybox-static -"
)

missing=()
for entry in "${PACKAGES[@]}"; do
	read -r pkg probe <<<"$entry"
	if [ "$probe" = "-" ]; then
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
			missing+=("$pkg")
		fi
	elif ! command -v "$probe" >/dev/null 2>&1; then
		missing+=("$pkg")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-test-deps: not installing ${missing[*]} (needs root and apt-get); tests that need them will skip" >&2
	exit 0
fi
echo "install-test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package lists may be missing or stale on a fresh machine.
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
	apt-get update >/dev/null
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
