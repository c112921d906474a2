/**
 * Socket filters (net/core/filter.c): classic BPF programs attached with SO_ATTACH_FILTER
 * and run on every packet a socket would receive (sk_filter / run_filter in af_packet).
 *
 * bpfCheckClassic mirrors bpf_check_classic + check_load_and_stores: only the opcodes Linux
 * accepts, jumps that stay inside the program, no division by a constant zero, scratch
 * memory read only after it was written on every path, a RET at the end. Every jump goes
 * forward, so a checked program ends after at most `len` instructions.
 *
 * bpfRun interprets it as the classic-to-eBPF conversion behaves: A and X are u32, loads
 * outside the packet and division by X = 0 end the program with 0 (drop), negative offsets
 * reach the network (SKF_NET_OFF) and link (SKF_LL_OFF) headers, SKF_AD_* give packet
 * metadata. The result is how many bytes of the packet to keep (0 = drop).
 */
import * as E from '../../errno.js';
import type { Task } from '../../sched/task.js';
import { copyFromUser } from '../../mm/uaccess.js';
import type { Socket } from '../socket.js';
import type { SkBuff } from './skbuff.js';

// Instruction classes and fields (include/uapi/linux/bpf_common.h, filter.h).
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_A = 0x10;
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;
/** BPF_MAXINSNS and BPF_MEMWORDS. */
export const BPF_MAXINSNS = 4096;
export const BPF_MEMWORDS = 16;

// Special offsets (SKF_*), as u32.
export const SKF_AD_OFF = 0xfffff000; // -0x1000
export const SKF_NET_OFF = 0xfff00000; // -0x100000
export const SKF_LL_OFF = 0xffe00000; // -0x200000
export const SKF_AD_PROTOCOL = 0;
export const SKF_AD_PKTTYPE = 4;
export const SKF_AD_IFINDEX = 8;
export const SKF_AD_NLATTR = 12;
export const SKF_AD_NLATTR_NEST = 16;
export const SKF_AD_MARK = 20;
export const SKF_AD_QUEUE = 24;
export const SKF_AD_HATYPE = 28;
export const SKF_AD_RXHASH = 32;
export const SKF_AD_CPU = 36;
export const SKF_AD_ALU_XOR_X = 40;
export const SKF_AD_VLAN_TAG = 44;
export const SKF_AD_VLAN_TAG_PRESENT = 48;
export const SKF_AD_PAY_OFFSET = 52;
export const SKF_AD_RANDOM = 56;
export const SKF_AD_VLAN_TPID = 60;
const SKF_AD_MAX = 64;

// SOL_SOCKET option names (asm-generic/socket.h).
export const SO_ATTACH_FILTER = 26;
export const SO_DETACH_FILTER = 27;
export const SO_GET_FILTER = SO_ATTACH_FILTER;
export const SO_LOCK_FILTER = 44;
/** sizeof(struct sock_fprog) on 64-bit: u16 len, padding, u64 filter pointer. */
export const SOCK_FPROG_LEN = 16;

/** A checked program: struct sock_filter {u16 code; u8 jt; u8 jf; u32 k} as parallel arrays. */
export interface BpfProg {
  len: number;
  code: Uint16Array;
  jt: Uint8Array;
  jf: Uint8Array;
  k: Uint32Array;
}

/** Decode `len` struct sock_filter records (8 bytes each, little-endian). */
export function bpfDecode(bytes: Uint8Array, len: number): BpfProg {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p: BpfProg = {
    len,
    code: new Uint16Array(len),
    jt: new Uint8Array(len),
    jf: new Uint8Array(len),
    k: new Uint32Array(len),
  };
  for (let i = 0; i < len; i++) {
    p.code[i] = dv.getUint16(i * 8, true);
    p.jt[i] = dv.getUint8(i * 8 + 2);
    p.jf[i] = dv.getUint8(i * 8 + 3);
    p.k[i] = dv.getUint32(i * 8 + 4, true);
  }
  return p;
}

