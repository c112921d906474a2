/**
 * A DNS server (RFC 1035 §4) for one network's machine names, on UDP port 53 of the gateway's
 * address in the host's stack. It is authoritative for the names of the machines with a NIC on
 * the network, as `name` and `name.<domain>` (the domain DHCP hands out, option 15), compared
 * without regard to case (RFC 4343). It is not a recursive resolver: the lab has no Internet.
 *
 *   A for a known name      → the NIC's static address, else its current DHCP lease (NOERROR)
 *   AAAA or another type    → NOERROR with no answer (the name exists; RFC 2308 §2.2 "NODATA")
 *   an unknown name         → NXDOMAIN
 *   a malformed query       → FORMERR when its header can be read, else no answer
 *   an opcode but QUERY     → NOTIMP; a response (QR set) is never answered (no loops)
 *   EDNS (RFC 6891)         → an OPT record in the answer; a version above 0 → BADVERS
 */
import { udpKernelClose, udpKernelOpen, udpKernelSend, type UdpKernelSock } from '../../kernel/net/ipv4/udp.js';
import { parseIp } from '../../kernel/net/ipv4/inet_addr.js';
import {
  CLASS_ANY,
  CLASS_IN,
  DNS_QR,
  DNS_RD,
  DNS_UDP_MAX,
  DnsFormatError,
  OPCODE_QUERY,
  RCODE_BADVERS,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_NOTIMP,
  RCODE_NXDOMAIN,
  RCODE_REFUSED,
  TYPE_A,
  TYPE_ANY,
  buildResponse,
  parseQuery,
  type DnsAnswerA,
  type DnsQuery,
} from './dns-message.js';
import type { HostStack } from './host-stack.js';

export const DNS_PORT = 53;
/** Our EDNS UDP payload size: 1232 avoids IP fragmentation on any path (DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232;

/** Resolves a machine name on the network to its addresses (host order); null: no such machine. */
export type DnsLookup = (name: string) => Promise<number[] | null>;

export interface DnsConfig {
  /** The domain machine names live under (e.g. "lab": `vm-b.lab`), or null for bare names only. */
  domain: string | null;
  /** TTL of answers, seconds (short: addresses follow DHCP leases and machine renames). */
  ttl: number;
}

/**
 * Answers one query (a UDP payload) or returns null when nothing may be answered: too short to
 * carry an id, or not a query at all (QR set).
 */
