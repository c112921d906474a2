import * as E from '../errno.js';
import { copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { File, type DirEntry } from './file.js';
import { fileAccessed } from './read_write.js';
import { DT_DIR, S_ISDIR } from './uapi.js';

/**
 * getdents64 (fs/readdir.c: iterate_dir + filldir64). A directory listing is taken as a
 * snapshot when reading starts at position 0; f_pos is the index of the next entry, so
 * entries added or removed meanwhile neither repeat nor vanish mid-listing. "." and ".."
 * come first (dir_emit_dots). A union directory lists its upper entries, then lower
 * entries the upper layer does not shadow.
 */

/** The full listing of an open directory, with "." and "..". */
export function iterateDir(file: File): DirEntry[] | number {
  const inode = file.inode;
  if (!S_ISDIR(inode.mode)) return -E.ENOTDIR;
  if (!file.op.iterate) return -E.ENOTDIR;
  const own = file.op.iterate(file);
  if (typeof own === 'number') return own;
  const d = file.path.dentry;
  const parent =
    d === file.path.mnt.root && file.path.mnt.parent !== file.path.mnt ? file.path.mnt.mountpoint.parent : d.parent;
  const out: DirEntry[] = [
    { name: '.', ino: inode.ino, type: DT_DIR },
    { name: '..', ino: parent.inode.ino, type: DT_DIR },
  ];
  for (const e of own) out.push(e);
  const lower = d.lower;
  if (lower?.fop.iterate) {
    const lf = new File(file.path, lower, lower.fop, 0, 0);
    const le = lower.fop.iterate(lf);
    if (typeof le !== 'number') {
      const seen = new Set(own.map((e) => e.name));
      for (const e of le) if (!seen.has(e.name)) out.push(e);
    }
  }
  return out;
}

/** struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; } padded to 8. */
export function direntReclen(nameLen: number): number {
  return (19 + nameLen + 1 + 7) & ~7;
}

/** Encode entries from index `start` into at most `size` bytes; returns bytes and next index. */
export function fillDirents64(entries: DirEntry[], start: number, size: number): { buf: Uint8Array; next: number } {
  let len = 0;
  let i = start;
  for (; i < entries.length; i++) {
    const rl = direntReclen(entries[i]!.name.length);
    if (len + rl > size) break;
    len += rl;
  }
  const buf = new Uint8Array(len);
  const v = new DataView(buf.buffer);
  let off = 0;
  for (let k = start; k < i; k++) {
    const e = entries[k]!;
    const rl = direntReclen(e.name.length);
    v.setUint32(off, e.ino % 4294967296, true);
    v.setUint32(off + 4, Math.floor(e.ino / 4294967296), true);
    v.setUint32(off + 8, k + 1, true); // d_off: position of the next entry
    v.setUint16(off + 16, rl, true);
    buf[off + 18] = e.type;
    for (let j = 0; j < e.name.length; j++) buf[off + 19 + j] = e.name.charCodeAt(j) & 0xff;
    off += rl;
  }
  return { buf, next: i };
}

export function sysGetdents64(task: Task, fd: number, udirent: number, count: number): number {
  const f = task.files.get(fd | 0);
  if (!f || !f.readable) return -E.EBADF;
  if (!S_ISDIR(f.inode.mode)) return -E.ENOTDIR;
  if (f.pos === 0 || f.dirSnapshot === null) {
    const list = iterateDir(f);
    if (typeof list === 'number') return list;
    f.dirSnapshot = list;
  }
  const entries = f.dirSnapshot;
  if (f.pos >= entries.length) return 0;
  const size = count >>> 0;
  const { buf, next } = fillDirents64(entries, f.pos, size);
  if (next === f.pos) return -E.EINVAL; // buffer too small for one entry
  if (copyToUser(task.mm, udirent, buf) < 0) return -E.EFAULT;
  f.pos = next;
  fileAccessed(f); // iterate_dir → file_accessed
  return buf.length;
}
