import type { Kernel } from '../../kernel.js';
import { memDevList } from '../../drivers/mem.js';
import { lookupChrdev } from '../char_dev.js';
import { makeDev } from '../super.js';

/**
 * The sysfs tree (the kobject hierarchy that kernfs shows, drivers/base/core.c): devices
 * under /sys/devices with `dev` and `uevent` attributes, the class and block views as
 * symlinks into it, /sys/dev/{char,block}/MAJ:MIN links (what `mdev -s` and udev scan), the
 * CPU topology of the one hart, and a few /sys/kernel attributes. Built from what the kernel
 * has registered: character devices only appear once their driver is registered, disks from
 * kernel.disks.
 */

/** A node of the tree: a directory, an attribute file, or a symlink (relative, as sysfs makes them). */
export type SysNode =
  | { kind: 'dir'; children: Map<string, SysNode> }
  | { kind: 'attr'; show: () => string; mode: number }
  | { kind: 'link'; target: string };

const dir = (): SysNode & { kind: 'dir' } => ({ kind: 'dir', children: new Map() });
const attr = (show: () => string, mode = 0o444): SysNode => ({ kind: 'attr', show, mode });

/** mkdir -p inside the tree; returns the directory. */
function mkdirp(root: SysNode & { kind: 'dir' }, path: string): SysNode & { kind: 'dir' } {
  let d = root;
  for (const part of path.split('/').filter(Boolean)) {
    const n = d.children.get(part);
    if (n && n.kind === 'dir') {
      d = n;
      continue;
    }
    const fresh = dir();
    d.children.set(part, fresh);
    d = fresh;
  }
  return d;
}

function put(root: SysNode & { kind: 'dir' }, path: string, node: SysNode): void {
  const i = path.lastIndexOf('/');
  mkdirp(root, path.slice(0, i)).children.set(path.slice(i + 1), node);
}

/** The relative path from directory `from` to `to` (both absolute under /sys), as sysfs_create_link writes. */
function relLink(from: string, to: string): string {
  const a = from.split('/').filter(Boolean);
  const b = to.split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}

interface SysDevice {
  /** Path under /sys/devices. */
  path: string;
  name: string;
  cls: string;
  major: number;
  minor: number;
  block: boolean;
  extra?: Record<string, () => string>;
}

/** The character devices whose drivers are registered, where Linux puts them. */
function charDevices(): SysDevice[] {
  const out: SysDevice[] = [];
  const add = (path: string, name: string, cls: string, major: number, minor: number): void => {
    if (lookupChrdev(makeDev(major, minor)))
      out.push({ path: `${path}/${name}`, name, cls, major, minor, block: false });
  };
  for (const m of memDevList) add('virtual/mem', m.name, 'mem', 1, m.minor);
  add('virtual/mem', 'kmsg', 'mem', 1, 11);
  add('virtual/tty', 'tty', 'tty', 5, 0);
  add('virtual/tty', 'console', 'tty', 5, 1);
  add('virtual/tty', 'ptmx', 'tty', 5, 2);
  add('platform/soc/10000000.serial/tty', 'ttyS0', 'tty', 4, 64);
  return out;
}

