/**
 * A machine's shell driven through its console (a ConsoleClient): type a command, wait for its
 * end, get what it printed and its exit status. Used by the network tests and bench/net.ts.
 */
import type { ConsoleClient } from './console-client.js';

/** Per-run tag so a marker can never match text from an earlier run replayed in the scrollback. */
const NONCE = Math.random().toString(36).slice(2, 8);
let seq = 0;

/** A machine's shell on its console: runs a command and returns what it printed and its exit status. */
export class Shell {
  constructor(
    readonly name: string,
    readonly con: ConsoleClient,
  ) {}

  /**
   * Types `cmd` followed by an echo of its status and a unique marker, on one line (so nothing is
   * typed ahead into a command reading the terminal). The marker as typed (`"<<$?>>""<<tag>>"`)
   * differs from the marker printed (`<<0>><<tag>>`), so the echo of the line never matches.
   */
  async run(cmd: string, timeoutMs = 60_000): Promise<{ out: string; rc: number }> {
    const tag = `${NONCE}-${++seq}`;
    const sep = /&\s*$/.test(cmd) ? ' ' : '; ';
    this.con.send(`${cmd}${sep}echo "<<$?>>""<<${tag}>>"\n`);
    const m = await this.con.expect(new RegExp(`([\\s\\S]*?)<<(\\d+)>><<${tag}>>`), timeoutMs);
    let out = m[1]!;
    const typed = out.lastIndexOf(`""<<${tag}>>"`);
    if (typed >= 0) {
      const nl = out.indexOf('\n', typed);
      out = nl >= 0 ? out.slice(nl + 1) : '';
    }
    return { out, rc: Number(m[2]) };
  }

  /** run() and insist on exit status 0 (throws with what the command printed otherwise). */
  async ok(cmd: string, timeoutMs = 60_000): Promise<string> {
    const r = await this.run(cmd, timeoutMs);
    if (r.rc !== 0) throw new Error(`${this.name}: \`${cmd}\` exited ${r.rc}:\n${r.out}`);
    return r.out;
  }

  /** Types a command without waiting for it (for a foreground command another machine ends). */
  start(cmd: string): Promise<{ out: string; rc: number }> {
    return this.run(cmd, 600_000);
  }
}

/** /proc/net/snmp or /proc/net/netstat as {Tcp: {RetransSegs: n, …}, …}. */
export function parseSnmp(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const lines = text.split('\n').filter((l) => /^\w+: /.test(l));
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    if (names[0] !== values[0]) throw new Error(`unpaired lines in snmp text:\n${lines[i]}\n${lines[i + 1]}`);
    const group: Record<string, number> = {};
    for (let k = 1; k < names.length; k++) group[names[k]!] = Number(values[k]);
    out[names[0]!.replace(/:$/, '')] = group;
  }
  return out;
}
