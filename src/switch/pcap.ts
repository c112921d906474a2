/**
 * Packet capture in the classic libpcap file format (what `tcpdump -w` writes and `tshark -r`
 * and Wireshark read): a 24-byte global header, then per packet a 16-byte record header
 * (seconds, microseconds, captured length, original length) and the captured bytes.
 * LINKTYPE_ETHERNET, microsecond timestamps, snaplen 262144 (tcpdump's default), written in
 * little-endian (readers detect the byte order from the magic number).
 *
 * PcapStream is a Node Readable, so a fastify route can `reply.type(PCAP_CONTENT_TYPE).send(stream)`.
 * Its buffer is bounded: when the reader is slower than the network, packets that would take it
 * past `maxBufferedBytes` are dropped and counted (as the kernel's capture ring drops for a
 * slow tcpdump, the "packets dropped by kernel" line) instead of growing the server's memory.
 */
import { Readable } from 'node:stream';

export const PCAP_CONTENT_TYPE = 'application/vnd.tcpdump.pcap';
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_DEFAULT_SNAPLEN = 262144;
export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** The 24-byte global header. */
export function pcapGlobalHeader(snaplen = PCAP_DEFAULT_SNAPLEN, linktype = LINKTYPE_ETHERNET): Buffer {
  const h = Buffer.alloc(PCAP_GLOBAL_HEADER_LEN);
  h.writeUInt32LE(PCAP_MAGIC_USEC, 0);
  h.writeUInt16LE(PCAP_VERSION_MAJOR, 4);
  h.writeUInt16LE(PCAP_VERSION_MINOR, 6);
  h.writeInt32LE(0, 8); // thiszone: timestamps are UTC
  h.writeUInt32LE(0, 12); // sigfigs: always 0
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(linktype, 20);
  return h;
}

/**
 * One record (header + the first `snaplen` bytes of the frame) in a fresh buffer: the frame is
 * copied because the capture outlives the switch's use of it.
 */
export function pcapRecord(frame: Uint8Array, timestampUs: number, snaplen = PCAP_DEFAULT_SNAPLEN): Buffer {
  const incl = Math.min(frame.length, snaplen);
  const r = Buffer.allocUnsafe(PCAP_RECORD_HEADER_LEN + incl);
  const us = Math.max(0, Math.floor(timestampUs));
  const sec = Math.floor(us / 1e6);
  r.writeUInt32LE(sec >>> 0, 0);
  r.writeUInt32LE(us - sec * 1e6, 4);
  r.writeUInt32LE(incl, 8);
  r.writeUInt32LE(frame.length, 12);
  r.set(frame.subarray(0, incl), PCAP_RECORD_HEADER_LEN);
  return r;
}

/** Wall-clock microseconds since the epoch, with sub-millisecond resolution. */
export function realtimeUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

export interface PcapStreamOptions {
  /** Bytes kept per packet (default 262144; longer frames are truncated and keep their original length). */
  snaplen?: number;
  /** Most bytes waiting for the reader (default 4 MiB); beyond it packets are dropped and counted. */
  maxBufferedBytes?: number;
  /** Wall clock in microseconds (default realtimeUs); injected by tests. */
  clockUs?: () => number;
}

export class PcapStream extends Readable {
  static readonly DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024;

  readonly snaplen: number;
  readonly maxBufferedBytes: number;
  private readonly clockUs: () => number;
  /** Packets written to the stream, and dropped because the reader lagged. */
  packets = 0;
  dropped = 0;
  private ended = false;

  constructor(opts: PcapStreamOptions = {}) {
    // The Readable's own highWaterMark only decides when push() says "stop"; the bound that
    // matters is ours (maxBufferedBytes), since frames arrive whether or not the reader asks.
    super();
    this.snaplen = opts.snaplen ?? PCAP_DEFAULT_SNAPLEN;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? PcapStream.DEFAULT_MAX_BUFFERED;
    this.clockUs = opts.clockUs ?? realtimeUs;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > PCAP_DEFAULT_SNAPLEN) {
      throw new RangeError(`snaplen must be 1..${PCAP_DEFAULT_SNAPLEN}, not ${this.snaplen}`);
    }
    this.push(pcapGlobalHeader(this.snaplen));
  }

  override _read(): void {
    // Data is pushed as frames arrive; nothing to fetch on demand.
  }

  /** Whether the stream still takes packets (not ended, not destroyed). */
  get open(): boolean {
    return !this.ended && !this.destroyed;
  }

  /**
   * Add one frame, stamped now (or at `timestampUs`). Returns false when it was dropped because
   * the reader is too far behind, or when the stream is closed.
   */
  writeFrame(frame: Uint8Array, timestampUs?: number): boolean {
    if (!this.open) return false;
    const incl = Math.min(frame.length, this.snaplen);
    if (this.readableLength + PCAP_RECORD_HEADER_LEN + incl > this.maxBufferedBytes) {
      this.dropped++;
      return false;
    }
    this.push(pcapRecord(frame, timestampUs ?? this.clockUs(), this.snaplen));
    this.packets++;
    return true;
  }

  /** No more packets: the reader gets what is buffered, then end of file. */
  finish(): void {
    if (!this.open) return;
    this.ended = true;
    this.push(null);
  }
}

/** One packet read back from a pcap file (tests, tools). */
export interface PcapPacket {
  tsSec: number;
  tsUsec: number;
  origLen: number;
  data: Uint8Array;
}

/**
 * Parse a classic pcap file (either byte order, microsecond or nanosecond magic). Throws on a
 * malformed file. Cold path: for tests and for checking a capture.
 */
export function parsePcap(buf: Uint8Array): {
  snaplen: number;
  linktype: number;
  versionMajor: number;
  versionMinor: number;
  packets: PcapPacket[];
} {
  if (buf.length < PCAP_GLOBAL_HEADER_LEN) throw new Error('pcap: shorter than the global header');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magicLE = dv.getUint32(0, true);
  let le: boolean;
  if (magicLE === PCAP_MAGIC_USEC || magicLE === 0xa1b23c4d) le = true;
  else if (dv.getUint32(0, false) === PCAP_MAGIC_USEC || dv.getUint32(0, false) === 0xa1b23c4d) le = false;
  else throw new Error(`pcap: bad magic 0x${magicLE.toString(16)}`);
  const versionMajor = dv.getUint16(4, le);
  const versionMinor = dv.getUint16(6, le);
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le);
  const packets: PcapPacket[] = [];
  let off = PCAP_GLOBAL_HEADER_LEN;
  while (off < buf.length) {
    if (off + PCAP_RECORD_HEADER_LEN > buf.length) throw new Error(`pcap: truncated record header at ${off}`);
    const incl = dv.getUint32(off + 8, le);
    const rec = {
      tsSec: dv.getUint32(off, le),
      tsUsec: dv.getUint32(off + 4, le),
      origLen: dv.getUint32(off + 12, le),
      data: buf.subarray(off + PCAP_RECORD_HEADER_LEN, off + PCAP_RECORD_HEADER_LEN + incl),
    };
    if (rec.data.length !== incl) throw new Error(`pcap: truncated packet at ${off}`);
    packets.push(rec);
    off += PCAP_RECORD_HEADER_LEN + incl;
  }
  return { snaplen, linktype, versionMajor, versionMinor, packets };
}
