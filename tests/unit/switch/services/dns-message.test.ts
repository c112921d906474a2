/**
 * The DNS codec (RFC 1035 §4.1): a query laid out as `dig vm-b.lab` sends it (EDNS with a
 * cookie), names with compression pointers, pointer loops and other malformed names refused,
 * and responses (answers as pointers to the question, truncation) read back.
 */
import { describe, expect, it } from 'vitest';
import {
  DNS_AA,
  DNS_QR,
  DNS_TC,
  DnsFormatError,
  TYPE_A,
  TYPE_AAAA,
  buildQuery,
  buildResponse,
  parseQuery,
  parseResponse,
  readName,
} from '../../../../src/switch/services/dns-message.js';

/** `dig vm-b.lab` (BIND 9.18): id, RD + AD, one question, an OPT with size 1232 and a client cookie. */
function digQuery(): Uint8Array {
  return new Uint8Array([
    0x1a,
    0x2b,
    0x01,
    0x20,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    1,
    4,
    ...Buffer.from('vm-b'),
    3,
    ...Buffer.from('lab'),
    0,
    0,
    1,
    0,
    1,
    0,
    0,
    41,
    0x04,
    0xd0,
    0,
    0,
    0,
    0,
    0,
    12,
    0,
    10,
    0,
    8,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
  ]);
}