/** Build /sys for `k` (on every lookup from the root: devices come and go with drivers). */
export function buildSysfs(k: Kernel | null): SysNode & { kind: 'dir' } {
  const root = dir();
  for (const d of ['block', 'bus', 'class', 'dev/block', 'dev/char', 'devices', 'firmware', 'fs', 'kernel', 'power'])
    mkdirp(root, d);
  mkdirp(root, 'class/net');
  mkdirp(root, 'fs/cgroup');

  const devices: SysDevice[] = charDevices();
  for (const disk of k?.disks ?? []) {
    const s = disk.stats;
    devices.push({
      path: `platform/soc/10001000.virtio_mmio/virtio0/block/${disk.name}`,
      name: disk.name,
      cls: 'block',
      major: disk.major,
      minor: disk.minor,
      block: true,
      extra: {
        size: () => `${disk.sectors}\n`,
        ro: () => `${disk.readOnly ? 1 : 0}\n`,
        removable: () => '0\n',
        // part_stat_show: 17 fields, each %8lu (ios, merges, sectors, ticks; reads, writes, ...).
        stat: () =>
          [
            s.reads,
            s.readMerges,
            s.readSectors,
            s.readTicksMs,
            s.writes,
            s.writeMerges,
            s.writeSectors,
            s.writeTicksMs,
            s.inFlight,
            s.ioTicksMs,
            s.timeInQueueMs,
            0,
            0,
            0,
            0,
            s.flushes,
            s.flushTicksMs,
          ]
            .map((v) => String(Math.floor(v)).padStart(8))
            .join(' ') + '\n',
      },
    });
  }

  for (const d of devices) {
    const abs = `/devices/${d.path}`;
    const dd = mkdirp(root, abs);
    const devno = `${d.major}:${d.minor}`;
    dd.children.set(
      'dev',
      attr(() => `${devno}\n`),
    );
    // dev_uevent: what mdev/udev read to name the node.
    dd.children.set(
      'uevent',
      attr(() => `MAJOR=${d.major}\nMINOR=${d.minor}\nDEVNAME=${d.name}${d.block ? '\nDEVTYPE=disk' : ''}\n`, 0o644),
    );
    dd.children.set('subsystem', { kind: 'link', target: relLink(abs, `/class/${d.cls}`) });
    for (const [name, show] of Object.entries(d.extra ?? {})) dd.children.set(name, attr(show));
    put(root, `/class/${d.cls}/${d.name}`, { kind: 'link', target: relLink(`/class/${d.cls}`, abs) });
    if (d.block) put(root, `/block/${d.name}`, { kind: 'link', target: relLink('/block', abs) });
    put(root, `/dev/${d.block ? 'block' : 'char'}/${devno}`, {
      kind: 'link',
      target: relLink(`/dev/${d.block ? 'block' : 'char'}`, abs),
    });
  }

  // Network devices (net/core/net-sysfs.c): virtual ones (lo) under /devices/virtual/net,
  // the NICs under their virtio-mmio slots; /class/net links to each.
  for (const nd of k?.net?.devices.values() ?? []) {
    const abs =
      nd.flags & 0x8 /* IFF_LOOPBACK */
        ? `/devices/virtual/net/${nd.name}`
        : `/devices/platform/soc/${(0x10008000 + nd.ifindex * 0x1000).toString(16)}.virtio_mmio/virtio${nd.ifindex}/net/${nd.name}`;
    const nn = mkdirp(root, abs);
    const mac = (a: Uint8Array): string => [...a].map((b) => b.toString(16).padStart(2, '0')).join(':');
    const operstates = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];
    const attrs: Record<string, () => string> = {
      addr_assign_type: () => '0',
      addr_len: () => String(nd.addr.length),
      address: () => mac(nd.addr),
      broadcast: () => mac(nd.broadcast),
      carrier: () => (nd.carrier ? '1' : '0'),
      dev_id: () => '0x0',
      dormant: () => '0',
      // dev->flags as stored: IFF_RUNNING/IFF_LOWER_UP are derived state (dev_get_flags), not shown here.
      flags: () => `0x${(nd.flags & 0xffff & ~0x40).toString(16)}`,
      ifalias: () => nd.alias,
      ifindex: () => String(nd.ifindex),
      iflink: () => String(nd.ifindex),
      mtu: () => String(nd.mtu),
      operstate: () => operstates[nd.operState] ?? 'unknown',
      tx_queue_len: () => String(nd.txQueueLen),
      type: () => String(nd.type),
    };
    for (const [name, show] of Object.entries(attrs))
      nn.children.set(
        name,
        attr(() => `${show()}\n`),
      );
    nn.children.set(
      'uevent',
      attr(() => `INTERFACE=${nd.name}\nIFINDEX=${nd.ifindex}\n`, 0o644),
    );
    nn.children.set('subsystem', { kind: 'link', target: relLink(abs, '/class/net') });
    const st = mkdirp(root, `${abs}/statistics`);
    const stats: Record<string, () => number> = {
      collisions: () => nd.stats.collisions,
      multicast: () => nd.stats.multicast,
      rx_bytes: () => nd.stats.rxBytes,
      rx_dropped: () => nd.stats.rxDropped,
      rx_errors: () => nd.stats.rxErrors,
      rx_fifo_errors: () => nd.stats.rxFifoErrors,
      rx_length_errors: () => nd.stats.rxLengthErrors,
      rx_packets: () => nd.stats.rxPackets,
      tx_bytes: () => nd.stats.txBytes,
      tx_dropped: () => nd.stats.txDropped,
      tx_errors: () => nd.stats.txErrors,
      tx_packets: () => nd.stats.txPackets,
    };
    for (const [name, v] of Object.entries(stats))
      st.children.set(
        name,
        attr(() => `${v()}\n`),
      );
    put(root, `/class/net/${nd.name}`, { kind: 'link', target: relLink('/class/net', abs) });
  }

  // The CPU topology of the one hart (drivers/base/cpu.c).
  const cpu = mkdirp(root, '/devices/system/cpu');
  cpu.children.set(
    'online',
    attr(() => '0\n'),
  );
  cpu.children.set(
    'possible',
    attr(() => '0\n'),
  );
  cpu.children.set(
    'present',
    attr(() => '0\n'),
  );
  cpu.children.set(
    'offline',
    attr(() => '\n'),
  );
  cpu.children.set(
    'kernel_max',
    attr(() => '0\n'),
  );
  mkdirp(root, '/devices/system/cpu/cpu0').children.set(
    'uevent',
    attr(() => 'DRIVER=processor\n', 0o644),
  );

  // /sys/kernel (kernel/ksysfs.c).
  const kern = mkdirp(root, '/kernel');
  kern.children.set(
    'uevent_seqnum',
    attr(() => '0\n'),
  );
  kern.children.set(
    'uevent_helper',
    attr(() => '\n', 0o644),
  );
  kern.children.set(
    'profiling',
    attr(() => '0\n', 0o644),
  );
  mkdirp(root, '/kernel/mm');
  mkdirp(root, '/kernel/debug');
  mkdirp(root, '/kernel/security');
  return root;
}
