/**
 * "#!" scripts (fs/binfmt_script.c, load_script): the first line names an interpreter and at
 * most one argument; exec runs the interpreter with the script's path inserted into argv.
 */
import { ENOEXEC } from '../errno.js';

export interface Shebang {
  interpreter: string;
  arg: string | null;
}

/** Parse the "#!" line of the first BINPRM_BUF_SIZE bytes (latin1, as Linux treats bytes). */
export function parseShebang(buf: Uint8Array): Shebang | number {
  if (buf.length < 2 || buf[0] !== 0x23 || buf[1] !== 0x21) return -ENOEXEC;
  let end = buf.indexOf(0x0a, 2);
  if (end < 0) {
    // No newline in the buffer: Linux accepts it only if the interpreter name ends inside it.
    end = buf.length;
  }
  let line = '';
  for (let i = 2; i < end; i++) line += String.fromCharCode(buf[i]!);
  line = line.replace(/[ \t]+$/, '').replace(/^[ \t]+/, '');
  if (line.length === 0) return -ENOEXEC;
  const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(line);
  if (!m) return -ENOEXEC;
  const interpreter = m[1]!;
  // An interpreter name cut off by the end of the buffer is refused (next_terminator check).
  if (end === buf.length && m[2] === undefined && buf.length >= 256) return -ENOEXEC;
  return { interpreter, arg: m[2] !== undefined && m[2].length > 0 ? m[2] : null };
}