/** The opcodes bpf_check_classic allows (its codes[] table). */
const ALLOWED = new Set<number>([
  ...[BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH].flatMap((op) => [
    BPF_ALU | op | BPF_K,
    BPF_ALU | op | BPF_X,
  ]),
  BPF_ALU | BPF_NEG,
  BPF_LD | BPF_W | BPF_ABS,
  BPF_LD | BPF_H | BPF_ABS,
  BPF_LD | BPF_B | BPF_ABS,
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LD | BPF_W | BPF_IND,
  BPF_LD | BPF_H | BPF_IND,
  BPF_LD | BPF_B | BPF_IND,
  BPF_LD | BPF_IMM,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_LDX | BPF_B | BPF_MSH,
  BPF_LDX | BPF_IMM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  BPF_JMP | BPF_JA,
  ...[BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET].flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
]);

function isCondJump(code: number): boolean {
  return (code & 0x07) === BPF_JMP && (code & 0xf0) !== BPF_JA;
}

/** check_load_and_stores: no path reads M[k] before writing it. */
function checkLoadAndStores(p: BpfProg): number {
  const masks = new Uint16Array(p.len).fill(0xffff);
  let memvalid = 0;
  for (let pc = 0; pc < p.len; pc++) {
    memvalid &= masks[pc]!;
    const c = p.code[pc]!;
    const k = p.k[pc]!;
    if (c === BPF_ST || c === BPF_STX) memvalid |= 1 << k;
    else if (c === (BPF_LD | BPF_MEM) || c === (BPF_LDX | BPF_MEM)) {
      if (!(memvalid & (1 << k))) return -E.EINVAL;
    } else if (c === (BPF_JMP | BPF_JA)) {
      masks[pc + 1 + k]! &= memvalid;
      memvalid = 0xffff;
    } else if (isCondJump(c)) {
      masks[pc + 1 + p.jt[pc]!]! &= memvalid;
      masks[pc + 1 + p.jf[pc]!]! &= memvalid;
      memvalid = 0xffff;
    }
  }
  return 0;
}

/** bpf_check_classic: 0, or -EINVAL for a program Linux would refuse. */
export function bpfCheckClassic(p: BpfProg): number {
  const flen = p.len;
  if (flen === 0 || flen > BPF_MAXINSNS) return -E.EINVAL;
  for (let pc = 0; pc < flen; pc++) {
    const c = p.code[pc]!;
    const k = p.k[pc]!;
    if (!ALLOWED.has(c)) return -E.EINVAL;
    switch (c) {
      case BPF_ALU | BPF_DIV | BPF_K:
      case BPF_ALU | BPF_MOD | BPF_K:
        if (k === 0) return -E.EINVAL;
        break;
      case BPF_ALU | BPF_LSH | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_K:
        if (k >= 32) return -E.EINVAL;
        break;
      case BPF_LD | BPF_MEM:
      case BPF_LDX | BPF_MEM:
      case BPF_ST:
      case BPF_STX:
        if (k >= BPF_MEMWORDS) return -E.EINVAL;
        break;
      case BPF_JMP | BPF_JA:
        if (k >= flen - pc - 1) return -E.EINVAL;
        break;
      case BPF_LD | BPF_W | BPF_ABS:
      case BPF_LD | BPF_H | BPF_ABS:
      case BPF_LD | BPF_B | BPF_ABS:
        // An offset in the ancillary range must name a known SKF_AD_* (bpf_anc_helper).
        if (k >= SKF_AD_OFF) {
          const ad = k - SKF_AD_OFF;
          if (ad >= SKF_AD_MAX || ad % 4 !== 0) return -E.EINVAL;
        }
        break;
      default:
        if (isCondJump(c) && (pc + p.jt[pc]! + 1 >= flen || pc + p.jf[pc]! + 1 >= flen)) return -E.EINVAL;
    }
  }
  const last = p.code[flen - 1]!;
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | BPF_A)) return -E.EINVAL;
  return checkLoadAndStores(p);
}

