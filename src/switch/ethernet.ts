/**
 * Ethernet II framing for the host-side switch: header offsets, address tests, VLAN tags, MAC
 * text form, and stable MAC addresses for guest NICs.
 *
 * A frame here is what a NIC puts on the wire without preamble and FCS: destination (6),
 * source (6), EtherType (2), payload. Everything reads straight out of the frame's bytes with
 * no allocation, because the switch calls these for every frame it forwards. Names follow
 * include/linux/if_ether.h and include/linux/etherdevice.h.
 */
import { createHash } from 'node:crypto';

/** Octets in one Ethernet address (ETH_ALEN). */
export const ETH_ALEN = 6;
/** Destination + source + EtherType (ETH_HLEN). */
export const ETH_HLEN = 14;
/** Minimum frame length without FCS (ETH_ZLEN): 802.3 senders pad shorter frames to this. */
export const ETH_ZLEN = 60;
/** Default payload MTU (ETH_DATA_LEN). */
export const ETH_DATA_LEN = 1500;
/** One 802.1Q tag: TPID (2) + TCI (2) (VLAN_HLEN). */
export const VLAN_HLEN = 4;

/** Offsets of the header fields. */
export const ETH_DEST = 0;
export const ETH_SOURCE = 6;
export const ETH_TYPE = 12;

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
/** 802.1Q customer VLAN tag. */
export const ETH_P_8021Q = 0x8100;
/** 802.1ad service VLAN tag (QinQ outer tag). */
export const ETH_P_8021AD = 0x88a8;

/** The broadcast address ff:ff:ff:ff:ff:ff. */
export const BROADCAST_MAC: Readonly<Uint8Array> = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Group bit of the first octet: the address names a group, not one station (is_multicast_ether_addr). */
export function isMulticastAt(b: Uint8Array, off: number): boolean {
  return (b[off]! & 0x01) !== 0;
}

/** ff:ff:ff:ff:ff:ff (is_broadcast_ether_addr). Broadcast is also multicast. */
export function isBroadcastAt(b: Uint8Array, off: number): boolean {
  return (b[off]! & b[off + 1]! & b[off + 2]! & b[off + 3]! & b[off + 4]! & b[off + 5]!) === 0xff;
}

/** 00:00:00:00:00:00 (is_zero_ether_addr). */
export function isZeroAt(b: Uint8Array, off: number): boolean {
  return (b[off]! | b[off + 1]! | b[off + 2]! | b[off + 3]! | b[off + 4]! | b[off + 5]!) === 0;
}

/**
 * A station may use this as its source address: not multicast and not all zeros
 * (is_valid_ether_addr). The bridge drops frames whose source fails this (br_handle_frame).
 */
export function isValidUnicastAt(b: Uint8Array, off: number): boolean {
  return !isMulticastAt(b, off) && !isZeroAt(b, off);
}

/**
 * The high 16 bits of the 48-bit address at `off`, and the low 32 bits as a signed int32. The
 * switch's MAC table keys on this pair so a lookup allocates nothing (a 48-bit number would be
 * a heap number in V8 once it leaves a register).
 */
