/**
 * Ethernet framing (net/ethernet/eth.c, include/uapi/linux/if_ether.h): building the 14-byte
 * header on output (eth_header) and classifying a received frame (eth_type_trans), which
 * also pulls the header so skb.data is at the network header.
 */
import type { SkBuff } from './skbuff.js';
import { PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST } from './skbuff.js';
import type { NetDevice } from './netdevice.js';

export const ETH_ALEN = 6;
export const ETH_HLEN = 14;
/** Minimum frame length without the FCS (ETH_ZLEN): shorter frames are padded on transmit. */
export const ETH_ZLEN = 60;
export const ETH_DATA_LEN = 1500;
export const ETH_FRAME_LEN = 1514;
export const ETH_P_ALL = 0x0003;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_IPV6 = 0x86dd;
/** Values below this in the type field are 802.3 lengths, not EtherTypes. */
export const ETH_P_802_3_MIN = 0x0600;
/** skb->protocol for an 802.3 frame with a length field (ETH_P_802_3). */
export const ETH_P_802_3 = 0x0001;
/** The two zero-to-four kinds of non-Ethernet-II framing (ETH_P_802_2 is what an LLC frame gets). */
export const ETH_P_802_2 = 0x0004;

const ZERO_MAC = new Uint8Array(ETH_ALEN);

/**
 * eth_header: push the Ethernet header in front of skb.data. `daddr` null (an address not
 * known yet) leaves zeros, as Linux does for loopback; `saddr` defaults to the device's.
 * Returns ETH_HLEN.
 */
export function ethHeader(
  skb: SkBuff,
  dev: NetDevice,
  type: number,
  daddr: Uint8Array | null,
  saddr?: Uint8Array | null,
): number {
  const at = skb.push(ETH_HLEN);
  const b = skb.buf;
  b.set((daddr ?? ZERO_MAC).subarray(0, ETH_ALEN), at);
  b.set((saddr ?? dev.addr).subarray(0, ETH_ALEN), at + ETH_ALEN);
  b[at + 12] = (type >>> 8) & 0xff;
  b[at + 13] = type & 0xff;
  skb.macHeader = at;
  return ETH_HLEN;
}

/** ether_addr_equal over two buffers at offsets. */
export function etherAddrEqual(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** is_zero_ether_addr. */
export function isZeroEtherAddr(a: Uint8Array, off = 0): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (a[off + i] !== 0) return false;
  return true;
}

/** is_valid_ether_addr: not multicast/broadcast, not zero. */
export function isValidEtherAddr(a: Uint8Array): boolean {
  return a.length >= ETH_ALEN && (a[0]! & 1) === 0 && !isZeroEtherAddr(a);
}

/** "aa:bb:cc:dd:ee:ff" (the %pM format). */
export function macToString(a: Uint8Array | null, len = ETH_ALEN): string {
  let s = '';
  for (let i = 0; i < len; i++) s += (i ? ':' : '') + ((a?.[i] ?? 0) >>> 0).toString(16).padStart(2, '0');
  return s;
}

/**
 * eth_type_trans: set skb.pktType from the destination address (broadcast, multicast, for
 * another host), set skb.macHeader, pull the header, and return the protocol (host order),
 * which the caller stores in skb.protocol. The frame must hold ETH_HLEN bytes (the caller
 * checks; a shorter one returns -1 and is left alone).
 */
export function ethTypeTrans(skb: SkBuff, dev: NetDevice): number {
  if (skb.len < ETH_HLEN) return -1;
  const at = skb.data;
  const b = skb.buf;
  skb.dev = dev;
  skb.macHeader = at;
  if (b[at]! & 1) {
    skb.pktType = etherAddrEqual(b, at, dev.broadcast, 0) ? PACKET_BROADCAST : PACKET_MULTICAST;
  } else if (!etherAddrEqual(b, at, dev.addr, 0)) {
    skb.pktType = PACKET_OTHERHOST;
  } else {
    skb.pktType = PACKET_HOST;
  }
  skb.pull(ETH_HLEN);
  skb.networkHeader = skb.data;
  const proto = (b[at + 12]! << 8) | b[at + 13]!;
  // An 802.3 frame carries a length here: Linux maps raw 802.3 (IPX) and LLC frames to pseudo types.
  if (proto >= ETH_P_802_3_MIN) return proto;
  if (skb.len >= 2 && b[skb.data] === 0xff && b[skb.data + 1] === 0xff) return ETH_P_802_3;
  return ETH_P_802_2;
}
