// A machine's console: xterm.js fitted to the window, raw bytes both ways over the WebSocket
// (binary frames), resize and state as JSON text frames, copy/paste, reconnect.
import { Terminal } from '/vendor/xterm/xterm.mjs';
import { FitAddon } from '/vendor/xterm-addon-fit/addon-fit.mjs';
import { api, consoleProtocols, consoleUrl } from './api.js';
import { announce, h, notice, setStateBadge, stateBadge } from './ui.js';

const encoder = new TextEncoder();

const THEME = {
  background: '#0f1420',
  foreground: '#d7dce5',
  cursor: '#8fb4ff',
  cursorAccent: '#0f1420',
  selectionBackground: '#34507f',
  black: '#1c2230',
  red: '#f07178',
  green: '#a6d189',
  yellow: '#e5c890',
  blue: '#8caaee',
  magenta: '#ca9ee6',
  cyan: '#81c8be',
  white: '#c6cbd5',
  brightBlack: '#5c6578',
  brightRed: '#ff8b92',
  brightGreen: '#b8e39b',
  brightYellow: '#f2d7a4',
  brightBlue: '#a5bfff',
  brightMagenta: '#dcb5f5',
  brightCyan: '#99dcd2',
  brightWhite: '#f2f4f8',
};

export function consoleView(main, id) {
  let disposed = false;
  let ws = null;
  let machine = null;

  // ---- layout -------------------------------------------------------------------------------------
  const title = h('h1', { class: 'console-title', id: 'console-title' }, id);
  const connBadge = h('span', { class: 'conn conn-connecting', id: 'console-conn' }, 'connecting');
  const vmBadge = stateBadge('unknown');
  vmBadge.id = 'console-state';
  const msg = notice();
  const reconnectBtn = h(
    'button',
    { type: 'button', class: 'btn btn-sm', id: 'console-reconnect', onclick: () => connect(), title: 'Reconnect' },
    'Reconnect',
  );
  const startBtn = h(
    'button',
    { type: 'button', class: 'btn btn-sm btn-go', id: 'console-start', onclick: () => action('start'), hidden: true },
    'Start',
  );
  const stopBtn = h(
    'button',
    { type: 'button', class: 'btn btn-sm', id: 'console-stop', onclick: () => action('stop'), hidden: true },
    'Stop',
  );
  const copyBtn = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-sm',
      onclick: copySelection,
      title: 'Copy the selection (Ctrl+Shift+C)',
      'aria-keyshortcuts': 'Control+Shift+C',
    },
    'Copy',
  );
  const pasteBtn = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-sm',
      onclick: pasteClipboard,
      title: 'Paste (Ctrl+Shift+V)',
      'aria-keyshortcuts': 'Control+Shift+V',
    },
    'Paste',
  );
  const termBox = h('div', { class: 'term', id: 'terminal', role: 'region', 'aria-label': 'Machine console' });
  const status = h('span', { id: 'console-status', 'aria-live': 'polite' });
  const hints = h('span', { class: 'hints' }, 'Copy Ctrl+Shift+C · Paste Ctrl+Shift+V');
  const statusLine = h('p', { class: 'console-status' }, status, hints);
  let statusTimer = 0;
  /** A passing message in the status line (the size comes back after it). */
  function flash(text) {
    clearTimeout(statusTimer);
    const size = `${term.cols}×${term.rows}`;
    status.textContent = `${size} · ${text}`;
    statusTimer = setTimeout(() => {
      statusTimer = 0;
      status.textContent = `${term.cols}×${term.rows}`;
    }, 3000);
  }

  main.append(
    h(
      'section',
      { class: 'console-page', 'aria-labelledby': 'console-title' },
      h(
        'div',
        { class: 'console-bar' },
        h(
          'div',
          { class: 'console-id' },
          h('a', { href: '#/machines', class: 'back', 'aria-label': 'Back to machines' }, '←'),
          title,
          vmBadge,
          connBadge,
        ),
        h(
          'div',
          { class: 'console-tools', role: 'toolbar', 'aria-label': 'Console' },
          startBtn,
          stopBtn,
          copyBtn,
          pasteBtn,
          reconnectBtn,
        ),
      ),
      msg.el,
      termBox,
      statusLine,
    ),
  );

  // ---- terminal -----------------------------------------------------------------------------------
  const phone = window.matchMedia('(max-width: 640px)').matches;
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: '"DejaVu Sans Mono", "Cascadia Mono", "SF Mono", Menlo, Consolas, "Liberation Mono", monospace',
    fontSize: phone ? 12 : 14,
    lineHeight: 1.15,
    scrollback: 5000,
    theme: THEME,
    allowProposedApi: false,
    rightClickSelectsWord: true,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(termBox);
  // Test and debugging hook: the live terminal (its buffer holds what the screen shows).
  window.labvisorTerm = term;

  term.attachCustomKeyEventHandler((ev) => {
    if (ev.type !== 'keydown' || !ev.ctrlKey || !ev.shiftKey || ev.altKey || ev.metaKey) return true;
    const k = ev.key.toLowerCase();
    if (k === 'c') {
      ev.preventDefault();
      copySelection();
      return false;
    }
    if (k === 'v') {
      // Leave the event to the browser: it fires `paste` on xterm's textarea, which xterm sends on.
      return false;
    }
    return true;
  });

  term.onData((data) => send(encoder.encode(data)));
  term.onBinary((data) => {
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
    send(bytes);
  });
  term.onResize(({ cols, rows }) => sendResize(cols, rows));

  let fitQueued = false;
  function refit() {
    if (fitQueued || disposed) return;
    fitQueued = true;
    requestAnimationFrame(() => {
      fitQueued = false;
      if (disposed || termBox.clientWidth === 0 || termBox.clientHeight === 0) return;
      try {
        fit.fit();
      } catch {
        // not laid out yet
      }
    });
  }
  const ro = new ResizeObserver(refit);
  ro.observe(termBox);
  window.addEventListener('resize', refit);
  refit();

  // ---- socket -------------------------------------------------------------------------------------
  function send(bytes) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(bytes);
  }

  function sendResize(cols, rows) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', cols, rows }));
    if (!statusTimer) status.textContent = `${cols}×${rows}`;
  }

  function setConn(kind, text) {
    connBadge.className = `conn conn-${kind}`;
    connBadge.textContent = text || kind;
    reconnectBtn.classList.toggle('btn-primary', kind === 'disconnected');
  }

  function setMachineState(state) {
    if (machine) machine.state = state;
    setStateBadge(vmBadge, state);
    startBtn.hidden = !['created', 'stopped', 'crashed'].includes(state);
    stopBtn.hidden = !['running', 'paused'].includes(state);
    if (state === 'stopped' || state === 'crashed' || state === 'created') {
      msg.info(
        state === 'crashed' && machine && machine.lastExit
          ? `The machine crashed: ${machine.lastExit}. Start it again to use the console.`
          : `The machine is ${state}. Start it to use the console.`,
      );
    } else if (state === 'paused') msg.info('The machine is paused: input waits until it is resumed.');
    else msg.clear();
  }

  function connect() {
    if (ws) {
      ws.onclose = null;
      ws.onerror = null;
      ws.onmessage = null;
      try {
        ws.close(1000, 'reconnect');
      } catch {
        // already closed
      }
      ws = null;
    }
    setConn('connecting');
    let socket;
    try {
      socket = new WebSocket(consoleUrl(id), consoleProtocols());
    } catch (e) {
      setConn('disconnected');
      msg.error(`Cannot open the console: ${e.message}`);
      return;
    }
    ws = socket;
    socket.binaryType = 'arraybuffer';
    let opened = false;
    socket.onopen = () => {
      opened = true;
      setConn('connected');
      announce('Console connected');
      // The hub replays its scrollback: start from a clean screen so the replay is not doubled.
      term.reset();
      sendResize(term.cols, term.rows);
      term.focus();
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        let m;
        try {
          m = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (m && m.type === 'state' && typeof m.state === 'string') {
          setMachineState(m.state);
          announce(`Machine ${m.state}`);
        }
        return;
      }
      term.write(new Uint8Array(ev.data));
    };
    socket.onclose = (ev) => {
      if (ws !== socket || disposed) return;
      ws = null;
      setConn('disconnected');
      announce('Console disconnected');
      if (ev.code === 4404) {
        msg.error('This machine does not exist (any more).');
        return;
      }
      if (ev.code === 4008) msg.error('The console was closed because this browser could not keep up with the output.');
      else if (!opened) msg.error(`Could not connect to the console${ev.reason ? `: ${ev.reason}` : ''}.`);
      // A refused upgrade says nothing to the page: ask the API why (401 brings the token prompt back).
      refreshMachine();
    };
  }

  async function refreshMachine() {
    try {
      machine = await api(`/v1/vms/${encodeURIComponent(id)}`);
      if (disposed) return;
      title.textContent = machine.name;
      document.title = `${machine.name} · console · Labvisor`;
      setMachineState(machine.state);
      return machine;
    } catch (e) {
      if (disposed || e.status === 401) return null;
      if (e.status === 404) msg.error(`There is no machine ${id}.`);
      else msg.error(`Could not read the machine: ${e.message}`);
      return null;
    }
  }

  async function action(name) {
    msg.clear();
    const btn = name === 'start' ? startBtn : stopBtn;
    btn.disabled = true;
    try {
      const m = await api(`/v1/vms/${encodeURIComponent(id)}/${name}`, { method: 'POST' });
      machine = m;
      setMachineState(m.state);
      if (!ws) connect();
      term.focus();
    } catch (e) {
      if (e.status !== 401) msg.error(`Could not ${name} the machine: ${e.message}`);
    } finally {
      btn.disabled = false;
    }
  }

  // ---- copy / paste -------------------------------------------------------------------------------
  async function copySelection() {
    const text = term.getSelection();
    if (!text) {
      flash('nothing selected to copy');
      return;
    }
    try {
      await navigator.clipboard.writeText(text);
      flash(`copied ${text.length} character${text.length === 1 ? '' : 's'}`);
    } catch {
      // Without clipboard permission: let the browser copy a selected textarea.
      const ta = h('textarea', { class: 'visually-hidden' });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand && document.execCommand('copy');
      ta.remove();
      flash(ok ? 'copied' : 'the browser did not allow copying');
    }
    term.focus();
  }

  async function pasteClipboard() {
    try {
      const text = await navigator.clipboard.readText();
      if (text) term.paste(text);
    } catch {
      flash('the browser did not allow reading the clipboard: use Ctrl+Shift+V');
    }
    term.focus();
  }

  // ---- start --------------------------------------------------------------------------------------
  refreshMachine().then((m) => {
    if (!disposed && m) connect();
  });

  return () => {
    disposed = true;
    clearTimeout(statusTimer);
    ro.disconnect();
    window.removeEventListener('resize', refit);
    if (ws) {
      ws.onclose = null;
      ws.close(1000, 'leaving');
      ws = null;
    }
    term.dispose();
    if (window.labvisorTerm === term) window.labvisorTerm = undefined;
    document.title = 'Labvisor';
  };
}
