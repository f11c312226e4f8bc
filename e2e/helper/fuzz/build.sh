#!/bin/sh
# Build the libFuzzer target of libvirt's virtfs proxy helper with Debian's
# clang, against the libvirt work tree (the series' src/util/virproxyserver.c,
# which also holds the helper's seccomp filter and so needs libseccomp, and
# virproxyproto.c and virproxyfd.c, the sources the helper is built from)
# and its meson build directory (for config.h).
# Usage: build.sh SRCDIR BUILDDIR [OUTPUT]
set -eu
src=${1:?libvirt source tree}
build=${2:?its meson build directory}
out=${3:-$(dirname "$0")/fuzz_server}
here=$(cd "$(dirname "$0")" && pwd)

clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_FILE_OFFSET_BITS=64 \
    -I"$build" -I"$src" -I"$build/src" -I"$src/src" -I"$src/src/util" \
    -I"$build/include" -I"$src/include" \
    $(pkg-config --cflags glib-2.0) \
    -o "$out" \
    "$here/fuzz_server.c" "$src/src/util/virproxyserver.c" "$src/src/util/virproxyproto.c" \
    "$src/src/util/virproxyfd.c" \
    $(pkg-config --libs glib-2.0 libseccomp)
echo "built $out"