/** What a program may ask about the packet besides its bytes (the SKF_AD_* loads). */
export interface BpfMeta {
  /** skb->protocol (host-order EtherType). */
  protocol: number;
  pktType: number;
  ifindex: number;
  /** dev->type (ARPHRD_*). */
  hatype: number;
  random32(): number;
}

/**
 * The bytes a load may reach: [data, tail) for non-negative offsets; the whole buffer up to
 * tail from the network or link header for SKF_NET_OFF / SKF_LL_OFF ones.
 */
function loadPtr(skb: SkBuff, k: number, size: number): number {
  // k is the signed 32-bit offset.
  if (k >= 0) {
    if (k + size > skb.len) return -1;
    return skb.data + k;
  }
  let base: number;
  let off: number;
  const uk = k >>> 0;
  if (uk >= SKF_NET_OFF) {
    base = skb.networkHeader;
    off = uk - SKF_NET_OFF;
  } else if (uk >= SKF_LL_OFF) {
    base = skb.macHeader;
    off = uk - SKF_LL_OFF;
  } else return -1;
  if (base < 0) return -1;
  const at = base + off;
  if (at < 0 || at + size > skb.tail) return -1;
  return at;
}

function loadAbs(skb: SkBuff, k: number, size: number): number | null {
  const at = loadPtr(skb, k | 0, size);
  if (at < 0) return null;
  const b = skb.buf;
  if (size === 4) return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  if (size === 2) return (b[at]! << 8) | b[at + 1]!;
  return b[at]!;
}

/**
 * nla_find over the packet (a netlink message batch): the offset from data of the first
 * attribute of type `type` in the `len` bytes at offset `off`, 0 when none (bpf_skb_get_nlattr).
 */
function nlaFind(skb: SkBuff, off: number, len: number, type: number): number {
  if (skb.len < 4 || off < 0 || off > skb.len - 4) return 0;
  const b = skb.buf;
  let at = off;
  const end = Math.min(off + len, skb.len);
  while (at + 4 <= end) {
    const p = skb.data + at;
    const l = b[p]! | (b[p + 1]! << 8);
    const t = (b[p + 2]! | (b[p + 3]! << 8)) & 0x3fff;
    if (l < 4 || at + l > end) return 0;
    if (t === type) return at;
    at += (l + 3) & ~3;
  }
  return 0;
}

/** The SKF_AD_* value (bpf_convert_filter's convert_bpf_extensions). */
function ancillary(ad: number, skb: SkBuff, meta: BpfMeta, a: number, x: number): number {
  switch (ad) {
    case SKF_AD_PROTOCOL:
      return meta.protocol & 0xffff;
    case SKF_AD_PKTTYPE:
      return meta.pktType;
    case SKF_AD_IFINDEX:
      return meta.ifindex >>> 0;
    case SKF_AD_HATYPE:
      return meta.hatype;
    case SKF_AD_RANDOM:
      return meta.random32() >>> 0;
    case SKF_AD_ALU_XOR_X:
      return (a ^ x) >>> 0;
    case SKF_AD_NLATTR:
      return nlaFind(skb, a, skb.len - a, x);
    case SKF_AD_NLATTR_NEST: {
      // The attribute at offset A; search its payload.
      if (skb.len < 4 || a > skb.len - 4) return 0;
      const at = skb.data + a;
      const len = skb.buf[at]! | (skb.buf[at + 1]! << 8);
      if (len > skb.len - a) return 0;
      return nlaFind(skb, a + 4, len - 4, x);
    }
    case SKF_AD_PAY_OFFSET:
      // skb_get_poff without a flow dissection: the transport header when known, else the network one.
      return (skb.transportHeader >= 0 ? skb.transportHeader : Math.max(skb.networkHeader, skb.data)) - skb.data;
    default:
      // No marks, queues, receive hashes or VLAN offload on these packets: their value is 0.
      return 0;
  }
}

