import { netSyscalls } from '../../../../src/kernel/net/syscalls.js';
import { NetNs } from '../../../../src/kernel/net/netns.js';
import { fibNetInit } from '../../../../src/kernel/net/ipv4/fib.js';
import { arpNetInit } from '../../../../src/kernel/net/ipv4/arp.js';
import { loopbackNetInit } from '../../../../src/kernel/net/core/loopback.js';
import { inetAddAddr } from '../../../../src/kernel/net/ipv4/devinet.js';
import { UBUF } from '../../fs/helpers.js';
import { makeIpcEnv, type IpcEnv } from '../../ipc/helpers.js';

export const BUF = UBUF + 0x1000;
export const ADDR = UBUF + 0x800;
export const LEN = UBUF + 0x900;
export const OPT = UBUF + 0x980;

export interface NetTestEnv extends IpcEnv {
  ns: NetNs;
  call(nr: number, ...args: number[]): number;
  callAsync(nr: number, ...args: number[]): number | Promise<number>;
}

/** A namespace as createNetNs builds it: lo (ifindex 1) up with 127.0.0.1/8, fib and arp tables. */
export function makeNs(seed = 1): NetNs {
  let t = 1_000_000_000;
  let r = seed;
  const ns = new NetNs({
    nowNs: () => (t += 1000),
    realtimeNs: () => t,
    random32: () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0),
    log: () => {},
  });
  fibNetInit(ns);
  arpNetInit(ns);
  const lo = loopbackNetInit(ns);
  inetAddAddr(ns, lo, { address: 0x7f000001, prefixLen: 8 });
  return ns;
}

export function makeNetEnv(opts: { uid?: number; ns?: NetNs } = {}): NetTestEnv {
  const env = makeIpcEnv(opts.uid !== undefined ? { uid: opts.uid } : {});
  const ns = opts.ns ?? makeNs();
  (env.kernel as unknown as { net: NetNs }).net = ns;
  const callAsync = (nr: number, ...args: number[]): number | Promise<number> => {
    const h = netSyscalls[nr];
    if (!h) return env.sys(nr, ...args);
    const a = [...args, 0, 0, 0, 0, 0, 0];
    return h(env.task, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
  };
  return {
    ...env,
    ns,
    callAsync,
    call(nr, ...args) {
      const r = callAsync(nr, ...args);
      if (typeof r !== 'number') throw new Error('unexpected Promise');
      return r;
    },
  };
}

/** A netlink request: header + body bytes + attributes. */
export function nlmsg(
  type: number,
  flags: number,
  seq: number,
  body: Uint8Array,
  attrs: [number, Uint8Array][] = [],
): Uint8Array {
  const al = (n: number) => (n + 3) & ~3;
  let len = 16 + al(body.length);
  for (const [, v] of attrs) len += al(4 + v.length);
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq, true);
  b.set(body, 16);
  let at = 16 + al(body.length);
  for (const [t, v] of attrs) {
    dv.setUint16(at, 4 + v.length, true);
    dv.setUint16(at + 2, t, true);
    b.set(v, at + 4);
    at += al(4 + v.length);
  }
  return b;
}

export interface ParsedMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  body: Uint8Array;
}

/** Split a received batch into messages. */
export function parseBatch(b: Uint8Array): ParsedMsg[] {
  const out: ParsedMsg[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 0;
  while (off + 16 <= b.length) {
    const len = dv.getUint32(off, true);
    if (len < 16 || off + len > b.length) break;
    out.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
      body: b.slice(off + 16, off + len),
    });
    off += (len + 3) & ~3;
  }
  return out;
}

/** Attributes of a body after a fixed header of `hdr` bytes. */
export function attrsOf(body: Uint8Array, hdr: number): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = hdr;
  while (at + 4 <= body.length) {
    const len = dv.getUint16(at, true);
    if (len < 4) break;
    m.set(dv.getUint16(at + 2, true) & 0x3fff, body.slice(at + 4, at + len));
    at += (len + 3) & ~3;
  }
  return m;
}

export const u32le = (b: Uint8Array | undefined): number =>
  b ? new DataView(b.buffer, b.byteOffset).getUint32(0, true) : -1;
export const cstr = (b: Uint8Array | undefined): string =>
  b ? new TextDecoder().decode(b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0))) : '';
export const ip4 = (b: Uint8Array | undefined): string => (b ? Array.from(b.subarray(0, 4)).join('.') : '');