describe('parseQuery', () => {
  it("reads dig's query with its EDNS OPT record", () => {
    const q = parseQuery(digQuery())!;
    expect(q.id).toBe(0x1a2b);
    expect(q.opcode).toBe(0);
    expect(q.flags & 0x0100).toBe(0x0100);
    expect(q.questions).toEqual([{ labels: ['vm-b', 'lab'], qtype: TYPE_A, qclass: 1 }]);
    expect(q.edns).toEqual({ udpSize: 1232, version: 0, dnssecOk: false });
    expect(q.ednsDuplicate).toBe(false);
  });

  it('keeps the case of the name as sent (0x20 resolvers check the echo)', () => {
    const q = parseQuery(buildQuery({ id: 7, name: 'Vm-B.LaB', qtype: TYPE_AAAA }))!;
    expect(q.questions[0]!.labels).toEqual(['Vm-B', 'LaB']);
    expect(q.edns).toBeNull();
  });

  it('returns null below a header and throws FORMERR material on truncated questions', () => {
    expect(parseQuery(new Uint8Array(11))).toBeNull();
    const q = digQuery();
    expect(() => parseQuery(q.subarray(0, 20))).toThrow(DnsFormatError);
    expect(() => parseQuery(q.subarray(0, 24))).toThrow(DnsFormatError); // name ends, qtype cut
    expect(() => parseQuery(q.subarray(0, q.length - 3))).toThrow(DnsFormatError); // OPT rdata cut
  });

  it('marks two OPT records', () => {
    const q = digQuery();
    const two = new Uint8Array([...q, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    two[11] = 2;
    expect(parseQuery(two)!.ednsDuplicate).toBe(true);
  });
});

describe('readName', () => {
  it('follows a backward compression pointer (RFC 1035 §4.1.4)', () => {
    // "lab" at 12, then "vm-b" + pointer to 12 at 17.
    const b = new Uint8Array([...new Uint8Array(12), 3, 108, 97, 98, 0, 4, 118, 109, 45, 98, 0xc0, 12]);
    expect(readName(b, 17)).toEqual({ labels: ['vm-b', 'lab'], end: 24 });
  });

  it('refuses a pointer to itself, a forward pointer and a pair pointing at each other', () => {
    const self = new Uint8Array([...new Uint8Array(12), 0xc0, 12]);
    expect(() => readName(self, 12)).toThrow(/backwards/);
    const forward = new Uint8Array([...new Uint8Array(12), 0xc0, 14, 1, 97, 0]);
    expect(() => readName(forward, 12)).toThrow(/backwards/);
    // 12 -> 14 would be forward; 14 -> 12 then 12 -> 14 is a loop caught by the "strictly backwards" rule.
    const pair = new Uint8Array([...new Uint8Array(12), 0xc0, 14, 0xc0, 12]);
    expect(() => readName(pair, 14)).toThrow(/backwards/);
  });

  it('refuses reserved label types, names over 255 bytes and labels past the end', () => {
    expect(() => readName(new Uint8Array([0x40, 0]), 0)).toThrow(/label type/);
    expect(() => readName(new Uint8Array([0x80, 0]), 0)).toThrow(/label type/);
    const long: number[] = [];
    for (let i = 0; i < 5; i++) long.push(63, ...new Array<number>(63).fill(97));
    long.push(0);
    expect(() => readName(new Uint8Array(long), 0)).toThrow(/255/);
    expect(() => readName(new Uint8Array([5, 97, 98]), 0)).toThrow(/past the end/);
    expect(() => readName(new Uint8Array([1, 97]), 0)).toThrow(/past the end/);
  });

  it('bounds a chain of many pointers (each one strictly earlier)', () => {
    // 200 pointers each to the previous pair, ending at a root label at 0: terminates.
    const b = [0];
    for (let i = 0; i < 200; i++) b.push(0xc0, i === 0 ? 0 : 1 + (i - 1) * 2);
    expect(readName(new Uint8Array(b), b.length - 2)).toEqual({ labels: [], end: b.length });
  });
});

describe('buildResponse', () => {
  const question = { labels: ['vm-b', 'lab'], qtype: TYPE_A, qclass: 1 };

  it('answers A records owned by a pointer to the question, with an OPT record', () => {
    const b = buildResponse({
      id: 0x1a2b,
      opcode: 0,
      rd: true,
      aa: true,
      rcode: 0,
      question,
      answers: [{ addr: 0x0a000003, ttl: 60 }],
      edns: true,
      ednsUdpSize: 1232,
    });
    const r = parseResponse(b);
    expect(r.id).toBe(0x1a2b);
    expect(r.flags & DNS_QR).toBe(DNS_QR);
    expect(r.flags & DNS_AA).toBe(DNS_AA);
    expect(r.flags & 0x0100).toBe(0x0100);
    expect(r.rcode).toBe(0);
    expect(r.question).toEqual(question);
    expect(r.answers).toHaveLength(1);
    expect(r.answers[0]).toMatchObject({ name: ['vm-b', 'lab'], type: TYPE_A, klass: 1, ttl: 60 });
    expect([...r.answers[0]!.data]).toEqual([10, 0, 0, 3]);
    // The owner is the 2-byte pointer 0xc00c.
    const ownerAt = 12 + 1 + 4 + 1 + 3 + 1 + 4;
    expect([b[ownerAt], b[ownerAt + 1]]).toEqual([0xc0, 12]);
    expect(r.additional).toHaveLength(1);
    expect(r.additional[0]).toMatchObject({ name: [], type: 41, klass: 1232 });
  });

  it('truncates (TC, no answers) when the answers do not fit', () => {
    const answers = Array.from({ length: 40 }, (_, i) => ({ addr: 0x0a000000 + i, ttl: 60 }));
    const b = buildResponse({ id: 1, opcode: 0, rd: false, aa: true, rcode: 0, question, answers, edns: false });
    expect(b.length).toBeLessThanOrEqual(512);
    const r = parseResponse(b);
    expect(r.flags & DNS_TC).toBe(DNS_TC);
    expect(r.answers).toHaveLength(0);
    expect(r.question).toEqual(question);
  });

  it('puts the upper bits of an extended RCODE in the OPT record (BADVERS = 16)', () => {
    const b = buildResponse({
      id: 1,
      opcode: 0,
      rd: false,
      aa: false,
      rcode: 16,
      question: null,
      answers: [],
      edns: true,
    });
    const r = parseResponse(b);
    expect(r.rcode).toBe(0);
    expect(r.additional[0]!.ttl >>> 24).toBe(1);
  });
});
