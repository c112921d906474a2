/**
 * struct sk_buff (include/linux/skbuff.h, net/core/skbuff.c): one packet on its way through
 * the stack. The bytes live in `buf`; [data, tail) is the packet as the current layer sees
 * it. Output reserves headroom (MAX_HEADER) so each layer can `push` its header in front
 * without copying; input `pull`s each header off as the layer above takes over.
 *
 * Header offsets (`macHeader`, `networkHeader`, `transportHeader`) are absolute indices into
 * `buf` (-1 when unset), as skb->mac_header etc. are offsets from skb->head.
 */
import type { NetDevice } from './netdevice.js';

/** LL_MAX_HEADER + IPv4 header with options + TCP header with options, rounded: room every output path reserves. */
export const MAX_HEADER = 128;

// skb->pkt_type (include/uapi/linux/if_packet.h).
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;
export const PACKET_LOOPBACK = 5;

export class SkBuff {
  /** The backing store (skb->head … skb->end). */
  buf: Uint8Array;
  /** skb->data: index of the first byte of the current layer. */
  data: number;
  /** skb->tail: index one past the last byte. */
  tail: number;
  macHeader = -1;
  networkHeader = -1;
  transportHeader = -1;
  /** The device it arrived on (input) or leaves by (output). */
  dev: NetDevice | null = null;
  /** skb->protocol: the EtherType (ETH_P_IP, ETH_P_ARP …), host order. */
  protocol = 0;
  pktType = PACKET_HOST;
  /** skb->priority (SO_PRIORITY / TOS): pfifo_fast picks its band from it. */
  priority = 0;
  /**
   * IPv4 addresses of the packet (host-order u32), filled by ip_rcv on input and by the
   * sender on output: the ip_hdr(skb)->saddr/daddr every protocol reads.
   */
  saddr = 0;
  daddr = 0;
  /** The owning socket's opaque identity (skb->sk), for AF_PACKET's outgoing taps and accounting. */
  sk: unknown = null;
  /** Receive timestamp (monotonic ns), for SO_TIMESTAMP and the neighbour queue's age. */
  tstampNs = 0;
  /** A protocol's private control block (skb->cb): TCP keeps its segment fields here. */
  cb: unknown = null;

  constructor(buf: Uint8Array, data: number, tail: number) {
    this.buf = buf;
    this.data = data;
    this.tail = tail;
  }

  /** skb->len. */
  get len(): number {
    return this.tail - this.data;
  }

  /** The current bytes [data, tail) as a view (no copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(this.data, this.tail);
  }

  /** skb_push: open `n` bytes in front of data; returns the new data index. */
  push(n: number): number {
    if (n > this.data) throw new RangeError(`skb_push: ${n} bytes of headroom wanted, ${this.data} left`);
    this.data -= n;
    return this.data;
  }

  /** skb_pull: drop `n` bytes from the front (a header consumed); false when the packet is shorter. */
  pull(n: number): boolean {
    if (n > this.len) return false;
    this.data += n;
    return true;
  }

  /** skb_put: extend the tail by `n` bytes; returns the index where they start. */
  put(n: number): number {
    if (this.tail + n > this.buf.length) this.grow(this.tail + n);
    const at = this.tail;
    this.tail += n;
    return at;
  }

  /** skb_trim: cut the packet to `len` bytes (an IP datagram shorter than its frame). */
  trim(len: number): void {
    if (len < this.len) this.tail = this.data + len;
  }

  /** skb_headroom. */
  get headroom(): number {
    return this.data;
  }

  /**
   * skb_clone/skb_copy: a private copy with the same metadata and fresh headroom. A link-layer
   * header already pulled (input) is copied too, so a tap's copy still has its MAC header.
   */
  copy(headroom = MAX_HEADER): SkBuff {
    const start = this.macHeader >= 0 && this.macHeader < this.data ? this.macHeader : this.data;
    const pre = this.data - start;
    const b = new Uint8Array(headroom + pre + this.len);
    b.set(this.buf.subarray(start, this.tail), headroom);
    const s = new SkBuff(b, headroom + pre, headroom + pre + this.len);
    const shift = headroom + pre - this.data;
    s.macHeader = this.macHeader < 0 ? -1 : this.macHeader + shift;
    s.networkHeader = this.networkHeader < 0 ? -1 : this.networkHeader + shift;
    s.transportHeader = this.transportHeader < 0 ? -1 : this.transportHeader + shift;
    s.dev = this.dev;
    s.protocol = this.protocol;
    s.pktType = this.pktType;
    s.priority = this.priority;
    s.saddr = this.saddr;
    s.daddr = this.daddr;
    s.tstampNs = this.tstampNs;
    return s;
  }

  private grow(end: number): void {
    const b = new Uint8Array(Math.max(end, this.buf.length * 2));
    b.set(this.buf.subarray(0, this.tail));
    this.buf = b;
  }
}

/** alloc_skb + skb_reserve(MAX_HEADER): an empty packet with room for `size` bytes of payload after the headers. */
export function allocSkb(size: number, headroom = MAX_HEADER): SkBuff {
  return new SkBuff(new Uint8Array(headroom + size), headroom, headroom);
}

/** A received frame as an skb, without copying (the driver owns `frame` and hands it over). */
export function skbFromFrame(frame: Uint8Array): SkBuff {
  return new SkBuff(frame, 0, frame.length);
}
