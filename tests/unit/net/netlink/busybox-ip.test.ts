// busybox `ip` over our rtnetlink, compared with Linux. Read-only commands run under
// qemu-riscv64-static too (qemu passes netlink to the host kernel, whose lo is the same
// everywhere) and the lo part must match; commands that change the configuration run only
// under labvisor (never on the host) and must print what Linux prints for them.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUSYBOX, runLabvisor, runQemu } from '../../../kernel/run.js';

const have = existsSync(BUSYBOX);

/** The block of `ip addr`/`ip link` output for interface 1 (lo), without IPv6 lines. */
function loBlock(out: string): string {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith('1: lo:'));
  if (start < 0) return '';
  const block = [lines[start]!];
  for (let i = start + 1; i < lines.length && lines[i]!.startsWith(' '); i++) block.push(lines[i]!);
  // Drop inet6 and the lifetime line that follows it: the guest kernel has no IPv6.
  const v4: string[] = [];
  for (let i = 0; i < block.length; i++) {
    if (block[i]!.trim().startsWith('inet6')) {
      i++;
      continue;
    }
    v4.push(block[i]!);
  }
  return v4.join('\n');
}

describe.skipIf(!have)('busybox ip over rtnetlink', () => {
  it('ip addr / ip link / ip route show table local / ip route get: lo as Linux shows it', async () => {
    const script = 'ip addr; echo @@; ip link; echo @@; ip route show table local; echo @@; ip route get 127.0.0.1';
    const [q, l] = await Promise.all([
      runQemu(BUSYBOX, ['sh', '-c', script]),
      runLabvisor(BUSYBOX, ['sh', '-c', script]),
    ]);
    expect(l.status).toBe(0);
    const qs = q.stdout.toString().split('@@\n');
    const ls = l.stdout.toString().split('@@\n');
    expect(loBlock(ls[0]!)).toBe(loBlock(qs[0]!));
    expect(loBlock(ls[0]!)).toBe(
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\n' +
        '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n' +
        '    inet 127.0.0.1/8 scope host lo\n' +
        '       valid_lft forever preferred_lft forever',
    );
    expect(loBlock(ls[1]!)).toBe(loBlock(qs[1]!));
    const loRoutes = (s: string) =>
      s
        .split('\n')
        .filter((x) => x.includes(' dev lo ') && !x.startsWith('broadcast 127.0.0.0 '))
        .join('\n');
    expect(loRoutes(ls[2]!)).toBe(loRoutes(qs[2]!));
    expect(ls[3]).toBe(qs[3]);
  }, 120_000);

  it('changes addresses, routes and links as Linux does', async () => {
    const script = [
      'ip addr add 10.9.0.1/24 brd + dev lo',
      'ip -4 addr show dev lo',
      'ip route add 10.7.0.0/16 dev lo',
      'ip route add 10.8.0.0/16 via 192.168.77.1; echo "unreachable gateway: $?"',
      'ip route',
      'ip route del 10.7.0.0/16',
      'ip route; echo "empty main: $?"',
      'ip addr add 10.9.0.1/24 dev lo; echo "again: $?"',
      'ip link set lo mtu 1500',
      'ip link set lo down',
      'ip link show lo',
      'ip link set lo up',
      'ip addr del 10.9.0.1/24 dev lo',
      'ip addr del 10.9.0.1/24 dev lo; echo "gone: $?"',
    ].join('\n');
    const l = await runLabvisor(BUSYBOX, ['sh', '-c', script]);
    expect(l.stderr.toString()).toBe(
      'ip: RTNETLINK answers: Network is unreachable\n' +
        'ip: RTNETLINK answers: File exists\n' +
        'ip: RTNETLINK answers: Cannot assign requested address\n',
    );
    expect(l.stdout.toString()).toBe(
      [
        '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000',
        '    inet 127.0.0.1/8 scope host lo',
        '       valid_lft forever preferred_lft forever',
        '    inet 10.9.0.1/24 brd 10.9.0.255 scope global lo',
        '       valid_lft forever preferred_lft forever',
        'unreachable gateway: 2',
        '10.7.0.0/16 dev lo scope link ',
        'empty main: 0',
        'again: 2',
        '1: lo: <LOOPBACK> mtu 1500 qdisc noqueue qlen 1000',
        '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
        'gone: 2',
        '',
      ].join('\n'),
    );
  }, 120_000);
});
