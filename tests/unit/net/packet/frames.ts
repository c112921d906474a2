/** busybox udhcpc's socket filter (networking/udhcp/dhcpc.c filter_instr): IPv4 UDP to port 68, not a fragment. */
export const UDHCPC_FILTER = (() => {
  const ins: [number, number, number, number][] = [
    [0x30, 0, 0, 9], // ld [9] (protocol)
    [0x15, 0, 6, 17], // jeq #IPPROTO_UDP, L1, L4
    [0x28, 0, 0, 6], // L1: ldh [6]
    [0x45, 4, 0, 0x1fff], // jset #0x1fff, L4, L2
    [0xb1, 0, 0, 0], // L2: ldxb 4*([0]&0xf)
    [0x48, 0, 0, 2], // ldh [x+2]
    [0x15, 0, 1, 68], // jeq #68, L3, L4
    [0x06, 0, 0, 0x7fffffff], // L3: ret #0x7fffffff
    [0x06, 0, 0, 0], // L4: ret #0
  ];
  const b = new Uint8Array(ins.length * 8);
  const dv = new DataView(b.buffer);
  ins.forEach(([code, jt, jf, k], i) => {
    dv.setUint16(i * 8, code, true);
    b[i * 8 + 2] = jt;
    b[i * 8 + 3] = jf;
    dv.setUint32(i * 8 + 4, k >>> 0, true);
  });
  return b;
})();

/** An IPv4 + UDP datagram (no checksums needed by the filter) from 10.0.0.1:40000 to 255.255.255.255:`dport`. */
export function ipUdp(dport: number, payload: Uint8Array, opts: { proto?: number; frag?: number } = {}): Uint8Array {
  const b = new Uint8Array(28 + payload.length);
  const dv = new DataView(b.buffer);
  b[0] = 0x45;
  dv.setUint16(2, b.length);
  dv.setUint16(6, opts.frag ?? 0);
  b[8] = 64;
  b[9] = opts.proto ?? 17;
  b.set([10, 0, 0, 1, 255, 255, 255, 255], 12);
  dv.setUint16(20, 40000);
  dv.setUint16(22, dport);
  dv.setUint16(24, 8 + payload.length);
  b.set(payload, 28);
  return b;
}
