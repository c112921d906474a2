/**
 * The DNS message format (RFC 1035 §4.1): a 12-byte header, then questions and resource
 * records, names as length-prefixed labels (§3.1) that may end in a compression pointer (§4.1.4).
 * Only what an authoritative server for a few names needs: read a query (its question and an
 * EDNS OPT record, RFC 6891 §6.1), write an answer with A records.
 *
 * Queries come from guests: every read is bounds-checked, a name may not exceed 255 bytes
 * (§2.3.4) or use a label type other than plain (00) and pointer (11), and a pointer must point
 * strictly before the label it replaces, so following pointers always terminates (no loops).
 */

/** Header flags (RFC 1035 §4.1.1). */
export const DNS_QR = 0x8000;
export const DNS_AA = 0x0400;
export const DNS_TC = 0x0200;
export const DNS_RD = 0x0100;
export const DNS_RA = 0x0080;

/** OPCODE values. */
export const OPCODE_QUERY = 0;

/** RCODE values (RFC 1035 §4.1.1; BADVERS from RFC 6891 §9, an extended RCODE). */
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;
export const RCODE_BADVERS = 16;

/** TYPE and CLASS values (RFC 1035 §3.2.2-3.2.4; AAAA RFC 3596; OPT RFC 6891). */
export const TYPE_A = 1;
export const TYPE_NS = 2;
export const TYPE_CNAME = 5;
export const TYPE_SOA = 6;
export const TYPE_PTR = 12;
export const TYPE_MX = 15;
export const TYPE_TXT = 16;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const TYPE_ANY = 255;
export const CLASS_IN = 1;
export const CLASS_ANY = 255;

export const DNS_HEADER_LEN = 12;
/** The largest message over UDP without EDNS (RFC 1035 §2.3.4). */
export const DNS_UDP_MAX = 512;
/** Longest name in wire form (RFC 1035 §2.3.4) and label (§3.1). */
export const MAX_NAME_LEN = 255;
export const MAX_LABEL_LEN = 63;

export class DnsFormatError extends Error {}

export interface DnsQuestion {
  /** The labels as sent (case kept: RFC 4343 wants it echoed, and 0x20 resolvers check it). */
  labels: string[];
  qtype: number;
  qclass: number;
}

export interface DnsEdns {
  /** The requestor's UDP payload size (the OPT record's CLASS, RFC 6891 §6.2.3); at least 512. */
  udpSize: number;
  version: number;
  /** The DO bit (RFC 3225). */
  dnssecOk: boolean;
}

export interface DnsQuery {
  id: number;
  flags: number;
  opcode: number;
  questions: DnsQuestion[];
  /** The OPT pseudo-record from the additional section, if any. */
  edns: DnsEdns | null;
  /** More than one OPT record (RFC 6891 §6.1.1: the answer is FORMERR). */
  ednsDuplicate: boolean;
}

/**
 * Reads a name at `off` (RFC 1035 §4.1.4). Returns the labels and the offset just past the name
 * where it started (a pointer ends it: 2 bytes). Throws DnsFormatError on anything malformed.
 */
export function readName(b: Uint8Array, off: number): { labels: string[]; end: number } {
  const labels: string[] = [];
  let o = off;
  let end = -1;
  let wireLen = 1; // the root label's zero byte
  // Each pointer must go strictly backwards from the label it replaces: offsets decrease, so the
  // walk ends after at most b.length pointers; `limit` is that bound made explicit.
  let limit = o;
  for (;;) {
    if (o >= b.length) throw new DnsFormatError('name runs past the end of the message');
    const len = b[o]!;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (o + 1 >= b.length) throw new DnsFormatError('compression pointer cut short');
      const target = ((len & 0x3f) << 8) | b[o + 1]!;
      if (end < 0) end = o + 2;
      if (target >= limit) throw new DnsFormatError('compression pointer does not point backwards');
      o = target;
      limit = target;
      continue;
    }
    if (kind !== 0) throw new DnsFormatError(`label type 0x${kind.toString(16)} is not supported`);
    if (len === 0) {
      if (end < 0) end = o + 1;
      return { labels, end };
    }
    if (o + 1 + len > b.length) throw new DnsFormatError('label runs past the end of the message');
    wireLen += 1 + len;
    if (wireLen > MAX_NAME_LEN) throw new DnsFormatError('name longer than 255 bytes');
    labels.push(Buffer.from(b.subarray(o + 1, o + 1 + len)).toString('latin1'));
    o += 1 + len;
  }
}

