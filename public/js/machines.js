// Machines page: the list with state and live stats, the actions each state allows, the create form
// (with NICs on networks), and each machine's details: its NICs (editable while it is stopped) and
// its port forwards.
import { api } from './api.js';
import { announce, confirmDialog, formatKiB, h, miniTable, notice, plural, setStateBadge, stateBadge } from './ui.js';

const LIST_INTERVAL_MS = 3000;
const STATS_INTERVAL_MS = 2000;
const NETWORKS_INTERVAL_MS = 10000;

/** Which actions each state allows (docs/CONTRACTS.md, "State machine"). */
const ALLOWED = {
  created: ['start', 'delete'],
  running: ['stop', 'pause', 'reboot', 'delete'],
  paused: ['stop', 'resume', 'delete'],
  stopped: ['start', 'delete'],
  crashed: ['start', 'delete'],
};
const LIVE = new Set(['running', 'paused']);
/** NICs can be replaced only while the machine is not running or paused. */
const NICS_EDITABLE = new Set(['created', 'stopped', 'crashed']);
const MAX_NICS = 8;

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
  let networks = []; // the server's networks, for the NIC pickers and names
  const editors = new Set(); // NIC editors on the page, refreshed when the networks change

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
  const createNics = nicEditor('vm');
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
    ),
    h(
      'fieldset',
      { class: 'nic-fieldset' },
      h('legend', {}, 'Network interfaces ', h('span', { class: 'muted small' }, '(optional, eth0 first)')),
      createNics.el,
    ),
    h('div', { class: 'form-actions' }, createBtn),
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
      if (r.detail.nextSibling !== before || r.detail.parentNode !== tbody) tbody.insertBefore(r.detail, before);
      if (r.tr.nextSibling !== r.detail) tbody.insertBefore(r.tr, r.detail);
      before = r.tr;
      if (!r.detail.hidden) loadDetails(r);
    }
    for (const [id, r] of rows) {
      if (!seen.has(id)) {
        observer.unobserve(r.tr);
        r.tr.remove();
        r.detail.remove();
        editors.delete(r.nicEditor);
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
    r.detailsBtn = h(
      'button',
      {
        type: 'button',
        class: 'disclosure',
        'data-action': 'details',
        'aria-expanded': 'false',
        'aria-controls': `vm-detail-${m.id}`,
        title: 'Details: NICs and port forwards',
        onclick: () => toggleDetails(r),
      },
      h('span', { class: 'visually-hidden' }, 'Details'),
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
      h(
        'th',
        { scope: 'row', class: 'name-cell', 'data-label': 'Name' },
        h('div', { class: 'name-wrap' }, r.detailsBtn, h('div', { class: 'name-text' }, r.nameLink, r.idText)),
      ),
      h('td', { 'data-label': 'State', class: 'state-cell' }, r.badge, r.exitText),
      r.image,
      r.cpu,
      r.mips,
      r.ram,
      r.procs,
      h('td', { class: 'actions-cell' }, actions),
    );
    makeDetail(r);
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
    r.detailsBtn.setAttribute('aria-label', `Details of ${m.name}: NICs and port forwards`);
    updateDetail(r);
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
    const nics = createNics.value();
    if (nics.some((n) => !n.network)) {
      createNotice.error('Choose a network for each NIC (or remove it).');
      createNics.focusFirstEmpty();
      return;
    }
    const body = { name, memMiB };
    if (imageSelect.value) body.image = imageSelect.value;
    if (nics.length) body.nics = nics;
    createBtn.disabled = true;
    createBtn.textContent = 'Creating…';
    try {
      const m = await api('/v1/vms', { method: 'POST', body });
      nameInput.value = '';
      createNics.set([]);
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

  // ---- networks and NICs ----------------------------------------------------------------------------
  async function loadNetworks() {
    try {
      const data = await api('/v1/networks');
      if (disposed) return;
      const items = data.items || [];
      if (
        JSON.stringify(items.map((n) => [n.id, n.name, n.cidr])) ===
        JSON.stringify(networks.map((n) => [n.id, n.name, n.cidr]))
      )
        return;
      networks = items;
      for (const ed of editors) ed.refresh();
      for (const r of rows.values()) if (!r.detail.hidden) renderNics(r);
    } catch (e) {
      if (!disposed && e.status !== 401 && createNotice.el.hidden)
        createNotice.error(`Could not list networks: ${e.message}`);
    }
  }

  function networkName(id) {
    const n = networks.find((x) => x.id === id || x.name === id);
    return n ? n.name : id;
  }

  /**
   * An editable list of NICs, eth0 first: each a network and an optional static IP (empty: DHCP).
   * A NIC that exists keeps its MAC (data-mac) when it moves to another index.
   */
  function nicEditor(idPrefix) {
    let serial = 0;
    const list = h('div', { class: 'nic-list' });
    const hint = h('p', { class: 'muted small nic-hint' });
    const addBtn = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-sm',
        id: `${idPrefix}-add-nic`,
        onclick: () => {
          add({});
          list.lastChild.querySelector('select').focus();
          loadNetworks();
        },
      },
      '+ Add NIC',
    );
    const el = h(
      'div',
      { class: 'nic-editor', id: `${idPrefix}-nics` },
      list,
      h('div', { class: 'nic-foot' }, addBtn, hint),
    );

    function fill(select, value) {
      select.replaceChildren(h('option', { value: '' }, networks.length ? 'Choose a network…' : 'No networks yet'));
      for (const n of networks) select.append(h('option', { value: n.id }, `${n.name} (${n.cidr})`));
      // A NIC on a network this page does not know yet keeps it.
      if (value && !networks.some((n) => n.id === value)) select.append(h('option', { value }, networkName(value)));
      select.value = value || (networks.length === 1 ? networks[0].id : '');
    }

    function add(nic) {
      const k = serial++;
      const select = h('select', { name: 'network', id: `${idPrefix}-nic-${k}-net` });
      fill(select, nic.network);
      const ip = h('input', {
        name: 'ip',
        id: `${idPrefix}-nic-${k}-ip`,
        autocomplete: 'off',
        spellcheck: false,
        maxlength: 15,
        inputmode: 'decimal',
        placeholder: 'DHCP',
        value: nic.ip || '',
      });
      const index = h('span', { class: 'nic-index mono' });
      const remove = h(
        'button',
        {
          type: 'button',
          class: 'btn btn-sm btn-danger-ghost nic-remove',
          onclick: () => {
            const next = row.nextSibling || row.previousSibling;
            row.remove();
            relabel();
            (next ? next.querySelector('select') : addBtn).focus();
          },
        },
        'Remove',
      );
      const row = h(
        'div',
        { class: 'nic-row', dataset: nic.mac ? { mac: nic.mac } : {} },
        index,
        h('div', { class: 'field' }, h('label', { for: select.id }, 'Network'), select),
        h('div', { class: 'field' }, h('label', { for: ip.id }, 'Static IP (optional)'), ip),
        h('div', { class: 'field field-action' }, remove),
      );
      list.append(row);
      relabel();
    }

    function relabel() {
      const items = [...list.children];
      items.forEach((row, i) => {
        row.dataset.index = String(i);
        row.querySelector('.nic-index').textContent = `eth${i}`;
        row.querySelector('.nic-remove').setAttribute('aria-label', `Remove eth${i}`);
        row.querySelector('select').setAttribute('aria-label', `eth${i} network`);
        row.querySelector('input').setAttribute('aria-label', `eth${i} static IP, empty for DHCP`);
      });
      addBtn.disabled = items.length >= MAX_NICS || networks.length === 0;
      hint.replaceChildren();
      if (networks.length === 0)
        hint.append('No networks yet: create one on the ', h('a', { href: '#/networks' }, 'Networks'), ' page.');
      else if (items.length === 0) hint.append('No NIC: the machine is on no network.');
      else hint.append('Without a static IP, the network’s DHCP server gives the address.');
    }

    const ed = {
      el,
      value: () =>
        [...list.children].map((row) => {
          const nic = { network: row.querySelector('select').value };
          const ip = row.querySelector('input').value.trim();
          if (ip) nic.ip = ip;
          if (row.dataset.mac) nic.mac = row.dataset.mac;
          return nic;
        }),
      set(nics) {
        list.replaceChildren();
        for (const n of nics) add(n);
        relabel();
      },
      refresh() {
        for (const select of list.querySelectorAll('select')) fill(select, select.value);
        relabel();
      },
      focusFirstEmpty() {
        const s = [...list.querySelectorAll('select')].find((x) => !x.value);
        if (s) s.focus();
      },
    };
    editors.add(ed);
    relabel();
    return ed;
  }

  // ---- details: NICs and port forwards ------------------------------------------------------------
  function makeDetail(r) {
    const id = r.id;
    r.leases = new Map(); // mac → lease, for NICs without a static IP
    r.nicsKey = '';
    r.portsKey = '';
    r.detailInFlight = false;
    r.nicNotice = notice();
    r.nicNote = h('p', { class: 'muted small', hidden: true }, 'No NIC: this machine is on no network.');
    r.nicTable = miniTable(
      'Network interfaces',
      [{ label: 'Interface' }, { label: 'Network' }, { label: 'MAC' }, { label: 'IP' }],
      'minmax(70px, 0.6fr) minmax(90px, 1fr) minmax(140px, 1.3fr) minmax(110px, 1.2fr)',
    );
    r.nicEditBtn = h(
      'button',
      { type: 'button', class: 'btn btn-sm', 'data-action': 'edit-nics', onclick: () => openNicEditor(r) },
      'Edit NICs',
    );
    r.nicEditor = nicEditor(`vm-${id}`);
    r.nicSaveBtn = h(
      'button',
      { type: 'submit', class: 'btn btn-sm btn-primary', 'data-action': 'save-nics' },
      'Save NICs',
    );
    r.nicForm = h(
      'form',
      { class: 'nic-edit', hidden: true, onsubmit: (ev) => saveNics(r, ev) },
      r.nicEditor.el,
      h(
        'div',
        { class: 'row-end' },
        h('button', { type: 'button', class: 'btn btn-sm', onclick: () => closeNicEditor(r) }, 'Cancel'),
        r.nicSaveBtn,
      ),
    );
    r.nicView = h(
      'div',
      { class: 'nic-view' },
      r.nicNote,
      r.nicTable.el,
      h('div', { class: 'detail-tools' }, r.nicEditBtn),
    );

    r.portNotice = notice();
    r.portNote = h(
      'p',
      { class: 'muted small', hidden: true },
      'No forwards. Forward a host port to reach a service in the machine, e.g. its httpd on port 80.',
    );
    r.portTable = miniTable(
      'Port forwards',
      [
        { label: 'Host' },
        { label: 'Guest port' },
        { label: 'NIC' },
        { label: 'Status' },
        { label: 'Actions', hideLabel: true },
      ],
      'minmax(130px, 1.3fr) minmax(70px, 0.8fr) minmax(50px, 0.5fr) minmax(80px, 0.9fr) auto',
    );
    r.hostPort = h('input', {
      name: 'hostPort',
      id: `vm-${id}-host-port`,
      type: 'number',
      min: 1,
      max: 65535,
      placeholder: 'auto',
      inputmode: 'numeric',
    });
    r.guestPort = h('input', {
      name: 'guestPort',
      id: `vm-${id}-guest-port`,
      type: 'number',
      min: 1,
      max: 65535,
      required: true,
      placeholder: 'e.g. 80',
      inputmode: 'numeric',
    });
    r.portNic = h('select', { name: 'nic', id: `vm-${id}-port-nic` });
    r.portNicField = h('div', { class: 'field field-narrow' }, h('label', { for: r.portNic.id }, 'NIC'), r.portNic);
    r.portAddBtn = h('button', { type: 'submit', class: 'btn btn-sm btn-primary port-add' }, 'Add forward');
    r.portForm = h(
      'form',
      {
        class: 'form-grid port-form',
        onsubmit: (ev) => addPort(r, ev),
        oninput: () => r.portNotice.el.classList.contains('notice-error') && r.portNotice.clear(),
      },
      h('div', { class: 'field field-narrow' }, h('label', { for: r.hostPort.id }, 'Host port'), r.hostPort),
      h('div', { class: 'field field-narrow' }, h('label', { for: r.guestPort.id }, 'Guest port'), r.guestPort),
      r.portNicField,
      h('div', { class: 'field field-action' }, r.portAddBtn),
    );

    r.detail = h(
      'tr',
      { class: 'detail-row', id: `vm-detail-${id}`, hidden: true },
      h(
        'td',
        { colspan: 8 },
        h(
          'div',
          { class: 'detail-grid' },
          h(
            'section',
            { class: 'detail-section', 'aria-labelledby': `vm-${id}-nics-title` },
            h('h3', { class: 'detail-title', id: `vm-${id}-nics-title` }, 'Network interfaces'),
            r.nicView,
            r.nicForm,
            r.nicNotice.el,
          ),
          h(
            'section',
            { class: 'detail-section', 'aria-labelledby': `vm-${id}-ports-title` },
            h('h3', { class: 'detail-title', id: `vm-${id}-ports-title` }, 'Port forwards'),
            r.portNote,
            r.portTable.el,
            r.portForm,
            r.portNotice.el,
          ),
        ),
      ),
    );
  }

  function updateDetail(r) {
    const m = r.machine;
    r.detail.dataset.for = m.name;
    const editable = NICS_EDITABLE.has(m.state);
    r.nicEditBtn.disabled = !editable;
    r.nicEditBtn.title = editable ? '' : `Stop ${m.name} to change its NICs`;
    r.nicEditBtn.setAttribute('aria-label', `Edit the NICs of ${m.name}`);
    const nics = m.nics || [];
    r.portNicField.hidden = nics.length <= 1;
    const key = JSON.stringify(nics.map((n) => n.index));
    if (r.portNic.dataset.key !== key) {
      const prev = r.portNic.value;
      r.portNic.replaceChildren(...nics.map((n) => h('option', { value: String(n.index) }, `eth${n.index}`)));
      if (nics.length === 0) r.portNic.append(h('option', { value: '0' }, 'eth0'));
      if (prev && [...r.portNic.options].some((o) => o.value === prev)) r.portNic.value = prev;
      r.portNic.dataset.key = key;
    }
    if (!r.detail.hidden) renderNics(r);
  }

  function toggleDetails(r, open = r.detail.hidden) {
    r.detail.hidden = !open;
    r.detailsBtn.setAttribute('aria-expanded', String(open));
    r.tr.classList.toggle('expanded', open);
    if (open) {
      renderNics(r);
      loadDetails(r);
      loadNetworks();
    }
  }

  /** The port forwards and, for NICs without a static IP, their networks' DHCP leases. */
  async function loadDetails(r) {
    if (r.detailInFlight || disposed) return;
    r.detailInFlight = true;
    try {
      const id = encodeURIComponent(r.id);
      const dhcpNets = [...new Set((r.machine.nics || []).filter((n) => !n.ip).map((n) => n.network))];
      const [ports, ...leaseLists] = await Promise.all([
        api(`/v1/vms/${id}/ports`),
        ...dhcpNets.map((net) =>
          api(`/v1/networks/${encodeURIComponent(net)}/leases`).catch((e) => {
            if (e.status === 401) throw e;
            return { items: [] };
          }),
        ),
      ]);
      if (disposed) return;
      r.leases = new Map();
      for (const list of leaseLists) for (const l of list.items || []) r.leases.set(l.mac, l);
      renderNics(r);
      renderPorts(r, ports.items || []);
    } catch (e) {
      if (!disposed && e.status !== 401 && e.status !== 404)
        r.portNotice.error(`Could not load the port forwards: ${e.message}`);
    } finally {
      r.detailInFlight = false;
    }
  }

  function renderNics(r) {
    const nics = r.machine.nics || [];
    const key = JSON.stringify([nics, networks.map((n) => [n.id, n.name]), [...r.leases.values()]]);
    if (key === r.nicsKey) return;
    r.nicsKey = key;
    r.nicNote.hidden = nics.length !== 0;
    r.nicTable.el.hidden = nics.length === 0;
    r.nicTable.body.replaceChildren(
      ...nics.map((n) => {
        const lease = n.ip ? null : r.leases.get(n.mac);
        let ip;
        if (n.ip) ip = [h('span', { class: 'mono nic-ip' }, n.ip), ' ', h('span', { class: 'muted small' }, 'static')];
        else if (lease)
          ip = [h('span', { class: 'mono nic-ip' }, lease.ip), ' ', h('span', { class: 'muted small' }, 'DHCP')];
        else ip = h('span', { class: 'muted' }, 'DHCP, no lease yet');
        return r.nicTable.row({ dataset: { nic: String(n.index) } }, [
          h('span', { class: 'mono' }, `eth${n.index}`),
          networkName(n.network),
          h('span', { class: 'mono nic-mac' }, n.mac),
          ip,
        ]);
      }),
    );
  }

  function renderPorts(r, items) {
    const key = JSON.stringify(items);
    if (key === r.portsKey) return;
    r.portsKey = key;
    r.portNote.hidden = items.length !== 0;
    r.portTable.el.hidden = items.length === 0;
    r.portTable.body.replaceChildren(
      ...items.map((p) => {
        const del = h(
          'button',
          {
            type: 'button',
            class: 'btn btn-sm btn-danger-ghost',
            'data-action': 'delete-port',
            'aria-label': `Delete the forward of host port ${p.hostPort}`,
            onclick: () => deletePort(r, p, del),
          },
          'Delete',
        );
        return r.portTable.row({ dataset: { hostPort: String(p.hostPort) } }, [
          h('span', { class: 'mono' }, `${p.address}:${p.hostPort}`),
          h('span', { class: 'mono' }, String(p.guestPort)),
          h('span', { class: 'mono' }, `eth${p.nic}`),
          p.listening
            ? h('span', { class: 'onoff on' }, 'listening')
            : h(
                'span',
                { class: 'onoff off', title: 'The host port could not be bound: another program has it.' },
                'not listening',
              ),
          h('div', { class: 'actions' }, del),
        ]);
      }),
    );
  }

  async function addPort(r, ev) {
    ev.preventDefault();
    r.portNotice.clear();
    const guestPort = Number(r.guestPort.value);
    const hostText = r.hostPort.value.trim();
    if (!Number.isInteger(guestPort) || guestPort < 1 || guestPort > 65535) {
      r.portNotice.error('The guest port is a number from 1 to 65535.');
      r.guestPort.focus();
      return;
    }
    const body = { guestPort };
    if (hostText) body.hostPort = Number(hostText);
    if (!r.portNicField.hidden && r.portNic.value) body.nic = Number(r.portNic.value);
    r.portAddBtn.disabled = true;
    try {
      const p = await api(`/v1/vms/${encodeURIComponent(r.id)}/ports`, { method: 'POST', body });
      r.hostPort.value = '';
      r.guestPort.value = '';
      announce(`Host port ${p.hostPort} forwarded to port ${p.guestPort} of ${r.machine.name}`);
      r.portsKey = '';
      await loadDetails(r);
    } catch (e) {
      if (e.status !== 401) r.portNotice.error(e.message);
    } finally {
      r.portAddBtn.disabled = false;
    }
  }

  async function deletePort(r, p, btn) {
    r.portNotice.clear();
    btn.disabled = true;
    try {
      await api(`/v1/vms/${encodeURIComponent(r.id)}/ports/${p.hostPort}`, { method: 'DELETE' });
      announce(`Forward of host port ${p.hostPort} deleted`);
      r.portsKey = '';
      await loadDetails(r);
      r.guestPort.focus();
    } catch (e) {
      btn.disabled = false;
      if (e.status !== 401) r.portNotice.error(`Could not delete the forward of port ${p.hostPort}: ${e.message}`);
    }
  }

  function openNicEditor(r) {
    r.nicNotice.clear();
    r.nicEditor.set((r.machine.nics || []).map((n) => ({ network: n.network, ip: n.ip, mac: n.mac })));
    r.nicView.hidden = true;
    r.nicForm.hidden = false;
    loadNetworks();
    const first = r.nicForm.querySelector('select, button');
    if (first) first.focus();
  }

  function closeNicEditor(r) {
    r.nicForm.hidden = true;
    r.nicView.hidden = false;
    r.nicEditBtn.focus();
  }

  async function saveNics(r, ev) {
    ev.preventDefault();
    r.nicNotice.clear();
    const nics = r.nicEditor.value();
    if (nics.some((n) => !n.network)) {
      r.nicNotice.error('Choose a network for each NIC (or remove it).');
      r.nicEditor.focusFirstEmpty();
      return;
    }
    r.nicSaveBtn.disabled = true;
    try {
      const m = await api(`/v1/vms/${encodeURIComponent(r.id)}`, { method: 'PATCH', body: { nics } });
      if (m && m.id) updateRow(r, m);
      r.nicsKey = '';
      closeNicEditor(r);
      renderNics(r);
      announce(`${r.machine.name} now has ${plural(nics.length, 'NIC')}`);
      loadDetails(r);
    } catch (e) {
      if (e.status !== 401) r.nicNotice.error(e.message);
    } finally {
      r.nicSaveBtn.disabled = false;
    }
  }

  // ---- start --------------------------------------------------------------------------------------
  loadImages();
  loadNetworks();
  loadList();
  listTimer = setInterval(() => {
    if (document.visibilityState !== 'hidden') loadList();
  }, LIST_INTERVAL_MS);
  statsTimer = setInterval(loadStats, STATS_INTERVAL_MS);
  // Networks made elsewhere (the Networks page in another tab) show up in the NIC pickers.
  const networksTimer = setInterval(() => {
    if (document.visibilityState !== 'hidden') loadNetworks();
  }, NETWORKS_INTERVAL_MS);
  const onVisible = () => {
    if (document.visibilityState === 'visible') {
      loadList();
      loadStats();
      loadNetworks();
    }
  };
  document.addEventListener('visibilitychange', onVisible);

  return () => {
    disposed = true;
    clearInterval(listTimer);
    clearInterval(statsTimer);
    clearInterval(networksTimer);
    observer.disconnect();
    document.removeEventListener('visibilitychange', onVisible);
  };
}
