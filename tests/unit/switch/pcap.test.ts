/**
 * pcap.ts and capture.ts: the file format (checked by parsing it here and by tshark), the
 * bounded buffer that drops for a slow reader, and live captures attached to a switch.
 * tshark is required (Debian package `tshark`): without it the test fails, it does not skip.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureSet } from '../../../src/switch/capture.js';
import { formatMac, nicMac, parseMac } from '../../../src/switch/ethernet.js';
import { LINKTYPE_ETHERNET, PCAP_CONTENT_TYPE, PcapStream, parsePcap } from '../../../src/switch/pcap.js';
import { Switch, type SwitchPort } from '../../../src/switch/switch.js';

const dir = mkdtempSync(join(tmpdir(), 'labvisor-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function frame(dst: string, src: string, len = 60, type = 0x88b5): Uint8Array {
  const f = new Uint8Array(len);
  f.set(parseMac(dst), 0);
  f.set(parseMac(src), 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  return f;
}

/** Everything the stream produces until it ends. */
async function collect(s: PcapStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of s) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function tshark(file: string): string[] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'eth.src', '-e', 'eth.dst'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out.trim().split('\n');
}

describe('pcap writer', () => {
  it('writes a classic pcap file that tshark reads', async () => {
    const a = formatMac(nicMac('vm-a', 0));
    const b = formatMac(nicMac('vm-b', 0));
    const s = new PcapStream({ clockUs: () => 1_700_000_000_123_456 });
    expect(s.writeFrame(frame('ff:ff:ff:ff:ff:ff', a, 42, 0x0806))).toBe(true);
    expect(s.writeFrame(frame(a, b, 60, 0x0806))).toBe(true);
    expect(s.writeFrame(frame(b, a, 1514, 0x0800), 1_700_000_001_000_001)).toBe(true);
    s.finish();
    expect(s.writeFrame(frame(b, a))).toBe(false); // closed
    const bytes = await collect(s);
    const file = join(dir, 'three.pcap');
    writeFileSync(file, bytes);

    // The header, parsed here.
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(bytes.readUInt16LE(4)).toBe(2);
    expect(bytes.readUInt16LE(6)).toBe(4);
    expect(bytes.readUInt32LE(16)).toBe(262144);
    expect(bytes.readUInt32LE(20)).toBe(LINKTYPE_ETHERNET);
    const p = parsePcap(bytes);
    expect(p.packets.map((x) => x.data.length)).toEqual([42, 60, 1514]);
    expect(p.packets[0]!.tsSec).toBe(1_700_000_000);
    expect(p.packets[0]!.tsUsec).toBe(123_456);
    expect(p.packets[2]!.tsUsec).toBe(1);
    expect(formatMac(p.packets[1]!.data, 6)).toBe(b);

    // And by tshark.
    expect(tshark(file)).toEqual([`${a}\tff:ff:ff:ff:ff:ff`, `${b}\t${a}`, `${a}\t${b}`]);
    expect(PCAP_CONTENT_TYPE).toBe('application/vnd.tcpdump.pcap');
  });

  it('truncates to snaplen and keeps the original length', async () => {
    const s = new PcapStream({ snaplen: 64 });
    s.writeFrame(frame('02:00:00:00:00:01', '02:00:00:00:00:02', 1000));
    s.finish();
    const p = parsePcap(await collect(s));
    expect(p.snaplen).toBe(64);
    expect(p.packets[0]!.data.length).toBe(64);
    expect(p.packets[0]!.origLen).toBe(1000);
  });

  it('drops and counts packets when the reader does not keep up, instead of growing', async () => {
    const s = new PcapStream({ maxBufferedBytes: 64 * 1024 });
    const f = frame('02:00:00:00:00:01', '02:00:00:00:00:02', 1514);
    let ok = 0;
    for (let i = 0; i < 1000; i++) if (s.writeFrame(f)) ok++;
    expect(ok).toBe(Math.floor((64 * 1024 - 24) / (1514 + 16)));
    expect(s.dropped).toBe(1000 - ok);
    expect(s.packets).toBe(ok);
    expect(s.readableLength).toBeLessThanOrEqual(64 * 1024);
    s.finish();
    expect(parsePcap(await collect(s)).packets.length).toBe(ok);
  });
});