export function macHi16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}
export function macLo32(b: Uint8Array, off: number): number {
  return (b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!;
}

/** EtherType (or 802.3 length when < 0x600) of the outer header. */
export function outerEthertype(frame: Uint8Array): number {
  return (frame[ETH_TYPE]! << 8) | frame[ETH_TYPE + 1]!;
}

/** True for the TPIDs of 802.1Q and 802.1ad tags. */
export function isVlanTpid(type: number): boolean {
  return type === ETH_P_8021Q || type === ETH_P_8021AD;
}

/**
 * Offset of the EtherType that names the payload, past any VLAN tags (as __vlan_get_protocol
 * walks them), or -1 when the frame ends inside the headers. The switch does not filter on
 * VLANs (a Linux bridge with vlan_filtering=0): tagged frames pass through unchanged, this is
 * for the capture and for services that look inside.
 */
export function ethertypeOffset(frame: Uint8Array): number {
  let off = ETH_TYPE;
  for (;;) {
    if (off + 2 > frame.length) return -1;
    const type = (frame[off]! << 8) | frame[off + 1]!;
    if (!isVlanTpid(type)) return off;
    off += VLAN_HLEN;
  }
}

/** The payload's EtherType past any VLAN tags, or -1 for a frame too short to have one. */
export function innerEthertype(frame: Uint8Array): number {
  const off = ethertypeOffset(frame);
  return off < 0 ? -1 : (frame[off]! << 8) | frame[off + 1]!;
}

/** VLAN id (12 bits) of the outermost tag, or -1 when the frame is untagged or truncated. */
export function vlanId(frame: Uint8Array): number {
  if (frame.length < ETH_HLEN + VLAN_HLEN || !isVlanTpid(outerEthertype(frame))) return -1;
  return ((frame[ETH_TYPE + 2]! << 8) | frame[ETH_TYPE + 3]!) & 0x0fff;
}

/** Offset of the payload past the header and any VLAN tags, or -1 when truncated. */
export function payloadOffset(frame: Uint8Array): number {
  const off = ethertypeOffset(frame);
  return off < 0 ? -1 : off + 2;
}

const HEX = '0123456789abcdef';

/** "02:ab:cd:00:11:22" (lower case, as `ip link` prints it) for the 6 octets at `off`. */
export function formatMac(b: Uint8Array, off = 0): string {
  if (off < 0 || off + ETH_ALEN > b.length) throw new RangeError(`no MAC address at offset ${off}`);
  let s = '';
  for (let i = 0; i < ETH_ALEN; i++) {
    const v = b[off + i]!;
    if (i) s += ':';
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

/**
 * Parse "02:ab:cd:00:11:22" or "02-AB-CD-00-11-22" (the two forms people paste). Throws a
 * RangeError that says what is wrong, since the text usually comes from an API request.
 */
export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(
    text.trim(),
  );
  if (!m) throw new RangeError(`"${text}" is not a MAC address; write six hex octets like 02:00:5e:10:00:01`);
  const out = new Uint8Array(ETH_ALEN);
  const groups = [m[1], m[3], m[4], m[5], m[6], m[7]];
  for (let i = 0; i < ETH_ALEN; i++) out[i] = parseInt(groups[i]!, 16);
  return out;
}

/** Unicast and locally administered: what a MAC handed to a guest NIC must be. */
export function isLocalUnicast(mac: Uint8Array): boolean {
  return mac.length === ETH_ALEN && (mac[0]! & 0x03) === 0x02;
}

/**
 * A MAC address derived from a seed: the first six octets of SHA-256(seed) with the group bit
 * cleared and the locally-administered bit set (as eth_random_addr does to random bytes), so
 * it never collides with a vendor-assigned address and is never multicast. The same seed gives
 * the same address across server restarts, so a guest keeps its DHCP lease and ARP entries.
 * 46 bits of hash: among 10,000 NICs a collision has a probability of about 7e-7, so callers
 * that need uniqueness (the NIC store) check and retry with `nicMac(..., attempt + 1)`.
 */
export function macFromSeed(seed: string | Uint8Array): Uint8Array {
  const h = createHash('sha256').update(seed).digest();
  const mac = new Uint8Array(ETH_ALEN);
  for (let i = 0; i < ETH_ALEN; i++) mac[i] = h[i]!;
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  return mac;
}

/** The stable MAC of NIC `index` of machine `machineId`; `attempt` > 0 re-rolls after a collision. */
export function nicMac(machineId: string, index: number, attempt = 0): Uint8Array {
  if (!Number.isInteger(index) || index < 0)
    throw new RangeError(`NIC index must be a non-negative integer, not ${index}`);
  return macFromSeed(
    attempt === 0 ? `labvisor-nic:${machineId}:${index}` : `labvisor-nic:${machineId}:${index}:${attempt}`,
  );
}
