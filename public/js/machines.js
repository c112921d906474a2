// Machines page: the list with state and live stats, the actions each state allows, and the create form.
import { api } from './api.js';
import { announce, confirmDialog, formatKiB, h, notice, setStateBadge, stateBadge } from './ui.js';

const LIST_INTERVAL_MS = 3000;
const STATS_INTERVAL_MS = 2000;

/** Which actions each state allows (docs/CONTRACTS.md, "State machine"). */
const ALLOWED = {
  created: ['start', 'delete'],
  running: ['stop', 'pause', 'reboot', 'delete'],
  paused: ['stop', 'resume', 'delete'],
  stopped: ['start', 'delete'],
  crashed: ['start', 'delete'],
};
const LIVE = new Set(['running', 'paused']);

const ACTION_LABEL = {
  start: 'Start',
  stop: 'Stop',
  pause: 'Pause',
  resume: 'Resume',
  reboot: 'Reboot',
};
const ACTION_DONE = {
  start: 'started',
  stop: 'stopped',
  pause: 'paused',
  resume: 'resumed',
  reboot: 'rebooted',
};

export function machinesView(main) {
  let disposed = false;
  const rows = new Map(); // id → row record
  const visible = new Set(); // ids of rows on screen
  let listTimer = 0;
  let statsTimer = 0;
  let listInFlight = false;
  let statsInFlight = false;

  // ---- layout -------------------------------------------------------------------------------------
  const summary = h('p', { class: 'muted page-sub', id: 'machines-summary' }, 'Loading…');
  const listNotice = notice();
  const createNotice = notice();

  const nameInput = h('input', {
    id: 'vm-name',
    name: 'name',
    required: true,
    autocomplete: 'off',
    spellcheck: false,
    maxlength: 63,
    placeholder: 'e.g. lab-1',
  });
  const imageSelect = h('select', { id: 'vm-image', name: 'image', required: true });
  const memInput = h('input', {
    id: 'vm-mem',
    name: 'memMiB',
    type: 'number',
    min: 16,
    step: 16,
    value: 64,
    required: true,
    inputmode: 'numeric',
  });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'vm-create' }, 'Create machine');
  const createForm = h(
    'form',
    {
      class: 'card create-form',
      id: 'create-form',
      'aria-labelledby': 'create-title',
      onsubmit: onCreate,
      oninput: () => createNotice.el.classList.contains('notice-error') && createNotice.clear(),
    },
    h('h2', { id: 'create-title', class: 'card-title' }, 'New machine'),
    h(
      'div',
      { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'vm-name' }, 'Name'), nameInput),
      h('div', { class: 'field' }, h('label', { for: 'vm-image' }, 'Image'), imageSelect),
      h('div', { class: 'field field-narrow' }, h('label', { for: 'vm-mem' }, 'Memory (MiB)'), memInput),
      h('div', { class: 'field field-action' }, createBtn),
    ),
    createNotice.el,
  );

  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'data machines', id: 'machines-table' },
    h('caption', { class: 'visually-hidden' }, 'Machines, their state, resources and actions'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col' }, 'State'),
        h('th', { scope: 'col', class: 'col-opt' }, 'Image'),
        h('th', { scope: 'col', class: 'num' }, 'CPU'),
        h('th', { scope: 'col', class: 'num col-opt' }, 'MIPS'),
        h('th', { scope: 'col' }, 'Memory'),
        h('th', { scope: 'col', class: 'num' }, h('abbr', { title: 'Processes' }, 'Procs')),
        h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const empty = h(
    'div',
    { class: 'empty', hidden: true },
    h('p', {}, 'No machines yet.'),
    h('p', { class: 'muted' }, 'Create one above: it boots the chosen image with busybox as init.'),
  );

  main.append(
    h(
      'section',
      { class: 'page', 'aria-labelledby': 'machines-title' },
      h('div', { class: 'page-head' }, h('div', {}, h('h1', { id: 'machines-title' }, 'Machines'), summary)),
      createForm,
      listNotice.el,
      h('div', { class: 'table-wrap' }, table),
      empty,
    ),
  );

  // ---- visibility: stats are fetched only for rows on screen ------------------------------------------
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const id = e.target.dataset.id;
      if (e.isIntersecting) visible.add(id);
      else visible.delete(id);
    }
  });

  // ---- data ---------------------------------------------------------------------------------------
  async function loadImages() {
    try {
      const data = await api('/v1/images');
      const images = Array.isArray(data) ? data : data.items || [];
      const previous = imageSelect.value;
      imageSelect.replaceChildren();
      if (images.length === 0) {
        imageSelect.append(h('option', { value: '', disabled: true, selected: true }, 'No images yet'));
        createNotice.info('There is no disk image yet: build the default one on the Images page.');
      }
      for (const img of images) imageSelect.append(h('option', { value: img.name }, `${img.name} (${img.format})`));
      const pick = images.find((i) => i.name === previous) || images.find((i) => i.name === 'busybox') || images[0];
      if (pick) imageSelect.value = pick.name;
    } catch (e) {
      if (e.status !== 401) createNotice.error(`Could not list images: ${e.message}`);
    }
  }

  async function loadList() {
    if (disposed || listInFlight) return;
    listInFlight = true;
    try {
      const items = [];
      // Follow pagination so every machine shows (the API pages at 200 at most).
      for (let offset = 0; ;) {
        const page = await api(`/v1/vms?limit=200&offset=${offset}`);
        items.push(...page.items);
        offset += page.items.length;
        if (page.items.length === 0 || offset >= page.total) break;
      }
      if (disposed) return;
      sync(items);
      if (listNotice.el.dataset.kind === 'list') listNotice.clear();
    } catch (e) {
      if (!disposed && e.status !== 401) {
        listNotice.error(`Could not load machines: ${e.message}`);
        listNotice.el.dataset.kind = 'list';
      }
    } finally {
      listInFlight = false;
    }
  }

  function sync(items) {
    const seen = new Set();
    let before = null;
    // Keep the server's order; reuse rows so focus and stats survive a refresh.
    for (let i = items.length - 1; i >= 0; i--) {
      const m = items[i];
      seen.add(m.id);
      let r = rows.get(m.id);
      if (!r) {
        r = makeRow(m);
        rows.set(m.id, r);
        observer.observe(r.tr);
      }
      updateRow(r, m);
      if (r.tr.nextSibling !== before || r.tr.parentNode !== tbody) tbody.insertBefore(r.tr, before);
      before = r.tr;
    }
    for (const [id, r] of rows) {
      if (!seen.has(id)) {
        observer.unobserve(r.tr);
        r.tr.remove();
        rows.delete(id);
        visible.delete(id);
      }
    }
    const running = items.filter((m) => m.state === 'running').length;
    summary.textContent =
      items.length === 0
        ? 'No machines'
        : `${items.length} machine${items.length === 1 ? '' : 's'} · ${running} running`;
    empty.hidden = items.length !== 0;
    table.hidden = items.length === 0;
  }

  function makeRow(m) {
    const r = { id: m.id, machine: m, stats: null, prevStats: null, busy: false };
    r.nameLink = h('a', { class: 'vm-name', href: `#/vms/${encodeURIComponent(m.id)}/console` });
    r.idText = h('span', { class: 'vm-id muted' });
    r.badge = stateBadge(m.state);
    r.exitText = h('span', { class: 'exit muted' });
    r.image = h('td', { class: 'col-opt', 'data-label': 'Image' });
    r.cpu = h('td', { class: 'num stat', 'data-label': 'CPU' });
    r.mips = h('td', { class: 'num stat col-opt', 'data-label': 'MIPS' });
    r.ramText = h('span', { class: 'ram-text' });
    r.ramBar = h('span', { class: 'bar-fill' });
    r.ram = h(
      'td',
      { class: 'stat mem-cell', 'data-label': 'Memory' },
      h('span', { class: 'ram' }, r.ramText, h('span', { class: 'bar', 'aria-hidden': 'true' }, r.ramBar)),
    );
    r.procs = h('td', { class: 'num stat', 'data-label': 'Processes' });

    r.buttons = {};
    const btn = (action, cls = '') =>
      (r.buttons[action] = h(
        'button',
        {
          type: 'button',
          class: `btn btn-sm ${cls}`,
          'data-action': action,
          onclick: (ev) => doAction(r, ev.currentTarget.dataset.action),
        },
        ACTION_LABEL[action] || 'Delete',
      ));
    r.consoleLink = h(
      'a',
      { class: 'btn btn-sm btn-console', href: `#/vms/${encodeURIComponent(m.id)}/console`, 'data-action': 'console' },
      'Console',
    );
    const actions = h(
      'div',
      { class: 'actions', role: 'group' },
      r.consoleLink,
      btn('start', 'btn-go'),
      btn('stop'),
      btn('pause'),
      btn('reboot'),
      btn('delete', 'btn-danger-ghost'),
    );
    r.actionsGroup = actions;
    r.tr = h(
      'tr',
      { dataset: { id: m.id } },
      h('th', { scope: 'row', class: 'name-cell', 'data-label': 'Name' }, r.nameLink, r.idText),
      h('td', { 'data-label': 'State', class: 'state-cell' }, r.badge, r.exitText),
      r.image,
      r.cpu,
      r.mips,
      r.ram,
      r.procs,
      h('td', { class: 'actions-cell' }, actions),
    );
    return r;
  }

  function updateRow(r, m) {
    const prevState = r.machine.state;
    r.machine = m;
    r.tr.dataset.state = m.state;
    r.tr.dataset.name = m.name;
    r.nameLink.textContent = m.name;
    r.nameLink.setAttribute('aria-label', `${m.name}: open console`);
    r.idText.textContent = m.id.length > 12 ? m.id.slice(0, 8) : m.id;
    r.idText.title = m.id;
    setStateBadge(r.badge, m.state);
    r.exitText.textContent = m.state === 'crashed' && m.lastExit ? m.lastExit : '';
    r.exitText.title = m.lastExit || '';
    r.image.textContent = m.image;
    r.actionsGroup.setAttribute('aria-label', `Actions for ${m.name}`);
    const allowed = ALLOWED[m.state] || ['delete'];
    // Pause and resume share one button: it resumes a paused machine and pauses a running one.
    const pr = r.buttons.pause;
    pr.dataset.action = m.state === 'paused' ? 'resume' : 'pause';
    pr.textContent = m.state === 'paused' ? ACTION_LABEL.resume : ACTION_LABEL.pause;
    for (const [slot, b] of Object.entries(r.buttons)) {
      const action = b.dataset.action || slot;
      b.disabled = r.busy || !allowed.includes(action);
      b.setAttribute('aria-label', `${ACTION_LABEL[action] || 'Delete'} ${m.name}`);
    }
    r.consoleLink.setAttribute('aria-label', `Console of ${m.name}`);
    if (prevState !== m.state && !LIVE.has(m.state)) {
      r.stats = null;
      r.prevStats = null;
    }
    renderStats(r);
  }

  function renderStats(r) {
    const live = LIVE.has(r.machine.state);
    const s = live ? r.stats : null;
    if (!s) {
      r.cpu.textContent = '—';
      r.mips.textContent = '—';
      r.ramText.textContent = `${r.machine.memMiB} MiB`;
      r.ramBar.style.width = '0';
      r.ramBar.parentElement.hidden = true;
      r.procs.textContent = '—';
      return;
    }
    r.cpu.textContent = r.cpuPct === undefined ? '—' : `${r.cpuPct.toFixed(r.cpuPct < 10 ? 1 : 0)} %`;
    r.mips.textContent = s.mips >= 100 ? Math.round(s.mips).toString() : s.mips.toFixed(1);
    const used = s.memory.usedKiB;
    const total = s.memory.totalKiB;
    r.ramText.textContent = `${formatKiB(used)} / ${formatKiB(total)}`;
    r.ramBar.parentElement.hidden = false;
    r.ramBar.style.width = total > 0 ? `${Math.min(100, (100 * used) / total).toFixed(1)}%` : '0';
    r.procs.textContent = String(s.processes.total);
  }

  async function loadStats() {
    if (disposed || statsInFlight || document.visibilityState === 'hidden') return;
    const targets = [...rows.values()].filter((r) => r.machine.state === 'running' && visible.has(r.id));
    if (targets.length === 0) return;
    statsInFlight = true;
    try {
      await Promise.all(
        targets.map(async (r) => {
          try {
            const s = await api(`/v1/vms/${encodeURIComponent(r.id)}/stats`);
            if (disposed) return;
            const p = r.stats;
            if (p && s.uptimeSeconds > p.uptimeSeconds) {
              r.cpuPct = Math.max(0, (100 * (s.cpuSeconds - p.cpuSeconds)) / (s.uptimeSeconds - p.uptimeSeconds));
            } else if (!p || s.uptimeSeconds < p.uptimeSeconds) {
              r.cpuPct = s.uptimeSeconds > 0 ? (100 * s.cpuSeconds) / s.uptimeSeconds : undefined;
            }
            r.stats = s;
            renderStats(r);
          } catch (e) {
            // 409: the machine stopped between two polls; the list refresh shows it.
            if (e.status === 409) loadList();
          }
        }),
      );
    } finally {
      statsInFlight = false;
    }
  }

  async function doAction(r, action) {
    const m = r.machine;
    listNotice.clear();
    if (action === 'delete') {
      const answer = await confirmDialog({
        title: `Delete ${m.name}?`,
        body:
          m.state === 'running' || m.state === 'paused'
            ? `${m.name} is ${m.state}: it is stopped first. This cannot be undone.`
            : 'This cannot be undone.',
        okLabel: 'Delete machine',
        checkLabel: 'Also delete its disk (the changes made to the image)',
        checkDefault: true,
      });
      if (!answer.ok) return;
      setBusy(r, true, 'Deleting…');
      try {
        await api(`/v1/vms/${encodeURIComponent(m.id)}?keepDisk=${answer.checked ? 'false' : 'true'}`, {
          method: 'DELETE',
        });
        announce(`${m.name} deleted`);
      } catch (e) {
        if (e.status !== 401) showError(`Could not delete ${m.name}: ${e.message}`);
      } finally {
        setBusy(r, false);
        loadList();
      }
      return;
    }
    setBusy(r, true, `${ACTION_LABEL[action]}…`);
    try {
      const updated = await api(`/v1/vms/${encodeURIComponent(m.id)}/${action}`, { method: 'POST' });
      r.busy = false;
      if (updated && updated.id) updateRow(r, updated);
      announce(`${m.name} ${ACTION_DONE[action]}`);
    } catch (e) {
      if (e.status !== 401) showError(`Could not ${action} ${m.name}: ${e.message}`);
    } finally {
      setBusy(r, false);
      loadList();
    }
  }

  function setBusy(r, busy, label) {
    r.busy = busy;
    r.tr.classList.toggle('busy', busy);
    if (busy) {
      r.badge.lastChild.textContent = label.toLowerCase();
      r.tr.setAttribute('aria-busy', 'true');
    } else r.tr.removeAttribute('aria-busy');
    updateRow(r, r.machine);
  }

  function showError(msg) {
    listNotice.error(msg);
    listNotice.el.dataset.kind = 'action';
  }

  async function onCreate(ev) {
    ev.preventDefault();
    createNotice.clear();
    const name = nameInput.value.trim();
    const memMiB = Number(memInput.value);
    if (!name) {
      createNotice.error('Give the machine a name.');
      nameInput.focus();
      return;
    }
    if (!Number.isInteger(memMiB) || memMiB <= 0) {
      createNotice.error('Memory must be a whole number of MiB.');
      memInput.focus();
      return;
    }
    const body = { name, memMiB };
    if (imageSelect.value) body.image = imageSelect.value;
    createBtn.disabled = true;
    createBtn.textContent = 'Creating…';
    try {
      const m = await api('/v1/vms', { method: 'POST', body });
      nameInput.value = '';
      announce(`Machine ${m.name} created`);
      await loadList();
      const r = rows.get(m.id);
      if (r) {
        r.tr.classList.add('fresh');
        setTimeout(() => r.tr.classList.remove('fresh'), 1500);
        r.buttons.start.focus();
      }
    } catch (e) {
      if (e.status !== 401) {
        createNotice.error(e.message);
        nameInput.focus();
      }
    } finally {
      createBtn.disabled = false;
      createBtn.textContent = 'Create machine';
    }
  }

  // ---- start --------------------------------------------------------------------------------------
  loadImages();
  loadList();
  listTimer = setInterval(() => {
    if (document.visibilityState !== 'hidden') loadList();
  }, LIST_INTERVAL_MS);
  statsTimer = setInterval(loadStats, STATS_INTERVAL_MS);
  const onVisible = () => {
    if (document.visibilityState === 'visible') {
      loadList();
      loadStats();
    }
  };
  document.addEventListener('visibilitychange', onVisible);

  return () => {
    disposed = true;
    clearInterval(listTimer);
    clearInterval(statsTimer);
    observer.disconnect();
    document.removeEventListener('visibilitychange', onVisible);
  };
}
