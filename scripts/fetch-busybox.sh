#!/usr/bin/env bash
# scripts/fetch-busybox.sh — fetch only Debian 13 (trixie)'s riscv64 busybox-static into build/guest/busybox,
# the binary `labvisor image build` puts into the default root image. No cross compiler needed, so a newcomer
# can build an image without running the whole `npm run guest`.
#
# The private apt setup (scripts/build-guest.sh runs this script for its busybox): its own
# sources.list, state and cache under build/apt/, APT::Architecture riscv64, and the Debian mirror the host
# already uses, so the host's apt configuration is never touched. Idempotent: an existing binary is kept.
#
# usage: scripts/fetch-busybox.sh [--force] [--out PATH]
# Environment: LABVISOR_DEBIAN_MIRROR overrides the mirror read from the host's apt sources.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
GUEST="$BUILD/guest"
OUT="$GUEST/busybox"
FORCE=0

die() {
  echo "fetch-busybox: error: $*" >&2
  exit 1
}
log() { echo "fetch-busybox: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --out)
      [ $# -ge 2 ] || die "--out needs a path"
      OUT="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$1' (usage: scripts/fetch-busybox.sh [--force] [--out PATH])" ;;
  esac
  shift
done
mkdir -p "$(dirname "$OUT")"

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
  local out="$OUT"
  if [ "$FORCE" = 0 ] && [ -s "$out" ] && [ -x "$out" ]; then
    log "$out is already there (--force fetches it again)"
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
  log "$out <- $(basename "$deb")"
}

fetch_busybox
# A quick sanity check: a 64-bit RISC-V ELF (e_machine 243 = 0xf3 at offset 18).
if [ "$(od -An -tx1 -j18 -N1 "$OUT" | tr -d ' ')" != "f3" ]; then
  die "$OUT is not a riscv64 ELF"
fi
log "ok: $OUT"