function u16(b: Uint8Array, o: number): number {
  if (o + 2 > b.length) throw new DnsFormatError('message cut short');
  return (b[o]! << 8) | b[o + 1]!;
}

/**
 * Parses a query. Returns null when the message is too short to hold even a header (nothing
 * can be answered: no id). Throws DnsFormatError, carrying the header for a FORMERR answer,
 * when the rest is malformed.
 */
export function parseQuery(b: Uint8Array): DnsQuery | null {
  if (b.length < DNS_HEADER_LEN) return null;
  const id = u16(b, 0);
  const flags = u16(b, 2);
  const q: DnsQuery = {
    id,
    flags,
    opcode: (flags >> 11) & 0xf,
    questions: [],
    edns: null,
    ednsDuplicate: false,
  };
  const qd = u16(b, 4);
  const an = u16(b, 6);
  const ns = u16(b, 8);
  const ar = u16(b, 10);
  let o = DNS_HEADER_LEN;
  for (let i = 0; i < qd; i++) {
    const { labels, end } = readName(b, o);
    q.questions.push({ labels, qtype: u16(b, end), qclass: u16(b, end + 2) });
    o = end + 4;
  }
  // Skip answers and authority (a query carries none, but an UPDATE or a NOTIFY might), then look
  // for OPT among the additional records.
  for (let i = 0; i < an + ns + ar; i++) {
    const { labels, end } = readName(b, o);
    const type = u16(b, end);
    const klass = u16(b, end + 2);
    if (end + 10 > b.length) throw new DnsFormatError('resource record cut short');
    const ttl = ((b[end + 4]! << 24) | (b[end + 5]! << 16) | (b[end + 6]! << 8) | b[end + 7]!) >>> 0;
    const rdlen = u16(b, end + 8);
    if (end + 10 + rdlen > b.length) throw new DnsFormatError('resource record data runs past the end');
    if (i >= an + ns && type === TYPE_OPT) {
      // RFC 6891 §6.1.1: OPT's owner is the root; TTL holds extended RCODE, version and flags.
      if (labels.length !== 0) throw new DnsFormatError('OPT record not owned by the root');
      if (q.edns) q.ednsDuplicate = true;
      q.edns = { udpSize: Math.max(DNS_UDP_MAX, klass), version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0 };
    }
    o = end + 10 + rdlen;
  }
  return q;
}

