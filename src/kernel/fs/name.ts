/**
 * File names are byte strings in Linux. The kernel keeps them as JS strings with one char
 * per byte (latin1), the form strncpyFromUser returns; these convert at the user boundary.
 */
export function nameBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** The same with a terminating NUL. */
export function nameBytesZ(s: string): Uint8Array {
  const b = new Uint8Array(s.length + 1);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** Host/guest text (UTF-8 in JS) → byte string, for names the kernel itself makes. */
export function utf8ToName(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}
