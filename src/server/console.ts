/**
 * GET /v1/vms/{id}/console: the machine's serial line over a WebSocket, bridged to its ConsoleHub.
 *
 *   binary frames   raw bytes, both ways (xterm.js writes and reads them as they are)
 *   text, client    {"type":"resize","cols":1..1000,"rows":1..1000}
 *   text, server    {"type":"state","state":"<MachineState>"} when the machine's state changes
 *
 * Close codes: 4404 unknown machine, 4400 a control message that is not understood (the reason
 * says why), 4008 a viewer too slow to keep up (ConsoleHub's flow control).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { HostError } from '../host/errors.js';
import type { MachineView } from '../host/types.js';
import type { ServerContext } from './app.js';
import { ProblemError } from './errors.js';

export const CONSOLE_SUBPROTOCOL = 'labvisor.console.v1';
export const CLOSE_UNKNOWN_MACHINE = 4404;
export const CLOSE_BAD_MESSAGE = 4400;
const MAX_TERMINAL = 1000;

/** ws's handleProtocols: choose labvisor.console.v1 when offered (never echo a bearer.<token>). */
export function chooseSubprotocol(offered: Set<string>): string | false {
  return offered.has(CONSOLE_SUBPROTOCOL) ? CONSOLE_SUBPROTOCOL : false;
}

/** A text frame's control message, or the reason it is not one. */
export function parseControl(text: string): { cols: number; rows: number } | string {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return 'control messages are JSON text frames';
  }
  if (msg === null || typeof msg !== 'object') return 'a control message is a JSON object';
  const m = msg as Record<string, unknown>;
  if (m['type'] !== 'resize') return `unknown control message type ${JSON.stringify(m['type'])}; known: resize`;
  for (const k of Object.keys(m)) {
    if (k !== 'type' && k !== 'cols' && k !== 'rows')
      return `unknown field '${k}' in resize; allowed: type, cols, rows`;
  }
  const ok = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_TERMINAL;
  if (!ok(m['cols'])) return `resize: cols must be a whole number from 1 to ${MAX_TERMINAL}`;
  if (!ok(m['rows'])) return `resize: rows must be a whole number from 1 to ${MAX_TERMINAL}`;
  return { cols: m['cols'], rows: m['rows'] };
}

/** Close with a reason cut to the 123 bytes a close frame can carry (ws throws beyond that). */
function closeWith(socket: WebSocket, code: number, reason: string): void {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  socket.close(code, r);
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function consoleRoutes(ctx: ServerContext): void {
  const { vms } = ctx;
  // One 'state' listener for all consoles (not one per viewer, which would trip EventEmitter's
  // leak warning past ten viewers), dispatching to the viewers of that machine.
  const watchers = new Map<string, Set<(view: MachineView) => void>>();
  const onState = (view: MachineView): void => {
    for (const w of watchers.get(view.id) ?? []) w(view);
  };
  vms.on('state', onState);
  ctx.bind.app.addHook('onClose', async () => {
    vms.off('state', onState);
  });

  const wsHandler = (socket: WebSocket, req: FastifyRequest): void => {
    const { id } = req.params as { id: string };
    // Frames may arrive before the hub is found: listen at once, hold them until then.
    const early: Array<{ data: RawData; isBinary: boolean }> = [];
    let onFrame: ((data: RawData, isBinary: boolean) => void) | null = null;
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (onFrame) onFrame(data, isBinary);
      else early.push({ data, isBinary });
    });
    let cleanup: (() => void) | null = null;
    socket.on('close', () => cleanup?.());
    socket.on('error', (err) => req.log.debug({ err }, 'console socket error'));

    void (async () => {
      let machine: MachineView;
      let hub: Awaited<ReturnType<typeof vms.console>>;
      try {
        machine = await vms.get(id);
        hub = await vms.console(machine.id);
      } catch (err) {
        if (err instanceof HostError && err.status === 404) {
          closeWith(socket, CLOSE_UNKNOWN_MACHINE, `no machine '${id}'`);
        } else {
          req.log.error({ err }, 'console attach failed');
          closeWith(socket, 1011, 'the server could not attach this console');
        }
        return;
      }
      if (socket.readyState !== socket.OPEN) return;
      const detach = hub.attach({
        send: (data, done) => {
          if (socket.readyState !== socket.OPEN) return done(new Error('console viewer gone'));
          socket.send(data, { binary: true }, done);
        },
        close: (code, reason) => closeWith(socket, code, reason),
      });
      // Only changes of state (a rename also emits 'state', with the same state).
      let last = machine.state;
      const watch = (view: MachineView): void => {
        if (view.state === last || socket.readyState !== socket.OPEN) return;
        last = view.state;
        socket.send(JSON.stringify({ type: 'state', state: view.state }));
      };
      let mine = watchers.get(machine.id);
      if (!mine) watchers.set(machine.id, (mine = new Set()));
      mine.add(watch);
      cleanup = () => {
        cleanup = null;
        mine.delete(watch);
        if (mine.size === 0) watchers.delete(machine.id);
        detach();
      };
      onFrame = (data, isBinary) => {
        if (isBinary) {
          hub.input(toBytes(data));
          return;
        }
        const ctl = parseControl(Buffer.from(toBytes(data)).toString('utf8'));
        if (typeof ctl === 'string') closeWith(socket, CLOSE_BAD_MESSAGE, ctl);
        else hub.resize(ctl.cols, ctl.rows);
      };
      for (const f of early.splice(0)) onFrame(f.data, f.isBinary);
    })();
  };

  const http = async (_req: FastifyRequest, _reply: FastifyReply): Promise<never> => {
    throw new ProblemError(
      426,
      'upgrade-required',
      'the console is a WebSocket: connect with ws:// (or wss://) and the same path',
      undefined,
      { upgrade: 'websocket' },
    );
  };

  ctx.bind.websocket('openVmConsole', wsHandler, http);
}
