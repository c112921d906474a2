#!/usr/bin/env bash
# npm run guest — build the riscv64 guest binaries the tests and benchmarks run:
#   build/guest/busybox           Debian 13 (trixie) riscv64 busybox-static, fetched with a PRIVATE apt setup
#   build/guest/bin/<name>        every tests/guest/<name>.c, riscv64-linux-gnu-gcc -static -O2
#   build/guest/bin/hello-dynamic tests/guest/hello.c linked dynamically (run with -L /usr/riscv64-linux-gnu)
#   build/guest/bench/<name>      every bench/guest/<name>.c (benchmark workloads, not run by the tests)
# Idempotent: busybox is downloaded once; a program is recompiled only when its source (or this script) is newer.
# Environment: LABVISOR_DEBIAN_MIRROR overrides the mirror read from the host's apt sources.
# A source may carry extra compiler flags in a comment line: `// guest-cflags: -march=rv64imac -mabi=lp64`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
GUEST="$BUILD/guest"
CC="${RISCV_CC:-riscv64-linux-gnu-gcc}"
SCRIPT="$ROOT/scripts/build-guest.sh"

die() {
  echo "build-guest: error: $*" >&2
  exit 1
}
log() { echo "build-guest: $*" >&2; }

mkdir -p "$GUEST/bin" "$GUEST/bench"

# ---------------------------------------------------------------------------------------------------------------
# (a) busybox-static:riscv64 from Debian trixie: scripts/fetch-busybox.sh (a private apt setup under build/apt/,
#     the host's apt configuration untouched; idempotent).
# ---------------------------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------------------------
# (b) guest C programs
# ---------------------------------------------------------------------------------------------------------------

check_toolchain() {
  command -v "$CC" >/dev/null ||
    die "$CC not found. Install the riscv64 cross toolchain: apt-get install gcc-riscv64-linux-gnu (and qemu-user-static for the tests)"
}

# compile SRC OUT [extra flags…] — only when OUT is missing or older than SRC or this script.
compile() {
  local src="$1" out="$2"
  shift 2
  if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$SCRIPT" ]; then
    return 0
  fi
  local extra
  extra="$(sed -n 's/.*guest-cflags:[[:space:]]*\(.*\)$/\1/p' "$src" | head -n1 | sed 's#[[:space:]]*\*/[[:space:]]*$##')"
  log "cc ${src#"$ROOT"/} -> ${out#"$ROOT"/}"
  # shellcheck disable=SC2086 # $extra is a list of flags
  if "$CC" "$@" -O2 -Wall -o "$out.tmp" "$src" $extra -lm; then
    mv "$out.tmp" "$out"
  else
    rm -f "$out.tmp" "$out" # never leave a stale binary that the tests would run instead
    FAILED+=("${src#"$ROOT"/}")
  fi
}

build_programs() {
  local src name n=0
  shopt -s nullglob
  for src in "$ROOT"/tests/guest/*.c; do
    name="$(basename "$src" .c)"
    compile "$src" "$GUEST/bin/$name" -static
    n=$((n + 1))
  done
  if [ -f "$ROOT/tests/guest/hello.c" ]; then
    compile "$ROOT/tests/guest/hello.c" "$GUEST/bin/hello-dynamic"
  fi
  for src in "$ROOT"/bench/guest/*.c; do
    name="$(basename "$src" .c)"
    compile "$src" "$GUEST/bench/$name" -static
  done
  # Remove binaries whose source is gone, so the harness does not run stale programs.
  for out in "$GUEST"/bin/* "$GUEST"/bench/*; do
    name="$(basename "$out")"
    case "$out" in
      "$GUEST"/bin/hello-dynamic) ;;
      "$GUEST"/bin/*) [ -f "$ROOT/tests/guest/$name.c" ] || rm -f "$out" ;;
      *) [ -f "$ROOT/bench/guest/$name.c" ] || rm -f "$out" ;;
    esac
  done
  shopt -u nullglob
}

FAILED=()
check_toolchain
bash "$ROOT/scripts/fetch-busybox.sh" --out "$GUEST/busybox"
build_programs
if [ "${#FAILED[@]}" -gt 0 ]; then
  die "these guest programs did not compile (the others were built): ${FAILED[*]}"
fi
log "ok: build/guest/busybox and $(ls "$GUEST/bin" | wc -l) programs in build/guest/bin"
