/**
 * Hashed directory indexes (fs/ext4/hash.c and the dx_* half of fs/ext4/namei.c): the dirhash
 * functions, dx_probe, leaf lookup, ext4_dx_add_entry with do_split, index growth, and
 * make_indexed_dir for a directory that outgrows its first block.
 *
 * Layout: logical block 0 holds "." and ".." (whose rec_len spans the block), then dx_root_info
 * at 24 and the dx_entry array at 32 (entry 0's hash field is the limit/count pair). Interior
 * dx_node blocks are an empty dirent spanning the block followed by the array at 8. With
 * metadata_csum a dx_tail (reserved, crc32c) follows the array's `limit` entries.
 */
import { crc32cUpdate } from './crc32c.js';
import { le16, le32 } from './disk_layout.js';
import { corrupt } from './errors.js';
import { put16, put32, EXT2_FLAGS_UNSIGNED_HASH } from './super.js';
import type { FsInfo } from './super.js';

export const DX_HASH_LEGACY = 0;
export const DX_HASH_HALF_MD4 = 1;
export const DX_HASH_TEA = 2;
export const DX_HASH_LEGACY_UNSIGNED = 3;
export const DX_HASH_HALF_MD4_UNSIGNED = 4;
export const DX_HASH_TEA_UNSIGNED = 5;

const rol = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;

const F = (x: number, y: number, z: number): number => (z ^ (x & (y ^ z))) >>> 0;
const G = (x: number, y: number, z: number): number => (((x & y) >>> 0) + (((x ^ y) & z) >>> 0)) >>> 0;
const H = (x: number, y: number, z: number): number => (x ^ y ^ z) >>> 0;
const K2 = 0x5a827999; // 013240474631
const K3 = 0x6ed9eba1; // 015666365641
type Fn3 = (x: number, y: number, z: number) => number;
const R = (f: Fn3, w: number, x: number, y: number, z: number, v: number, s: number): number =>
  rol((w + f(x, y, z) + v) >>> 0, s);

/** half_md4_transform: three MD4 rounds over 8 words, added into buf. */
function halfMd4(buf: Uint32Array, inp: Uint32Array): void {
  let a = buf[0];
  let b = buf[1];
  let c = buf[2];
  let d = buf[3];
  a = R(F, a, b, c, d, inp[0], 3);
  d = R(F, d, a, b, c, inp[1], 7);
  c = R(F, c, d, a, b, inp[2], 11);
  b = R(F, b, c, d, a, inp[3], 19);
  a = R(F, a, b, c, d, inp[4], 3);
  d = R(F, d, a, b, c, inp[5], 7);
  c = R(F, c, d, a, b, inp[6], 11);
  b = R(F, b, c, d, a, inp[7], 19);
  a = R(G, a, b, c, d, (inp[1] + K2) >>> 0, 3);
  d = R(G, d, a, b, c, (inp[3] + K2) >>> 0, 5);
  c = R(G, c, d, a, b, (inp[5] + K2) >>> 0, 9);
  b = R(G, b, c, d, a, (inp[7] + K2) >>> 0, 13);
  a = R(G, a, b, c, d, (inp[0] + K2) >>> 0, 3);
  d = R(G, d, a, b, c, (inp[2] + K2) >>> 0, 5);
  c = R(G, c, d, a, b, (inp[4] + K2) >>> 0, 9);
  b = R(G, b, c, d, a, (inp[6] + K2) >>> 0, 13);
  a = R(H, a, b, c, d, (inp[3] + K3) >>> 0, 3);
  d = R(H, d, a, b, c, (inp[7] + K3) >>> 0, 9);
  c = R(H, c, d, a, b, (inp[2] + K3) >>> 0, 11);
  b = R(H, b, c, d, a, (inp[6] + K3) >>> 0, 15);
  a = R(H, a, b, c, d, (inp[1] + K3) >>> 0, 3);
  d = R(H, d, a, b, c, (inp[5] + K3) >>> 0, 9);
  c = R(H, c, d, a, b, (inp[0] + K3) >>> 0, 11);
  b = R(H, b, c, d, a, (inp[4] + K3) >>> 0, 15);
  buf[0] += a;
  buf[1] += b;
  buf[2] += c;
  buf[3] += d;
}

/** TEA_transform: 16 rounds of the Tiny Encryption Algorithm. */
function tea(buf: Uint32Array, inp: Uint32Array): void {
  let sum = 0;
  let b0 = buf[0];
  let b1 = buf[1];
  const [a, b, c, d] = [inp[0], inp[1], inp[2], inp[3]];
  for (let n = 0; n < 16; n++) {
    sum = (sum + 0x9e3779b9) >>> 0;
    b0 = (b0 + ((((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >>> 5) + b)) >>> 0)) >>> 0;
    b1 = (b1 + ((((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >>> 5) + d)) >>> 0)) >>> 0;
  }
  buf[0] += b0;
  buf[1] += b1;
}

/** dx_hack_hash: the legacy hash, over signed or unsigned chars. */
function legacyHash(name: Uint8Array, signed: boolean): number {
  let hash0 = 0x12a3fe2d;
  let hash1 = 0x37abe8f9;
  for (let i = 0; i < name.length; i++) {
    const c = signed ? (name[i] << 24) >> 24 : name[i];
    let hash = (hash1 + ((hash0 ^ Math.imul(c, 7152373)) >>> 0)) >>> 0;
    if (hash & 0x80000000) hash = (hash - 0x7fffffff) >>> 0;
    hash1 = hash0;
    hash0 = hash;
  }
  return (hash0 << 1) >>> 0;
}

