/**
 * IPv4 addresses in the forms the stack and the ABI use: host-order u32 inside the stack,
 * struct sockaddr_in (16 bytes: family u16 LE, port u16 BE, addr u32 BE, 8 zero bytes) at the
 * system-call boundary, dotted quads for /proc and logs.
 */
import { AF_INET } from '../uapi.js';

export const INADDR_ANY = 0;
export const INADDR_BROADCAST = 0xffffffff;
export const INADDR_LOOPBACK = 0x7f000001;
/** sizeof(struct sockaddr_in). */
export const SOCKADDR_IN_LEN = 16;

/** A sockaddr_in read from the caller: address and port in host order, or -errno. */
export interface SockaddrIn {
  family: number;
  addr: number;
  port: number;
}

/** Parse a sockaddr_in (at least 16 bytes, as inet_bind/inet_dgram_connect require; shorter is -EINVAL). */
export function parseSockaddrIn(b: Uint8Array): SockaddrIn | null {
  if (b.length < SOCKADDR_IN_LEN) return null;
  return {
    family: b[0]! | (b[1]! << 8),
    port: (b[2]! << 8) | b[3]!,
    addr: ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0,
  };
}

/** Build a sockaddr_in. */
export function makeSockaddrIn(addr: number, port: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_IN_LEN);
  b[0] = AF_INET & 0xff;
  b[1] = AF_INET >> 8;
  b[2] = (port >> 8) & 0xff;
  b[3] = port & 0xff;
  writeAddr(b, 4, addr);
  return b;
}

/** Store a host-order address big-endian at `off`. */
export function writeAddr(b: Uint8Array, off: number, addr: number): void {
  b[off] = addr >>> 24;
  b[off + 1] = (addr >>> 16) & 0xff;
  b[off + 2] = (addr >>> 8) & 0xff;
  b[off + 3] = addr & 0xff;
}

/** Read a big-endian address at `off` as a host-order u32. */
export function readAddr(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** "10.0.0.2". */
export function ipToString(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Parse a dotted quad (exactly four decimal parts 0..255), or null. */
export function parseIp(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let a = 0;
  for (let i = 1; i <= 4; i++) {
    const v = Number(m[i]);
    if (v > 255) return null;
    a = a * 256 + v;
  }
  return a;
}

/** The netmask of a prefix length (inet_make_mask). */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** The prefix length of a contiguous netmask (inet_mask_len), or -1. */
export function maskLen(mask: number): number {
  let n = 0;
  while (n < 32 && (mask >>> (31 - n)) & 1) n++;
  return prefixMask(n) === mask >>> 0 ? n : -1;
}

/** ipv4_is_multicast / ipv4_is_loopback / ipv4_is_lbcast / ipv4_is_zeronet. */
export const isMulticast = (a: number): boolean => a >>> 28 === 0xe;
export const isLoopback = (a: number): boolean => a >>> 24 === 127;
export const isLimitedBroadcast = (a: number): boolean => a >>> 0 === INADDR_BROADCAST;
export const isZeronet = (a: number): boolean => a >>> 24 === 0;
