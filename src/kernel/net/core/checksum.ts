/**
 * The Internet checksum (RFC 1071; lib/checksum.c, include/net/checksum.h): a 16-bit ones'
 * complement sum. `csumPartial` accumulates a 32-bit sum that `csumFold` folds and inverts.
 * Integer math on bytes only: no allocation.
 */

/** csum_partial: add bytes [off, off+len) of `b` to `sum` (big-endian 16-bit words; an odd last byte is padded). */
export function csumPartial(b: Uint8Array, off: number, len: number, sum = 0): number {
  let i = off;
  const end = off + len - 1;
  for (; i < end; i += 2) {
    sum += (b[i]! << 8) | b[i + 1]!;
    // Fold now and then so the sum stays a small integer (exact in a double, well below 2^53).
    if (sum > 0x7fffffff) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i === end) sum += b[i]! << 8;
  return sum;
}

/** csum_fold: fold a 32-bit partial sum to 16 bits and invert it (the value to store in a header). */
export function csumFold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** ip_fast_csum: the checksum of an IPv4 header (0 when the stored checksum is right). */
export function ipFastCsum(b: Uint8Array, off: number, ihlBytes: number): number {
  return csumFold(csumPartial(b, off, ihlBytes));
}

/** csum_tcpudp_nofold: the pseudo-header sum (saddr, daddr, protocol, length) for TCP/UDP/ICMP-less protocols. */
export function csumTcpUdpNofold(saddr: number, daddr: number, len: number, proto: number, sum = 0): number {
  return sum + (saddr >>> 16) + (saddr & 0xffff) + (daddr >>> 16) + (daddr & 0xffff) + proto + len;
}

/**
 * csum_tcpudp_magic: the checksum of a TCP or UDP segment [off, off+len) of `b` with its pseudo
 * header. Store the result in the header (with its checksum field zero while summing); on
 * input, the sum over a correct segment gives 0.
 */
export function tcpUdpChecksum(
  b: Uint8Array,
  off: number,
  len: number,
  saddr: number,
  daddr: number,
  proto: number,
): number {
  return csumFold(csumPartial(b, off, len, csumTcpUdpNofold(saddr, daddr, len, proto)));
}