/**
 * Run a checked program over `skb` (data where the socket sees the packet start). Returns
 * the u32 RET value: bytes to keep, 0 to drop.
 */
export function bpfRun(p: BpfProg, skb: SkBuff, meta: BpfMeta): number {
  let A = 0;
  let X = 0;
  const M = new Uint32Array(BPF_MEMWORDS);
  for (let pc = 0; pc < p.len; pc++) {
    const c = p.code[pc]!;
    const k = p.k[pc]!;
    switch (c & 0x07) {
      case BPF_LD: {
        const mode = c & 0xe0;
        const size = (c & 0x18) === BPF_W ? 4 : (c & 0x18) === BPF_H ? 2 : 1;
        if (mode === BPF_IMM) A = k;
        else if (mode === BPF_MEM) A = M[k]!;
        else if (mode === BPF_LEN) A = skb.len >>> 0;
        else if (mode === BPF_ABS && k >= SKF_AD_OFF) A = ancillary(k - SKF_AD_OFF, skb, meta, A, X);
        else {
          const off = mode === BPF_IND ? (X + k) | 0 : k | 0;
          const v = loadAbs(skb, off, size);
          if (v === null) return 0;
          A = v;
        }
        break;
      }
      case BPF_LDX: {
        const mode = c & 0xe0;
        if (mode === BPF_IMM) X = k;
        else if (mode === BPF_MEM) X = M[k]!;
        else if (mode === BPF_LEN) X = skb.len >>> 0;
        else {
          // BPF_MSH: X = 4 * (P[k] & 0xf), the IPv4 header length.
          const v = loadAbs(skb, k | 0, 1);
          if (v === null) return 0;
          X = (v & 0xf) << 2;
        }
        break;
      }
      case BPF_ST:
        M[k] = A;
        break;
      case BPF_STX:
        M[k] = X;
        break;
      case BPF_ALU: {
        const op = c & 0xf0;
        const src = c & BPF_X ? X : k;
        switch (op) {
          case BPF_ADD:
            A = (A + src) >>> 0;
            break;
          case BPF_SUB:
            A = (A - src) >>> 0;
            break;
          case BPF_MUL:
            A = Math.imul(A, src) >>> 0;
            break;
          case BPF_DIV:
            if (src === 0) return 0;
            A = Math.floor(A / src) >>> 0;
            break;
          case BPF_MOD:
            if (src === 0) return 0;
            A = (A % src) >>> 0;
            break;
          case BPF_OR:
            A = (A | src) >>> 0;
            break;
          case BPF_AND:
            A = (A & src) >>> 0;
            break;
          case BPF_XOR:
            A = (A ^ src) >>> 0;
            break;
          case BPF_LSH:
            A = (A << (src & 31)) >>> 0;
            break;
          case BPF_RSH:
            A = A >>> (src & 31);
            break;
          case BPF_NEG:
            A = -A >>> 0;
            break;
        }
        break;
      }
      case BPF_JMP: {
        const op = c & 0xf0;
        if (op === BPF_JA) {
          pc += k;
          break;
        }
        const src = c & BPF_X ? X : k;
        let t: boolean;
        if (op === BPF_JEQ) t = A === src;
        else if (op === BPF_JGT) t = A > src;
        else if (op === BPF_JGE) t = A >= src;
        else t = (A & src) !== 0;
        pc += t ? p.jt[pc]! : p.jf[pc]!;
        break;
      }
      case BPF_RET:
        return (c & 0x18) === BPF_A ? A : k;
      case BPF_MISC:
        if ((c & 0xf8) === BPF_TXA) A = X;
        else X = A;
        break;
    }
  }
  // A checked program always ends in RET; an unchecked one that falls off the end drops.
  return 0;
}

// ---------------------------------------------------------------------------------------
// Attaching to sockets (sk_attach_filter, sk_detach_filter, SO_LOCK_FILTER).

/** sk->sk_filter and the SOCK_FILTER_LOCKED flag, for any socket. */
interface SkFilterState {
  prog: BpfProg | null;
  locked: boolean;
}
const skFilters = new WeakMap<Socket, SkFilterState>();

