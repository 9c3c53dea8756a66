#!/usr/bin/env bash
# Builds the images of deploy/kubernetes from this checkout, locally and
# without a registry: both are FROM scratch, so nothing is pulled, and the
# builds run with --network none.
#
#   ${PREFIX}injector:${TAG}  the static pebble binary alone
#   ${PREFIX}workload:${TAG}  busybox, pebble and the example layer
#
# Environment: ENGINE (podman or docker; default podman), PREFIX (default
# localhost/pebble-), TAG (default latest), GO (default go), BUSYBOX (a
# statically linked busybox; default /bin/busybox, from Debian's
# busybox-static). Run from anywhere; `make image` runs it.
set -euo pipefail

ENGINE=${ENGINE:-podman}
PREFIX=${PREFIX:-localhost/pebble-}
TAG=${TAG:-latest}
GO=${GO:-go}
BUSYBOX=${BUSYBOX:-/bin/busybox}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ctx=$(mktemp -d "${TMPDIR:-/tmp}/pebble-image-XXXXXX")
trap 'rm -rf "$ctx"' EXIT

if ! command -v "$ENGINE" >/dev/null 2>&1; then
	echo "build-images: cannot find container engine \"$ENGINE\" (install podman, or set ENGINE=docker)" >&2
	exit 1
fi
if [ ! -x "$BUSYBOX" ]; then
	echo "build-images: cannot find busybox at $BUSYBOX (install busybox-static, or set BUSYBOX)" >&2
	exit 1
fi

# A static binary runs in a FROM scratch image and in any workload image.
(cd "$repo" && CGO_ENABLED=0 "$GO" build -trimpath -o "$ctx/pebble" ./cmd/pebble)
cp -R "$here/rootfs" "$ctx/rootfs"
# root's home (exec runs commands there) and /tmp, which git cannot hold.
mkdir -p -m 0700 "$ctx/rootfs/root"
mkdir -p -m 1777 "$ctx/rootfs/tmp"
# busybox with one link per applet, made here rather than by a RUN step so
# that the build runs no container.
mkdir -p "$ctx/rootfs/bin"
cp "$BUSYBOX" "$ctx/rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	[ -e "$ctx/rootfs/bin/$applet" ] || ln -s busybox "$ctx/rootfs/bin/$applet"
done

"$ENGINE" build --network none -q -f "$here/Containerfile.injector" -t "${PREFIX}injector:$TAG" "$ctx"
"$ENGINE" build --network none -q -f "$here/Containerfile.workload" -t "${PREFIX}workload:$TAG" "$ctx"
echo "build-images: built ${PREFIX}injector:$TAG and ${PREFIX}workload:$TAG"
