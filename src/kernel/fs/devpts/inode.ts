/**
 * devpts (fs/devpts/inode.c): the filesystem holding the pty slave nodes /dev/pts/N
 * (136:N, created at ptmx open, removed when the master closes) and its own `ptmx` (5:2).
 * Mount options as Linux parses them: uid=, gid=, mode= (slave nodes, default 0600),
 * ptmxmode= (default 0000), max=, newinstance (always a new instance here).
 */
import { EINVAL, ENOSPC } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import type { Cred } from '../../sched/task.js';
import { initSpecialInode } from '../char_dev.js';
import { Dentry, type DentryOperations } from '../dcache.js';
import type { DirEntry, File, FileOperations } from '../file.js';
import { Inode, type InodeOperations } from '../inode.js';
import { SuperBlock, getAnonDev, makeDev, simpleStatfs, type TimeSource } from '../super.js';
import { DEVPTS_SUPER_MAGIC, DT_CHR, S_IFCHR, S_IFDIR } from '../uapi.js';

const DEVPTS_ROOT_INO = 1;
const PTMX_INO = 2;
/** DEVPTS_DEFAULT_MODE / DEVPTS_DEFAULT_PTMX_MODE. */
const DEVPTS_DEFAULT_MODE = 0o600;
const DEVPTS_DEFAULT_PTMX_MODE = 0o000;
const NR_UNIX98_PTY_MAX = 1 << 20;
const UNIX98_PTY_SLAVE_MAJOR = 136;

export interface DevptsOptions {
  uid: number | null;
  gid: number | null;
  mode: number;
  ptmxmode: number;
  max: number;
}

/** struct pts_fs_info: options, the index allocator, the live slave nodes. */
export class PtsFsInfo {
  readonly used = new Set<number>();
  readonly nodes = new Map<number, Inode>();
  ptmx!: Inode;
  constructor(readonly opts: DevptsOptions) {}
}

/** devpts_new_index: the lowest free pty number (ida_alloc_max), -ENOSPC past max. */
export function devptsNewIndex(fsi: PtsFsInfo): number {
  for (let i = 0; i < fsi.opts.max; i++) {
    if (!fsi.used.has(i)) {
      fsi.used.add(i);
      return i;
    }
  }
  return -ENOSPC;
}

export function devptsKillIndex(fsi: PtsFsInfo, index: number): void {
  fsi.used.delete(index);
}

/**
 * devpts_pty_new: the node pts/N for a new slave: owner the opener (or uid=), group gid= or the
 * opener's, mode from mode=; its private data is the slave tty (devpts_get_priv).
 */
export function devptsPtyNew(fsi: PtsFsInfo, index: number, priv: unknown, cred: Cred): Inode {
  const sb = fsi.ptmx.sb;
  const inode = new Inode(sb, index + 3, S_IFCHR | fsi.opts.mode, {}, {});
  initSpecialInode(inode, S_IFCHR | fsi.opts.mode, makeDev(UNIX98_PTY_SLAVE_MAJOR, index));
  inode.uid = fsi.opts.uid ?? cred.fsuid;
  inode.gid = fsi.opts.gid ?? cred.fsgid;
  inode.private_ = priv;
  fsi.nodes.set(index, inode);
  return inode;
}

/** devpts_pty_kill: the node goes away (the dentry is dropped from the cache). */
export function devptsPtyKill(fsi: PtsFsInfo, index: number): void {
  const inode = fsi.nodes.get(index);
  if (!inode) return;
  fsi.nodes.delete(index);
  inode.nlink = 0;
  inode.private_ = null;
  inode.sb.root.drop(String(index));
}

export function isDevpts(sb: SuperBlock): boolean {
  return sb.magic === DEVPTS_SUPER_MAGIC && sb.fsInfo instanceof PtsFsInfo;
}

export function devptsFsInfo(sb: SuperBlock): PtsFsInfo {
  return sb.fsInfo as PtsFsInfo;
}

/** A cached name stays valid only while its node lives (nodes come and go with ptys). */
const devptsDentryOps: DentryOperations = {
  revalidate(d: Dentry): boolean {
    if (d.name === 'ptmx') return true;
    const fsi = d.inode.sb.fsInfo as PtsFsInfo;
    return fsi.nodes.get(Number(d.name)) === d.inode;
  },
};

const devptsRootInodeOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    const fsi = dir.sb.fsInfo as PtsFsInfo;
    if (name === 'ptmx') return fsi.ptmx;
    if (!/^(0|[1-9][0-9]{0,6})$/.test(name)) return null;
    return fsi.nodes.get(Number(name)) ?? null;
  },
};