describe('live capture on a switch', () => {
  it('sees every frame entering from any port once, for each of several captures', async () => {
    const sw = new Switch();
    const drain = (p: SwitchPort) => {
      while (p.dequeue() !== null);
    };
    const ports = [0, 1, 2].map(() => sw.addPort({ onEgress: drain }));
    const set = new CaptureSet(sw);
    const all1 = set.open();
    const all2 = set.open();
    const onlyB = set.open({ port: ports[1] });
    expect(set.size).toBe(3);
    expect(sw.tapCount).toBe(3);
    const A = '02:00:00:00:00:0a';
    const B = '02:00:00:00:00:0b';
    ports[0]!.input(frame('ff:ff:ff:ff:ff:ff', A));
    ports[1]!.input(frame(A, B));
    ports[0]!.input(frame(B, A));
    ports[0]!.input(new Uint8Array(10)); // a runt is captured too: the capture shows what arrived
    all2.detach();
    ports[1]!.input(frame(A, B, 80));
    set.closeAll();
    expect(set.size).toBe(0);
    expect(sw.tapCount).toBe(0);
    const [b1, b2, b3] = await Promise.all([collect(all1.stream), collect(all2.stream), collect(onlyB.stream)]);
    expect(parsePcap(b1).packets.map((p) => p.data.length)).toEqual([60, 60, 60, 10, 80]);
    expect(parsePcap(b2).packets.length).toBe(4);
    expect(parsePcap(b3).packets.map((p) => p.data.length)).toEqual([60, 80]);
    const file = join(dir, 'live.pcap');
    writeFileSync(file, b3);
    expect(tshark(file)).toEqual([`${B}\t${A}`, `${B}\t${A}`]);
    expect(readFileSync(file).length).toBe(b3.length);
  });

  it('stops after maxFrames, and detaches when its reader goes away', async () => {
    const sw = new Switch();
    const pa = sw.addPort();
    sw.addPort({ onEgress: (p) => void p.dequeue() });
    const set = new CaptureSet(sw);
    const c = set.open({ maxFrames: 2 });
    for (let i = 0; i < 5; i++) pa.input(frame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:0a'));
    expect(c.active).toBe(false);
    expect(parsePcap(await collect(c.stream)).packets.length).toBe(2);

    const d = set.open();
    pa.input(frame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:0a'));
    d.stream.destroy(); // the HTTP client hung up
    await new Promise((r) => setImmediate(r));
    expect(d.active).toBe(false);
    expect(sw.tapCount).toBe(0);
    expect(set.size).toBe(0);
  });
});

describe('capture served by fastify', () => {
  it('streams pcap as application/vnd.tcpdump.pcap and detaches when the client hangs up', async () => {
    const { default: Fastify } = await import('fastify');
    const http = await import('node:http');
    const sw = new Switch();
    const pa = sw.addPort();
    sw.addPort({ onEgress: (p) => void p.dequeue() });
    const set = new CaptureSet(sw);
    const app = Fastify();
    app.get('/capture', (req, reply) => {
      const max = Number((req.query as { count?: string }).count ?? 0);
      const c = set.open(max > 0 ? { maxFrames: max } : {});
      return reply.type(PCAP_CONTENT_TYPE).send(c.stream);
    });
    try {
      // A bounded capture: the response ends after two frames.
      const pending = app.inject({ method: 'GET', url: '/capture?count=2' });
      const pump = setInterval(() => pa.input(frame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:0a')), 5);
      const res = await pending;
      clearInterval(pump);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe(PCAP_CONTENT_TYPE);
      expect(parsePcap(res.rawPayload).packets.length).toBe(2);

      // An endless capture whose client goes away: the tap must go with it.
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${address}/capture`, (res2) => {
          res2.once('data', () => {
            expect(set.size).toBe(1);
            req.destroy();
            resolve();
          });
        });
        req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)));
        setTimeout(() => pa.input(frame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:0a')), 20);
      });
      for (let i = 0; i < 100 && sw.tapCount > 0; i++) {
        pa.input(frame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:0a'));
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(sw.tapCount).toBe(0);
      expect(set.size).toBe(0);
    } finally {
      await app.close();
    }
  });
});
