/**
 * IPv4 reassembly (net/ipv4/ip_fragment.c over net/ipv4/inet_fragment.c): fragments wait in
 * a queue keyed by (saddr, daddr, id, protocol) until the datagram is whole. A fragment
 * that overlaps another kills its queue (RFC 5722's rule, as Linux applies it to IPv4
 * since 4.19; counted ReasmOverlaps); an exact duplicate is dropped. A queue that is not
 * complete after ipfrag_time seconds expires (ReasmTimeout, and ICMP time exceeded
 * "fragment reassembly" to the sender if the first fragment came). Over ipfrag_high_thresh
 * bytes waiting, new fragments are refused.
 */
import type { NetNs } from '../netns.js';
import { allocSkb, type SkBuff } from '../core/skbuff.js';
import { Timer } from '../core/timer.js';
import { icmpSend, ICMP_EXC_FRAGTIME, ICMP_TIME_EXCEEDED } from './icmp.js';
import { ipSendCheck, IP_DF, IP_MF, IP_OFFSET } from './ip_output.js';

/** A queue with more pieces than this is an attack (Linux bounds it by memory; this by count too). */
const MAX_FRAGS_PER_QUEUE = 2048;

interface Frag {
  offset: number;
  end: number;
  data: Uint8Array;
}

interface FragQueue {
  key: string;
  frags: Frag[];
  /** Datagram length once the last fragment is seen (or the furthest end so far). */
  len: number;
  /** Bytes received. */
  meat: number;
  firstIn: boolean;
  lastIn: boolean;
  /** The first fragment (its header becomes the datagram's; ip_expire answers about it). */
  head: SkBuff | null;
  /** Some fragment had DF (max_size): the reassembled datagram keeps DF. */
  df: boolean;
  timer: Timer;
  bytes: number;
}

interface FragState {
  queues: Map<string, FragQueue>;
  /** frag_mem_limit: bytes held by all queues. */
  mem: number;
}

const states = new WeakMap<NetNs, FragState>();
function stateOf(ns: NetNs): FragState {
  let s = states.get(ns);
  if (!s) states.set(ns, (s = { queues: new Map(), mem: 0 }));
  return s;
}

function killQueue(ns: NetNs, s: FragState, q: FragQueue): void {
  ns.timers.del(q.timer);
  if (s.queues.get(q.key) === q) s.queues.delete(q.key);
  s.mem -= q.bytes;
  q.bytes = 0;
  q.frags = [];
}

/** ip_expire: the datagram did not complete in time. */
function ipExpire(ns: NetNs, q: FragQueue): void {
  const s = stateOf(ns);
  if (s.queues.get(q.key) !== q) return;
  const head = q.head;
  const first = q.firstIn;
  killQueue(ns, s, q);
  ns.mib.ip.ReasmFails++;
  ns.mib.ip.ReasmTimeout++;
  if (first && head) icmpSend(ns, head, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0);
}

/**
 * ip_defrag: queue a fragment (skb.data at its IP header, trimmed to its total length).
 * Returns the reassembled datagram (data at its IP header, frag_off cleared) when this
 * fragment completed one, else null (queued, or dropped and counted).
 */