/** Writes labels in wire form (no compression). Labels over 63 bytes are refused. */
function writeLabels(out: number[], labels: string[]): void {
  for (const l of labels) {
    const bytes = Buffer.from(l, 'latin1');
    if (bytes.length === 0 || bytes.length > MAX_LABEL_LEN) throw new RangeError(`bad label '${l}'`);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
}

export interface DnsAnswerA {
  /** Host-order IPv4 address. */
  addr: number;
  ttl: number;
}

export interface DnsResponse {
  id: number;
  opcode: number;
  /** Copied from the query (RFC 1035 §4.1.1: RD is copied into the response). */
  rd: boolean;
  aa: boolean;
  /** 0..4095; values above 15 need EDNS (the upper 8 bits go into the OPT record). */
  rcode: number;
  /** The question, echoed (absent when the query's could not be read). */
  question: DnsQuestion | null;
  /** A records for the question's name (the owner is written as a pointer to the question). */
  answers: DnsAnswerA[];
  /** Include an OPT record (the query had one): our payload size is `ednsUdpSize`. */
  edns: boolean;
  ednsUdpSize?: number;
}

/**
 * Builds a response. Each answer's owner name is a pointer to the question's name at offset 12
 * (RFC 1035 §4.1.4). If it would exceed `maxLen`, answers are dropped and TC is set (§4.2.1).
 */
export function buildResponse(r: DnsResponse, maxLen = DNS_UDP_MAX): Uint8Array {
  const out: number[] = [];
  const rcodeLow = r.rcode & 0xf;
  const flags = DNS_QR | ((r.opcode & 0xf) << 11) | (r.aa ? DNS_AA : 0) | (r.rd ? DNS_RD : 0) | rcodeLow;
  const header = (fl: number, an: number): number[] => [
    r.id >> 8,
    r.id & 0xff,
    fl >> 8,
    fl & 0xff,
    0,
    r.question ? 1 : 0,
    an >> 8,
    an & 0xff,
    0,
    0,
    0,
    r.edns ? 1 : 0,
  ];
  out.push(...header(flags, r.answers.length));
  if (r.question) {
    writeLabels(out, r.question.labels);
    out.push(r.question.qtype >> 8, r.question.qtype & 0xff, r.question.qclass >> 8, r.question.qclass & 0xff);
  }
  const questionEnd = out.length;
  for (const a of r.answers) {
    out.push(0xc0, DNS_HEADER_LEN, 0, TYPE_A, 0, CLASS_IN);
    out.push(a.ttl >>> 24, (a.ttl >>> 16) & 0xff, (a.ttl >>> 8) & 0xff, a.ttl & 0xff, 0, 4);
    out.push(a.addr >>> 24, (a.addr >>> 16) & 0xff, (a.addr >>> 8) & 0xff, a.addr & 0xff);
  }
  const opt = (): number[] => {
    // RFC 6891 §6.1.2-6.1.3: owner root, TYPE 41, CLASS our UDP payload size, TTL = extended
    // RCODE (upper 8 bits of the 12-bit RCODE), version 0, flags 0; no options.
    const size = r.ednsUdpSize ?? 1232;
    return [0, 0, TYPE_OPT, size >> 8, size & 0xff, (r.rcode >> 4) & 0xff, 0, 0, 0, 0, 0];
  };
  const optLen = r.edns ? 11 : 0;
  if (out.length + optLen > maxLen) {
    // Truncated (RFC 2181 §9): no partial RRsets, so no answers at all, and TC set.
    const t = header(flags | DNS_TC, 0);
    const trunc = [...t, ...out.slice(DNS_HEADER_LEN, questionEnd)];
    if (r.edns) trunc.push(...opt());
    return new Uint8Array(trunc);
  }
  if (r.edns) out.push(...opt());
  return new Uint8Array(out);
}

/** Builds a query (for tests and tools: what `dig` and a stub resolver send). */
export function buildQuery(q: {
  id: number;
  name: string;
  qtype: number;
  qclass?: number;
  rd?: boolean;
  edns?: { udpSize: number; version?: number; dnssecOk?: boolean };
}): Uint8Array {
  const out: number[] = [q.id >> 8, q.id & 0xff, q.rd === false ? 0 : 0x01, 0, 0, 1, 0, 0, 0, 0, 0, q.edns ? 1 : 0];
  writeLabels(
    out,
    q.name.split('.').filter((l) => l !== ''),
  );
  const qclass = q.qclass ?? CLASS_IN;
  out.push(q.qtype >> 8, q.qtype & 0xff, qclass >> 8, qclass & 0xff);
  if (q.edns) {
    const v = q.edns.version ?? 0;
    out.push(0, 0, TYPE_OPT, q.edns.udpSize >> 8, q.edns.udpSize & 0xff, 0, v, q.edns.dnssecOk ? 0x80 : 0, 0, 0, 0);
  }
  return new Uint8Array(out);
}

export interface ParsedAnswer {
  name: string[];
  type: number;
  klass: number;
  ttl: number;
  data: Uint8Array;
}

/** Parses a response (for tests and the port of a client): header fields, the question, the answers. */
export function parseResponse(b: Uint8Array): {
  id: number;
  flags: number;
  rcode: number;
  question: DnsQuestion | null;
  answers: ParsedAnswer[];
  additional: ParsedAnswer[];
} {
  if (b.length < DNS_HEADER_LEN) throw new DnsFormatError('message shorter than a header');
  const flags = u16(b, 2);
  const qd = u16(b, 4);
  const an = u16(b, 6);
  const ns = u16(b, 8);
  const ar = u16(b, 10);
  let o = DNS_HEADER_LEN;
  let question: DnsQuestion | null = null;
  for (let i = 0; i < qd; i++) {
    const { labels, end } = readName(b, o);
    question ??= { labels, qtype: u16(b, end), qclass: u16(b, end + 2) };
    o = end + 4;
  }
  const rrs: ParsedAnswer[] = [];
  for (let i = 0; i < an + ns + ar; i++) {
    const { labels, end } = readName(b, o);
    if (end + 10 > b.length) throw new DnsFormatError('resource record cut short');
    const rdlen = u16(b, end + 8);
    if (end + 10 + rdlen > b.length) throw new DnsFormatError('resource record data runs past the end');
    rrs.push({
      name: labels,
      type: u16(b, end),
      klass: u16(b, end + 2),
      ttl: ((b[end + 4]! << 24) | (b[end + 5]! << 16) | (b[end + 6]! << 8) | b[end + 7]!) >>> 0,
      data: b.slice(end + 10, end + 10 + rdlen),
    });
    o = end + 10 + rdlen;
  }
  return {
    id: u16(b, 0),
    flags,
    rcode: flags & 0xf,
    question,
    answers: rrs.slice(0, an),
    additional: rrs.slice(an + ns),
  };
}