/** str2hashbuf_signed / _unsigned: pack up to num*4 name bytes into words, padded with the length. */
function str2hashbuf(msg: Uint8Array, off: number, len: number, out: Uint32Array, num: number, signed: boolean): void {
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  if (len > num * 4) len = num * 4;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const c = signed ? (msg[off + i] << 24) >> 24 : msg[off + i];
    val = (c + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) {
      out[o++] = val;
      val = pad;
      num--;
    }
  }
  if (--num >= 0) out[o++] = val;
  while (--num >= 0) out[o++] = pad;
}

/** ext4fs_dirhash: the major hash (low bit cleared) of `name` with `version` and `seed`. */
export function dirHash(name: Uint8Array, version: number, seed: Uint32Array): number {
  const buf = Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);
  if (seed.some((w) => w !== 0)) buf.set(seed);
  let hash: number;
  const inp = new Uint32Array(8);
  switch (version) {
    case DX_HASH_LEGACY:
    case DX_HASH_LEGACY_UNSIGNED:
      hash = legacyHash(name, version === DX_HASH_LEGACY);
      break;
    case DX_HASH_HALF_MD4:
    case DX_HASH_HALF_MD4_UNSIGNED:
      for (let p = 0, len = name.length; len > 0; len -= 32, p += 32) {
        str2hashbuf(name, p, len, inp, 8, version === DX_HASH_HALF_MD4);
        halfMd4(buf, inp);
      }
      hash = buf[1];
      break;
    case DX_HASH_TEA:
    case DX_HASH_TEA_UNSIGNED:
      for (let p = 0, len = name.length; len > 0; len -= 16, p += 16) {
        str2hashbuf(name, p, len, inp, 4, version === DX_HASH_TEA);
        tea(buf, inp);
      }
      hash = buf[0];
      break;
    default:
      throw corrupt(`EXT4-fs error: unknown directory hash version ${version}`);
  }
  hash = (hash & ~1) >>> 0;
  if (hash === 0x7fffffff << 1) hash = (0x7fffffff - 1) << 1;
  return hash >>> 0;
}

/** The in-memory hash version for a dx_root's on-disk one (signed/unsigned from s_flags). */
export function effectiveHashVersion(info: FsInfo, rootVersion: number): number {
  const flags = le32(info.sbRaw, 0x160);
  if (rootVersion <= DX_HASH_TEA && flags & EXT2_FLAGS_UNSIGNED_HASH) return rootVersion + 3;
  return rootVersion;
}

export const DX_ROOT_COUNT_OFF = 32;
export const DX_NODE_COUNT_OFF = 8;

/** dx_root_limit / dx_node_limit: entries that fit, leaving room for the dx_tail with metadata_csum. */
export const dxLimit = (blockSize: number, countOff: number, csum: boolean): number =>
  Math.floor((blockSize - countOff - (csum ? 8 : 0)) / 8);

export const dxGetLimit = (b: Uint8Array, co: number): number => le16(b, co);
export const dxGetCount = (b: Uint8Array, co: number): number => le16(b, co + 2);
export const dxGetHash = (b: Uint8Array, co: number, i: number): number => (i === 0 ? 0 : le32(b, co + i * 8));
export const dxGetBlock = (b: Uint8Array, co: number, i: number): number => le32(b, co + i * 8 + 4) & 0x0fffffff;
export const dxSetCount = (b: Uint8Array, co: number, n: number): void => put16(b, co + 2, n);
export const dxSetLimit = (b: Uint8Array, co: number, n: number): void => put16(b, co, n);
export function dxSetEntry(b: Uint8Array, co: number, i: number, hash: number, block: number): void {
  if (i !== 0) put32(b, co + i * 8, hash);
  put32(b, co + i * 8 + 4, block);
}

/** ext4_dx_csum_set: crc32c(inode seed, block[0..count_offset+count*8], dt_reserved, zero csum). */
export function setDxCsum(b: Uint8Array, co: number, inodeSeed: number): void {
  const limit = dxGetLimit(b, co);
  const count = dxGetCount(b, co);
  const t = co + limit * 8;
  if (t + 8 > b.length) throw corrupt('EXT4-fs error: dx block limit leaves no room for dx_tail');
  let c = crc32cUpdate(inodeSeed, b, 0, co + count * 8);
  c = crc32cUpdate(c, b, t, t + 4);
  c = crc32cUpdate(c, new Uint8Array(4));
  put32(b, t + 4, c);
}

/** ext4_dx_csum_verify. */
export function verifyDxCsum(b: Uint8Array, co: number, inodeSeed: number, ino: number): void {
  const limit = dxGetLimit(b, co);
  const count = dxGetCount(b, co);
  const t = co + limit * 8;
  if (t + 8 > b.length) throw corrupt(`EXT4-fs error (inode ${ino}): dx_tail beyond the block`);
  let c = crc32cUpdate(inodeSeed, b, 0, co + count * 8);
  c = crc32cUpdate(c, b, t, t + 4);
  c = crc32cUpdate(c, new Uint8Array(4));
  if (c !== le32(b, t + 4)) throw corrupt(`EXT4-fs error (inode ${ino}): dx block checksum invalid`);
}
