/**
 * The DNS server's answers (RFC 1035 §4.1.1 RCODEs, RFC 6891 EDNS, RFC 2308 NODATA), without
 * sockets: answerDns with the names of a small lab.
 */
import { describe, expect, it } from 'vitest';
import {
  CLASS_IN,
  DNS_AA,
  DNS_QR,
  TYPE_A,
  TYPE_AAAA,
  TYPE_ANY,
  TYPE_MX,
  buildQuery,
  parseResponse,
} from '../../../../src/switch/services/dns-message.js';
import { answerDns, type DnsConfig } from '../../../../src/switch/services/dns-server.js';

const CFG: DnsConfig = { domain: 'lab', ttl: 10 };
const MACHINES: Record<string, number[]> = {
  'vm-a': [0x0a000002],
  'vm-b': [0x0a000003, 0x0a000103],
  'web.1': [0x0a000004],
  booting: [],
};
const lookups: string[] = [];
const lookup = async (name: string): Promise<number[] | null> => {
  lookups.push(name);
  return MACHINES[name] ?? null;
};

async function ask(q: Uint8Array) {
  const r = await answerDns(q, CFG, lookup);
  return r === null ? null : { ...parseResponse(r), bytes: r };
}

const ips = (r: { answers: Array<{ data: Uint8Array }> }) => r.answers.map((a) => [...a.data].join('.'));

describe('answerDns', () => {
  it('answers A for `name` and `name.lab`, any case, authoritative, RD echoed, with the TTL', async () => {
    const r = (await ask(buildQuery({ id: 0x1234, name: 'vm-a.lab', qtype: TYPE_A })))!;
    expect(r.id).toBe(0x1234);
    expect(r.flags & DNS_QR).toBe(DNS_QR);
    expect(r.flags & DNS_AA).toBe(DNS_AA);
    expect(r.flags & 0x0100).toBe(0x0100);
    expect(r.flags & 0x0080).toBe(0); // not recursive
    expect(r.rcode).toBe(0);
    expect(ips(r)).toEqual(['10.0.0.2']);
    expect(r.answers[0]!.ttl).toBe(10);
    const b = (await ask(buildQuery({ id: 2, name: 'VM-B', qtype: TYPE_A, rd: false })))!;
    expect(b.flags & 0x0100).toBe(0);
    expect(ips(b)).toEqual(['10.0.0.3', '10.0.1.3']);
    expect(b.question!.labels).toEqual(['VM-B']);
    expect(ips((await ask(buildQuery({ id: 3, name: 'Web.1.LAB.', qtype: TYPE_A })))!)).toEqual(['10.0.0.4']);
    expect(lookups.slice(-3)).toEqual(['vm-a', 'vm-b', 'web.1']);
  });

  it('answers NODATA (NOERROR, no answer) for AAAA, MX, and a machine without an address yet', async () => {
    for (const [name, qtype] of [
      ['vm-a.lab', TYPE_AAAA],
      ['vm-a', TYPE_MX],
      ['booting.lab', TYPE_A],
    ] as const) {
      const r = (await ask(buildQuery({ id: 5, name, qtype })))!;
      expect(r.rcode, name).toBe(0);
      expect(r.answers, name).toEqual([]);
      expect(r.flags & DNS_AA).toBe(DNS_AA);
    }
    expect(ips((await ask(buildQuery({ id: 6, name: 'vm-a', qtype: TYPE_ANY })))!)).toEqual(['10.0.0.2']);
  });

  it('answers NXDOMAIN for unknown names, the bare domain and names elsewhere', async () => {
    for (const name of ['nobody', 'nobody.lab', 'lab', 'example.org', 'vm-a.other']) {
      const r = (await ask(buildQuery({ id: 7, name, qtype: TYPE_A })))!;
      expect(r.rcode, name).toBe(3);
      expect(r.answers).toEqual([]);
    }
  });

  it('echoes EDNS with its own payload size; version 1 gets BADVERS', async () => {
    const r = (await ask(buildQuery({ id: 8, name: 'vm-a', qtype: TYPE_A, edns: { udpSize: 4096 } })))!;
    expect(r.additional).toHaveLength(1);
    expect(r.additional[0]).toMatchObject({ type: 41, klass: 1232, ttl: 0 });
    const v1 = (await ask(buildQuery({ id: 9, name: 'vm-a', qtype: TYPE_A, edns: { udpSize: 4096, version: 1 } })))!;
    expect(v1.rcode).toBe(0); // the low 4 bits of 16
    expect(v1.additional[0]!.ttl >>> 24).toBe(1);
    expect(v1.answers).toEqual([]);
  });

  it('answers FORMERR for a malformed question, and nothing for responses or scraps', async () => {
    const q = buildQuery({ id: 10, name: 'vm-a.lab', qtype: TYPE_A });
    const cut = (await ask(q.subarray(0, q.length - 2)))!;
    expect(cut.id).toBe(10);
    expect(cut.rcode).toBe(1);
    expect(cut.question).toBeNull();
    // A compression loop in the question.
    const loop = new Uint8Array([0, 11, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect((await ask(loop))!.rcode).toBe(1);
    // Two questions.
    const two = new Uint8Array([...q.subarray(0, 4), 0, 2, ...q.subarray(6), ...q.subarray(12)]);
    expect((await ask(two))!.rcode).toBe(1);
    // A response is never answered (no reflection loops), nor is something shorter than a header.
    const resp = q.slice();
    resp[2]! |= 0x80;
    expect(await ask(resp)).toBeNull();
    expect(await ask(new Uint8Array(5))).toBeNull();
  });

  it('answers NOTIMP for opcodes other than QUERY and REFUSED for classes other than IN', async () => {
    const notify = buildQuery({ id: 11, name: 'vm-a', qtype: TYPE_A });
    notify[2] = (4 << 3) | (notify[2]! & 1); // opcode 4 (NOTIFY)
    expect((await ask(notify))!.rcode).toBe(4);
    const chaos = buildQuery({ id: 12, name: 'version.bind', qtype: 16, qclass: 3 });
    expect((await ask(chaos))!.rcode).toBe(5);
    expect((await ask(buildQuery({ id: 13, name: 'vm-a', qtype: TYPE_A, qclass: CLASS_IN })))!.rcode).toBe(0);
  });
});
