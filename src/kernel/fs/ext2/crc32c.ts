/** CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, as ext4's metadata_csum uses. */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/**
 * Raw crc32c update without pre/post inversion, as the kernel's `crc32c(seed, buf, len)`:
 * ext4 seeds with ~0 and stores the result uninverted.
 */
export function crc32cUpdate(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = crc >>> 0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

/** Standard CRC-32C (init ~0, final xor ~0): crc32c("123456789") = 0xE3069283. */
export function crc32c(buf: Uint8Array): number {
  return ~crc32cUpdate(0xffffffff, buf) >>> 0;
}
