/**
 * /proc/net/udp (udp4_seq_show / udp4_format_sock) and /proc/net/raw (raw_seq_show /
 * raw_sock_seq_show) in Linux's format. Addresses print as the raw big-endian u32 read on a
 * little-endian CPU (127.0.0.1 is 0100007F), ports in host order; kernel pointers as zeros
 * (%pK under kptr_restrict).
 */
import type { Kernel } from '../../kernel.js';
import { procNetRegister } from '../proc.js';
import { rawSockets } from './raw.js';
import { udpSockets, UDP_HTABLE_MASK } from './udp.js';

const hex = (v: number, w: number): string => (v >>> 0).toString(16).toUpperCase().padStart(w, '0');

/** A host-order address as the __be32 %08X of a little-endian machine. */
export function procAddr(a: number): string {
  const le = ((a & 0xff) << 24) | (((a >>> 8) & 0xff) << 16) | (((a >>> 16) & 0xff) << 8) | (a >>> 24);
  return hex(le, 8);
}

const UDP_HEADER =
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops';

/** udp4_seq_show: seq_setwidth(127) + seq_pad: every line is padded to 127 columns. */
export function udpSeqShow(k: Kernel): string {
  const ns = k.net;
  let out = UDP_HEADER.padEnd(127) + '\n';
  if (!ns) return out;
  for (const sk of udpSockets(ns)) {
    if (!sk.sock) continue; // kernel sockets have no file; Linux lists them, but the host never shows this file
    const line =
      `${String(sk.num & UDP_HTABLE_MASK).padStart(5)}: ${procAddr(sk.rcvSaddr)}:${hex(sk.num, 4)} ` +
      `${procAddr(sk.daddr)}:${hex(sk.dport, 4)} ${hex(sk.skState, 2)} ${hex(0, 8)}:${hex(sk.rmem, 8)} ` +
      `00:00000000 00000000 ${String(sk.uid).padStart(5)} ${String(0).padStart(8)} ${sk.ino} 2 0000000000000000 ${sk.drops}`;
    out += line.padEnd(127) + '\n';
  }
  return out;
}

/** raw_seq_show: the port column is the protocol; no padding. */
export function rawSeqShow(k: Kernel): string {
  const ns = k.net;
  let out =
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref  pointer drops\n';
  if (!ns) return out;
  for (const sk of rawSockets(ns)) {
    out +=
      `${String(sk.num & 255).padStart(4)}: ${procAddr(sk.rcvSaddr)}:${hex(sk.num, 4)} ` +
      `${procAddr(sk.daddr)}:${hex(0, 4)} ${hex(sk.skState, 2)} ${hex(0, 8)}:${hex(sk.rmem, 8)} ` +
      `00:00000000 00000000 ${String(sk.uid).padStart(5)} ${String(0).padStart(8)} ${sk.ino} 2 0000000000000000 ${sk.drops}\n`;
  }
  return out;
}

procNetRegister('udp', udpSeqShow);
procNetRegister('raw', rawSeqShow);
