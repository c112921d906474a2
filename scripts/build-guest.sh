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
# (a) busybox-static:riscv64 from Debian trixie, without touching the host's apt configuration.
# ---------------------------------------------------------------------------------------------------------------

# The Debian archive URI the host already uses (deb822 *.sources first, then the one-line sources.list).
# Security and updates archives are skipped: busybox-static lives in the main archive.
host_mirror() {
  local f uri
  shopt -s nullglob
  for f in /etc/apt/sources.list.d/*.sources; do
    # Stanzas are separated by blank lines; take URIs of enabled "deb" stanzas, first non-security one.
    uri="$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (tolower(line) ~ /^types:/) { sub(/^[^:]*:[ \t]*/, "", line); types = line }
          else if (tolower(line) ~ /^uris:/) { sub(/^[^:]*:[ \t]*/, "", line); uris = line }
          else if (tolower(line) ~ /^enabled:/) { sub(/^[^:]*:[ \t]*/, "", line); enabled = tolower(line) }
        }
        if (enabled == "no" || types !~ /(^|[ \t])deb([ \t]|$)/) next
        n = split(uris, u, /[ \t]+/)
        for (j = 1; j <= n; j++) if (u[j] ~ /^https?:\/\// && u[j] !~ /security/) { print u[j]; exit }
      }' "$f")"
    if [ -n "$uri" ]; then
      echo "$uri"
      return 0
    fi
  done
  shopt -u nullglob
  local lists=()
  [ -f /etc/apt/sources.list ] && lists+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list; do [ -f "$f" ] && lists+=("$f"); done
  if [ "${#lists[@]}" -gt 0 ]; then
    uri="$(awk '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($i ~ /^https?:\/\// && $i !~ /security/) { print $i; exit }
      }' "${lists[@]}")"
    if [ -n "$uri" ]; then
      echo "$uri"
      return 0
    fi
  fi
  return 1
}

fetch_busybox() {
  local out="$GUEST/busybox"
  if [ -s "$out" ] && [ -x "$out" ]; then
    return 0
  fi
  command -v apt-get >/dev/null || die "apt-get not found: fetching busybox-static needs a Debian host"
  command -v dpkg-deb >/dev/null || die "dpkg-deb not found (Debian package dpkg)"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || die "$keyring missing: apt-get install debian-archive-keyring"

  local mirror="${LABVISOR_DEBIAN_MIRROR:-}"
  if [ -z "$mirror" ]; then
    mirror="$(host_mirror)" || die "could not read a Debian mirror URI from /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list (set LABVISOR_DEBIAN_MIRROR)"
  fi
  mirror="${mirror%/}"
  log "fetching busybox-static:riscv64 from $mirror trixie main (private apt setup in build/apt/)"

  local apt="$BUILD/apt"
  mkdir -p "$apt/etc/apt.conf.d" "$apt/etc/preferences.d" "$apt/etc/sources.list.d" "$apt/etc/trusted.gpg.d" \
    "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/download"
  : >"$apt/state/status"
  echo "deb [signed-by=$keyring] $mirror trixie main" >"$apt/etc/sources.list"
  cat >"$apt/apt.conf" <<CONF
APT::Architecture "riscv64";
APT::Architectures { "riscv64"; };
Dir::State "$apt/state";
Dir::State::status "$apt/state/status";
Dir::Cache "$apt/cache";
Dir::Etc "$apt/etc";
Dir::Etc::sourcelist "$apt/etc/sources.list";
Dir::Etc::sourceparts "$apt/etc/sources.list.d";
Dir::Etc::preferences "$apt/etc/preferences";
Dir::Etc::preferencesparts "$apt/etc/preferences.d";
Dir::Etc::trusted "$keyring";
Dir::Etc::trustedparts "$apt/etc/trusted.gpg.d";
Acquire::Languages "none";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
CONF
  # apt drops privileges to _apt for downloads, which cannot write into a root-owned checkout.
  if [ "$(id -u)" = 0 ]; then
    echo 'APT::Sandbox::User "root";' >>"$apt/apt.conf"
  fi

  APT_CONFIG="$apt/apt.conf" apt-get -q update >&2 || die "apt-get update against $mirror trixie failed"
  rm -f "$apt/download"/busybox-static_*.deb
  (cd "$apt/download" && APT_CONFIG="$apt/apt.conf" apt-get -q download busybox-static:riscv64 >&2) ||
    die "apt-get download busybox-static:riscv64 failed"
  local deb
  deb="$(ls "$apt/download"/busybox-static_*_riscv64.deb 2>/dev/null | head -n1)"
  [ -n "$deb" ] || die "no busybox-static_*_riscv64.deb was downloaded"
  rm -rf "$apt/extract"
  dpkg-deb -x "$deb" "$apt/extract"
  [ -f "$apt/extract/bin/busybox" ] || [ -f "$apt/extract/usr/bin/busybox" ] || die "$deb holds no bin/busybox"
  local bin="$apt/extract/bin/busybox"
  [ -f "$bin" ] || bin="$apt/extract/usr/bin/busybox"
  install -m 0755 "$bin" "$out.tmp"
  mv "$out.tmp" "$out"
  log "build/guest/busybox <- $(basename "$deb")"
}

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
fetch_busybox
build_programs
if [ "${#FAILED[@]}" -gt 0 ]; then
  die "these guest programs did not compile (the others were built): ${FAILED[*]}"
fi
log "ok: build/guest/busybox and $(ls "$GUEST/bin" | wc -l) programs in build/guest/bin"
