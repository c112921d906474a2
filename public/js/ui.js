// Small DOM helpers shared by the views.

/** h('button', { class: 'btn', onclick }, 'Start') → element. Attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof globalThis.Node ? c : String(c));
  }
}

export function formatBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function formatKiB(kib) {
  return formatBytes(kib * 1024);
}

export function formatDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** A state badge: coloured dot + the state's name (colour is never the only signal). */
export function stateBadge(state) {
  return h('span', { class: `badge state-${state}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), state);
}

export function setStateBadge(el, state) {
  el.className = `badge state-${state}`;
  el.lastChild.textContent = state;
}

/** Announces a message to screen readers. */
export function announce(msg) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  setTimeout(() => (live.textContent = msg), 30);
}

/** An inline notice (error or info) element that views fill with show()/clear(). */
export function notice() {
  const el = h('p', { class: 'notice', role: 'alert', hidden: true });
  return {
    el,
    error(msg) {
      el.className = 'notice notice-error';
      el.textContent = msg;
      el.hidden = false;
    },
    info(msg) {
      el.className = 'notice notice-info';
      el.textContent = msg;
      el.hidden = false;
    },
    clear() {
      el.hidden = true;
      el.textContent = '';
    },
  };
}

/**
 * Asks for confirmation in the modal dialog. Resolves { ok, checked }.
 * opts: { title, body, okLabel, checkLabel, checkDefault }
 */
export function confirmDialog(opts) {
  const dlg = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = opts.title;
  document.getElementById('confirm-body').textContent = opts.body || '';
  document.getElementById('confirm-ok').textContent = opts.okLabel || 'Delete';
  const extra = document.getElementById('confirm-extra');
  const check = document.getElementById('confirm-check');
  extra.hidden = !opts.checkLabel;
  document.getElementById('confirm-check-label').textContent = opts.checkLabel || '';
  check.checked = !!opts.checkDefault;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dlg.returnValue = 'cancel';
    dlg.addEventListener(
      'close',
      () => {
        if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
        resolve({ ok: dlg.returnValue === 'ok', checked: check.checked });
      },
      { once: true },
    );
    dlg.showModal();
  });
}

/**
 * A small table for details panels, made of rows of cells with ARIA table roles so it can nest in a
 * data table's row. Each cell carries its column's name (data-label): on a phone the header hides and
 * the rows become labelled blocks. cols: [{ label, cls, hideLabel }]; `template` is the CSS
 * grid-template-columns of every row. Returns { el, body, row(attrs, cells) }.
 */
export function miniTable(label, cols, template) {
  const body = h('div', { role: 'rowgroup', class: 'mini-body' });
  const el = h(
    'div',
    { role: 'table', class: 'mini', 'aria-label': label, style: `--mini-cols: ${template}` },
    h(
      'div',
      { role: 'rowgroup', class: 'mini-head' },
      h(
        'div',
        { role: 'row', class: 'mini-row' },
        cols.map((c) =>
          h(
            'span',
            { role: 'columnheader', class: c.cls },
            c.hideLabel ? h('span', { class: 'visually-hidden' }, c.label) : c.label,
          ),
        ),
      ),
    ),
    body,
  );
  return {
    el,
    body,
    row(attrs, cells) {
      return h(
        'div',
        { role: 'row', class: 'mini-row', ...attrs },
        cells.map((c, i) =>
          h('span', { role: 'cell', class: cols[i].cls, 'data-label': cols[i].hideLabel ? null : cols[i].label }, c),
        ),
      );
    },
  };
}

/** Plural: plural(3, 'NIC') → "3 NICs". */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