function stateOf(sock: Socket): SkFilterState {
  let s = skFilters.get(sock);
  if (!s) {
    s = { prog: null, locked: false };
    skFilters.set(sock, s);
  }
  return s;
}

/** The program attached to `sock`, or null. */
export function skFilterOf(sock: Socket): BpfProg | null {
  return skFilters.get(sock)?.prog ?? null;
}

/**
 * sk_attach_filter (setsockopt SO_ATTACH_FILTER): `val` is the struct sock_fprog; the
 * instructions are copied from the task's memory and checked. Replaces an attached program.
 */
export function skAttachFilter(sock: Socket, task: Task, val: Uint8Array): number {
  if (val.length < SOCK_FPROG_LEN) return -E.EINVAL;
  const dv = new DataView(val.buffer, val.byteOffset, SOCK_FPROG_LEN);
  const len = dv.getUint16(0, true);
  const ptr = dv.getUint32(8, true) + dv.getUint32(12, true) * 2 ** 32;
  if (!ptr) return -E.EINVAL;
  if (len === 0 || len > BPF_MAXINSNS) return -E.EINVAL;
  const bytes = copyFromUser(task.mm, ptr, len * 8);
  if (typeof bytes === 'number') return -E.EFAULT;
  const st = stateOf(sock);
  if (st.locked) return -E.EPERM;
  const prog = bpfDecode(bytes, len);
  const e = bpfCheckClassic(prog);
  if (e < 0) return e;
  st.prog = prog;
  return 0;
}

/** sk_detach_filter (SO_DETACH_FILTER): -ENOENT without a program, -EPERM when locked. */
export function skDetachFilter(sock: Socket): number {
  const st = skFilters.get(sock);
  if (st?.locked) return -E.EPERM;
  if (!st?.prog) return -E.ENOENT;
  st.prog = null;
  return 0;
}

/** SO_LOCK_FILTER: once set it cannot be cleared (sock_valbool_flag with the lock sticky). */
export function skLockFilter(sock: Socket, on: boolean): number {
  const st = stateOf(sock);
  if (st.locked && !on) return -E.EPERM;
  st.locked = on;
  return 0;
}

/** SO_GET_FILTER's length form / SO_LOCK_FILTER read-back. */
export function skFilterLocked(sock: Socket): boolean {
  return skFilters.get(sock)?.locked ?? false;
}

/**
 * sk_filter_trim_cap: run the socket's program, if any, on `skb`: the bytes to keep
 * (skb.len when no program), 0 to drop.
 */
export function skRunFilter(sock: Socket, skb: SkBuff, meta: BpfMeta): number {
  const p = skFilterOf(sock);
  if (!p) return skb.len;
  return bpfRun(p, skb, meta);
}

/**
 * The filter options of sk_setsockopt, for net/syscalls.ts to call before its own switch: a
 * result, or null when `name` is not a filter option. SO_ATTACH_FILTER takes exactly a
 * struct sock_fprog (copy_bpf_fprog_from_user); SO_DETACH_FILTER ignores its value.
 */
export function skFilterSetsockopt(sock: Socket, task: Task, name: number, val: Uint8Array): number | null {
  switch (name) {
    case SO_ATTACH_FILTER:
      return val.length !== SOCK_FPROG_LEN ? -E.EINVAL : skAttachFilter(sock, task, val);
    case SO_DETACH_FILTER:
      return skDetachFilter(sock);
    case SO_LOCK_FILTER:
      if (val.length < 4) return -E.EINVAL;
      return skLockFilter(sock, new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true) !== 0);
    default:
      return null;
  }
}

/** SO_LOCK_FILTER for sk_getsockopt (an int), or null for other names. */
export function skFilterGetsockopt(sock: Socket, name: number): Uint8Array | null {
  if (name !== SO_LOCK_FILTER) return null;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, skFilterLocked(sock) ? 1 : 0, true);
  return b;
}