export function ipDefrag(ns: NetNs, skb: SkBuff): SkBuff | null {
  const mib = ns.mib.ip;
  mib.ReasmReqds++;
  const s = stateOf(ns);
  const b = skb.buf;
  const at = skb.data;
  const ihl = (b[at]! & 0x0f) * 4;
  const fo = (b[at + 6]! << 8) | b[at + 7]!;
  const offset = (fo & IP_OFFSET) * 8;
  const more = (fo & IP_MF) !== 0;
  let end = offset + skb.len - ihl;
  const key = `${skb.saddr},${skb.daddr},${(b[at + 4]! << 8) | b[at + 5]!},${b[at + 9]!}`;
  let q = s.queues.get(key);
  if (!q) {
    if (s.mem > ns.sysctl.ipfragHighThresh) {
      mib.ReasmFails++;
      return null;
    }
    const fresh: FragQueue = {
      key,
      frags: [],
      len: 0,
      meat: 0,
      firstIn: false,
      lastIn: false,
      head: null,
      df: false,
      timer: null as unknown as Timer,
      bytes: 0,
    };
    fresh.timer = new Timer(() => ipExpire(ns, fresh));
    ns.timers.modIn(fresh.timer, ns.sysctl.ipfragTime * 1e9);
    s.queues.set(key, fresh);
    q = fresh;
  }
  const discard = (overlap: boolean): null => {
    if (overlap) ns.mib.ipExt.ReasmOverlaps++;
    killQueue(ns, s, q!);
    mib.ReasmFails++;
    return null;
  };
  if (end > 65535) return discard(false); // oversized datagram
  if (!more) {
    // The last fragment fixes the length; one that contradicts what we know corrupts the queue.
    if (end < q.len || (q.lastIn && end !== q.len)) return discard(false);
    q.lastIn = true;
    q.len = end;
  } else {
    if (end & 7) end &= ~7; // non-final fragments are multiples of 8 (the rest is trimmed)
    if (end > q.len) {
      if (q.lastIn) return discard(false);
      q.len = end;
    }
  }
  if (end === offset) return null; // nothing in it
  // inet_frag_queue_insert: find the place; an exact duplicate is dropped, an overlap kills the queue.
  let i = 0;
  while (i < q.frags.length && q.frags[i]!.offset < offset) i++;
  const prev = i > 0 ? q.frags[i - 1]! : null;
  const next = i < q.frags.length ? q.frags[i]! : null;
  if ((prev && prev.offset === offset && prev.end === end) || (next && next.offset === offset && next.end === end))
    return null;
  if ((prev && prev.end > offset) || (next && next.offset < end)) return discard(true);
  if (q.frags.length >= MAX_FRAGS_PER_QUEUE) return discard(false);
  const data = b.slice(at + ihl, at + ihl + (end - offset));
  q.frags.splice(i, 0, { offset, end, data });
  q.meat += end - offset;
  q.bytes += data.length + 64;
  s.mem += data.length + 64;
  if (fo & IP_DF) q.df = true;
  if (offset === 0) {
    q.firstIn = true;
    // Keep the first fragment with its header (copied: the frame buffer may be reused).
    q.head = skb.copy();
  }
  if (!(q.firstIn && q.lastIn && q.meat === q.len)) return null;
  // ip_frag_reasm: the first fragment's header, then the pieces in order.
  const head = q.head!;
  const hb = head.buf;
  const ha = head.data;
  const hlen = (hb[ha]! & 0x0f) * 4;
  const total = hlen + q.len;
  const out = allocSkb(total);
  const oa = out.put(total);
  const ob = out.buf;
  ob.set(hb.subarray(ha, ha + hlen), oa);
  for (const f of q.frags) ob.set(f.data, oa + hlen + f.offset);
  ob[oa + 2] = total >>> 8;
  ob[oa + 3] = total & 0xff;
  const nfo = q.df ? IP_DF : 0;
  ob[oa + 6] = nfo >>> 8;
  ob[oa + 7] = 0;
  ipSendCheck(ob, oa);
  out.networkHeader = oa;
  out.dev = skb.dev;
  out.protocol = skb.protocol;
  out.pktType = skb.pktType;
  out.saddr = skb.saddr;
  out.daddr = skb.daddr;
  out.tstampNs = skb.tstampNs;
  out.macHeader = -1;
  killQueue(ns, s, q);
  mib.ReasmOKs++;
  return out;
}

/** Drop every queue (the namespace stops). */
export function ipFragExit(ns: NetNs): void {
  const s = stateOf(ns);
  for (const q of [...s.queues.values()]) killQueue(ns, s, q);
}