export async function answerDns(data: Uint8Array, cfg: DnsConfig, lookup: DnsLookup): Promise<Uint8Array | null> {
  let q: DnsQuery | null;
  try {
    q = parseQuery(data);
  } catch (e) {
    if (!(e instanceof DnsFormatError)) throw e;
    // RFC 1035 §4.1.1: FORMERR, with the header's id and opcode (the rest cannot be trusted).
    const flags = (data[2]! << 8) | data[3]!;
    if (flags & DNS_QR) return null;
    return buildResponse({
      id: (data[0]! << 8) | data[1]!,
      opcode: (flags >> 11) & 0xf,
      rd: (flags & DNS_RD) !== 0,
      aa: false,
      rcode: RCODE_FORMERR,
      question: null,
      answers: [],
      edns: false,
    });
  }
  if (!q || q.flags & DNS_QR) return null;
  const base = {
    id: q.id,
    opcode: q.opcode,
    rd: (q.flags & DNS_RD) !== 0,
    edns: q.edns !== null,
    ednsUdpSize: EDNS_UDP_SIZE,
  };
  const maxLen = q.edns ? Math.min(q.edns.udpSize, EDNS_UDP_SIZE) : DNS_UDP_MAX;
  const question = q.questions[0] ?? null;
  const fail = (rcode: number, withQuestion = true): Uint8Array =>
    buildResponse({ ...base, aa: false, rcode, question: withQuestion ? question : null, answers: [] }, maxLen);
  if (q.ednsDuplicate) return fail(RCODE_FORMERR);
  // RFC 6891 §6.1.3: a version we do not implement gets BADVERS (with our OPT, version 0).
  if (q.edns && q.edns.version > 0) return fail(RCODE_BADVERS, false);
  if (q.opcode !== OPCODE_QUERY) return fail(RCODE_NOTIMP);
  // Every implementation in use sends exactly one question (RFC 9619 makes it the rule).
  if (q.questions.length !== 1 || !question) return fail(RCODE_FORMERR, false);
  if (question.qclass !== CLASS_IN && question.qclass !== CLASS_ANY) return fail(RCODE_REFUSED);

  const labels = question.labels.map((l) => l.toLowerCase());
  const domain = cfg.domain?.toLowerCase().split('.') ?? [];
  // `name.<domain>` and `name` both mean the machine `name` (which may itself contain dots).
  let hostLabels = labels;
  if (
    domain.length &&
    labels.length > domain.length &&
    domain.every((d, i) => labels[labels.length - domain.length + i] === d)
  )
    hostLabels = labels.slice(0, labels.length - domain.length);
  const addrs = hostLabels.length ? await lookup(hostLabels.join('.')) : null;
  if (addrs === null) return buildResponse({ ...base, aa: true, rcode: RCODE_NXDOMAIN, question, answers: [] }, maxLen);
  const answers: DnsAnswerA[] =
    question.qtype === TYPE_A || question.qtype === TYPE_ANY ? addrs.map((addr) => ({ addr, ttl: cfg.ttl })) : [];
  return buildResponse({ ...base, aa: true, rcode: RCODE_NOERROR, question, answers }, maxLen);
}

/** The DNS server on a host stack: a UDP socket on <gateway>:53. */
export class DnsServer {
  private sock: UdpKernelSock | null = null;
  readonly counters = { queries: 0, answered: 0, dropped: 0 };
  /** Queries being answered (each reads the Store); a flood beyond MAX_INFLIGHT is dropped, as a busy server would. */
  private inflight = 0;
  static readonly MAX_INFLIGHT = 64;

  constructor(
    private readonly stack: HostStack,
    private readonly cfg: DnsConfig,
    private readonly lookup: DnsLookup,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  start(): void {
    if (this.sock) return;
    const r = udpKernelOpen(this.stack.ns, {
      addr: this.stack.address,
      port: DNS_PORT,
      onDatagram: (data, from) => {
        if (this.inflight >= DnsServer.MAX_INFLIGHT) {
          this.counters.dropped++;
          return;
        }
        this.inflight++;
        const copy = data.slice();
        void this.serve(copy, from.saddr, from.sport).finally(() => this.inflight--);
      },
    });
    if (typeof r === 'number') throw new Error(`dns: cannot bind UDP port ${DNS_PORT} (errno ${-r})`);
    this.sock = r;
  }

  private async serve(data: Uint8Array, saddr: number, sport: number): Promise<void> {
    this.counters.queries++;
    try {
      const reply = await answerDns(data, this.cfg, this.lookup);
      if (!reply || !this.sock) {
        this.counters.dropped++;
        return;
      }
      const r = udpKernelSend(this.sock, reply, saddr, sport, { saddr: this.stack.address });
      if (r < 0) this.log(`dns: answer to port ${sport} failed (errno ${-r})`);
      else this.counters.answered++;
    } catch (e) {
      this.counters.dropped++;
      this.log(`dns: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  stop(): void {
    if (this.sock) udpKernelClose(this.sock);
    this.sock = null;
  }
}

/** Addresses as strings to host order, skipping anything unparsable. */
export function addrsOf(ips: Array<string | null | undefined>): number[] {
  const out: number[] = [];
  for (const s of ips) {
    const a = s ? parseIp(s) : null;
    if (a !== null && !out.includes(a)) out.push(a);
  }
  return out;
}
