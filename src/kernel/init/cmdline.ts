/**
 * The kernel command line (init/main.c: parse_early_param, parse_args with
 * unknown_bootoption; lib/cmdline.c next_arg). Parameters the kernel knows are consumed
 * here; the rest go to init as Linux passes them: `name=value` into init's environment
 * (replacing a variable of the same name), bare words into its argv, and everything after
 * `--` into its argv unchanged.
 */

/** What start_kernel uses from the command line. */
export interface BootCmdline {
  /** The whole line, as /proc/cmdline shows it (saved_command_line). */
  raw: string;
  /** root= (e.g. /dev/vda), null when absent. */
  root: string | null;
  /** rootfstype= (comma-separated list to try), null = try every block filesystem. */
  rootfstype: string | null;
  /** rootflags= (filesystem-specific mount data). */
  rootflags: string;
  /** `ro` / `rw`: Linux mounts the root read-only unless `rw` is given (root_mountflags = MS_RDONLY). */
  readOnly: boolean;
  /** init= (execute_command), null = the default search. */
  init: string | null;
  /** rdinit= — parsed but ignored: this kernel has no initramfs. */
  rdinit: string | null;
  /** quiet: console_loglevel 4 (CONSOLE_LOGLEVEL_QUIET). */
  quiet: boolean;
  /** loglevel=N, null when absent. */
  loglevel: number | null;
  /** console= entries, in order (the last one is /dev/console, as in Linux). */
  console: string[];
  /** argv_init after argv[0]. */
  initArgs: string[];
  /** envp_init: HOME=/ TERM=linux, then name=value parameters nobody claimed. */
  initEnv: string[];
}

/** CONSOLE_LOGLEVEL_DEFAULT and CONSOLE_LOGLEVEL_QUIET (include/linux/printk.h). */
export const CONSOLE_LOGLEVEL_DEFAULT = 7;
export const CONSOLE_LOGLEVEL_QUIET = 4;

/** Parameters the kernel consumes (they never reach init), besides those with a '.' (module.param). */
const KERNEL_PARAMS = new Set([
  'root',
  'rootfstype',
  'rootflags',
  'rootwait',
  'rootdelay',
  'ro',
  'rw',
  'init',
  'rdinit',
  'quiet',
  'debug',
  'loglevel',
  'console',
  'earlycon',
  'panic',
  'ignore_loglevel',
  'printk.devkmsg',
]);

/**
 * next_arg(): split off one `param[=value]`. Double quotes group words with spaces and are
 * removed ("a b" → a b, x="a b" → x=a b), as lib/cmdline.c does for the common cases.
 */
export function splitCmdline(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && /\s/.test(line[i]!)) i++;
    if (i >= n) break;
    let cur = '';
    let quoted = false;
    while (i < n && (quoted || !/\s/.test(line[i]!))) {
      const c = line[i]!;
      if (c === '"') quoted = !quoted;
      else cur += c;
      i++;
    }
    out.push(cur);
  }
  return out;
}

/** Quote one word for a command line (double quotes when it has spaces); null if it cannot be carried. */
export function quoteCmdlineWord(w: string): string | null {
  if (w.includes('"')) return null;
  return w === '' || /\s/.test(w) ? `"${w}"` : w;
}

/** parse_args(…, unknown_bootoption) over the whole line. */
export function parseCmdline(raw: string): BootCmdline {
  const c: BootCmdline = {
    raw,
    root: null,
    rootfstype: null,
    rootflags: '',
    readOnly: true,
    init: null,
    rdinit: null,
    quiet: false,
    loglevel: null,
    console: [],
    initArgs: [],
    initEnv: ['HOME=/', 'TERM=linux'],
  };
  const words = splitCmdline(raw);
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    if (w === '--') {
      // Everything after "--" is init's (parse_args stops; the rest becomes argv_init).
      c.initArgs.push(...words.slice(k + 1));
      break;
    }
    const eq = w.indexOf('=');
    const name = eq < 0 ? w : w.slice(0, eq);
    const val = eq < 0 ? null : w.slice(eq + 1);
    switch (name) {
      case 'root':
        c.root = val;
        continue;
      case 'rootfstype':
        c.rootfstype = val;
        continue;
      case 'rootflags':
        c.rootflags = val ?? '';
        continue;
      case 'ro':
        if (val === null) c.readOnly = true;
        continue;
      case 'rw':
        if (val === null) c.readOnly = false;
        continue;
      case 'init':
        c.init = val;
        continue;
      case 'rdinit':
        c.rdinit = val;
        continue;
      case 'quiet':
        c.quiet = true;
        continue;
      case 'loglevel': {
        const n = Number(val);
        if (val !== null && Number.isInteger(n)) c.loglevel = n;
        continue;
      }
      case 'console':
        if (val !== null) c.console.push(val);
        continue;
    }
    // unknown_bootoption(): known-but-unused kernel parameters and module.param are dropped.
    if (KERNEL_PARAMS.has(name) || name.includes('.')) continue;
    if (val !== null) {
      const i = c.initEnv.findIndex((e) => e.startsWith(name + '='));
      if (i >= 0) c.initEnv[i] = w;
      else c.initEnv.push(w);
    } else {
      c.initArgs.push(w);
    }
  }
  return c;
}

/** console_loglevel after the command line: loglevel= wins over quiet, as in Linux (loglevel is parsed early). */
export function consoleLoglevel(c: BootCmdline): number {
  if (c.loglevel !== null) return c.loglevel;
  return c.quiet ? CONSOLE_LOGLEVEL_QUIET : CONSOLE_LOGLEVEL_DEFAULT;
}