const devptsRootFops: FileOperations = {
  iterate(file: File): DirEntry[] {
    const fsi = file.inode.sb.fsInfo as PtsFsInfo;
    const out: DirEntry[] = [{ name: 'ptmx', ino: PTMX_INO, type: DT_CHR }];
    for (const i of [...fsi.nodes.keys()].sort((a, b) => a - b))
      out.push({ name: String(i), ino: i + 3, type: DT_CHR });
    return out;
  },
};

/** parse_mount_options. Unknown options are refused (-EINVAL) as devpts does. */
export function parseDevptsOptions(data: string): DevptsOptions | number {
  const o: DevptsOptions = {
    uid: null,
    gid: null,
    mode: DEVPTS_DEFAULT_MODE,
    ptmxmode: DEVPTS_DEFAULT_PTMX_MODE,
    max: NR_UNIX98_PTY_MAX,
  };
  for (const opt of data.split(',')) {
    if (opt === '' || opt === 'newinstance') continue;
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const val = eq < 0 ? '' : opt.slice(eq + 1);
    const dec = /^[0-9]+$/.test(val) ? Number(val) : NaN;
    const oct = /^[0-7]+$/.test(val) ? parseInt(val, 8) : NaN;
    switch (key) {
      case 'uid':
        if (Number.isNaN(dec)) return -EINVAL;
        o.uid = dec;
        break;
      case 'gid':
        if (Number.isNaN(dec)) return -EINVAL;
        o.gid = dec;
        break;
      case 'mode':
        if (Number.isNaN(oct)) return -EINVAL;
        o.mode = oct & 0o777;
        break;
      case 'ptmxmode':
        if (Number.isNaN(oct)) return -EINVAL;
        o.ptmxmode = oct & 0o777;
        break;
      case 'max':
        if (Number.isNaN(dec)) return -EINVAL;
        o.max = Math.min(dec, NR_UNIX98_PTY_MAX);
        break;
      default:
        // fs_parse: an unknown parameter fails the mount.
        return -EINVAL;
    }
  }
  return o;
}

/** devpts_show_options: what /proc/mounts shows after "rw,relatime". */
function devptsShowOptions(sb: SuperBlock): string {
  const o = (sb.fsInfo as PtsFsInfo).opts;
  const oct = (v: number): string => v.toString(8).padStart(3, '0');
  let s = '';
  if (o.uid !== null) s += `,uid=${o.uid}`;
  if (o.gid !== null) s += `,gid=${o.gid}`;
  s += `,mode=${oct(o.mode)},ptmxmode=${oct(o.ptmxmode)}`;
  if (o.max < NR_UNIX98_PTY_MAX) s += `,max=${o.max}`;
  return s;
}

/** devpts_fill_super: a new instance with its root and ptmx node. */
export function devptsMount(time: TimeSource, data = ''): SuperBlock | number {
  const opts = parseDevptsOptions(data);
  if (typeof opts === 'number') return opts;
  const sb = new SuperBlock(devptsFsType, { statfs: simpleStatfs, showOptions: devptsShowOptions }, getAnonDev(), time);
  sb.magic = DEVPTS_SUPER_MAGIC;
  sb.blocksize = 1024;
  const fsi = new PtsFsInfo(opts);
  sb.fsInfo = fsi;
  const root = new Inode(sb, DEVPTS_ROOT_INO, S_IFDIR | 0o755, devptsRootInodeOps, devptsRootFops);
  root.nlink = 2;
  sb.root = new Dentry('/', null, root, devptsDentryOps);
  const ptmx = new Inode(sb, PTMX_INO, S_IFCHR | opts.ptmxmode, {}, {});
  initSpecialInode(ptmx, S_IFCHR | opts.ptmxmode, makeDev(5, 2));
  fsi.ptmx = ptmx;
  return sb;
}

/** What mount(2) passes a filesystem type (the VFS owner's MountContext has at least this). */
export interface DevptsMountContext {
  kernel: Kernel;
  source: string;
  flags: number;
  data: string;
}

/** The "devpts" filesystem type (registered by the boot owner). */
export const devptsFsType = {
  name: 'devpts',
  fsFlags: 0,
  mount(ctx: DevptsMountContext): SuperBlock | number {
    const clock = ctx.kernel.clock;
    return devptsMount({ realtimeNs: () => clock.realtimeNs() }, ctx.data ?? '');
  },
};
