// Networks page: the virtual switches machines' NICs plug into. The list with each network's
// addressing, services and NIC count, the create form, deleting, each network's DHCP leases, and a
// live capture of its frames saved as <network>.pcap.
import { api, apiStream } from './api.js';
import { announce, confirmDialog, formatBytes, formatDate, h, miniTable, notice, plural } from './ui.js';

const LIST_INTERVAL_MS = 5000;
const CAPTURE_SECONDS = 30;
const CAPTURE_MAX_SECONDS = 3600;
const PCAP_TYPE = 'application/vnd.tcpdump.pcap';

export function networksView(main) {
  let disposed = false;
  let listInFlight = false;
  const rows = new Map(); // id → row record

  // ---- layout -------------------------------------------------------------------------------------
  const summary = h('p', { class: 'muted page-sub', id: 'networks-summary' }, 'Loading…');
  const listNotice = notice();
  listNotice.el.id = 'networks-notice';
  const createNotice = notice();

  const nameInput = h('input', {
    id: 'net-name',
    name: 'name',
    required: true,
    autocomplete: 'off',
    spellcheck: false,
    maxlength: 63,
    placeholder: 'e.g. lab',
  });
  const cidrInput = h('input', {
    id: 'net-cidr',
    name: 'cidr',
    required: true,
    autocomplete: 'off',
    spellcheck: false,
    maxlength: 18,
    placeholder: '10.0.0.0/24',
    'aria-describedby': 'net-cidr-hint',
  });
  const gatewayInput = h('input', {
    id: 'net-gateway',
    name: 'gateway',
    autocomplete: 'off',
    spellcheck: false,
    maxlength: 15,
    placeholder: 'first host address',
  });
  const dhcpInput = h('input', { id: 'net-dhcp', name: 'dhcp', type: 'checkbox', checked: true });
  const dnsInput = h('input', { id: 'net-dns', name: 'dns', type: 'checkbox', checked: true });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'net-create' }, 'Create network');
  const createForm = h(
    'form',
    {
      class: 'card create-form',
      id: 'net-create-form',
      'aria-labelledby': 'net-create-title',
      onsubmit: onCreate,
      oninput: () => createNotice.el.classList.contains('notice-error') && createNotice.clear(),
    },
    h('h2', { id: 'net-create-title', class: 'card-title' }, 'New network'),
    h(
      'p',
      { class: 'muted small', id: 'net-cidr-hint' },
      'One virtual switch. The host joins it at the gateway address and can answer DHCP and DNS there.',
    ),
    h(
      'div',
      { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'net-name' }, 'Name'), nameInput),
      h('div', { class: 'field' }, h('label', { for: 'net-cidr' }, 'CIDR'), cidrInput),
      h('div', { class: 'field' }, h('label', { for: 'net-gateway' }, 'Gateway (optional)'), gatewayInput),
      h(
        'div',
        { class: 'field field-checks', role: 'group', 'aria-label': 'Services' },
        h('label', { class: 'check', for: 'net-dhcp' }, dhcpInput, h('span', {}, 'DHCP')),
        h('label', { class: 'check', for: 'net-dns' }, dnsInput, h('span', {}, 'DNS')),
      ),
      h('div', { class: 'field field-action' }, createBtn),
    ),
    createNotice.el,
  );

  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'data networks', id: 'networks-table' },
    h('caption', { class: 'visually-hidden' }, 'Networks, their addressing, services and NICs'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col' }, 'CIDR'),
        h('th', { scope: 'col' }, 'Gateway'),
        h('th', { scope: 'col' }, 'DHCP'),
        h('th', { scope: 'col' }, 'DNS'),
        h('th', { scope: 'col', class: 'num' }, 'NICs'),
        h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const empty = h(
    'div',
    { class: 'empty', hidden: true },
    h('p', {}, 'No networks yet.'),
    h('p', { class: 'muted' }, 'Create one above, then give machines a NIC on it.'),
  );

  main.append(
    h(
      'section',
      { class: 'page', 'aria-labelledby': 'networks-title' },
      h('div', { class: 'page-head' }, h('div', {}, h('h1', { id: 'networks-title' }, 'Networks'), summary)),
      createForm,
      listNotice.el,
      h('div', { class: 'table-wrap' }, table),
      empty,
    ),
  );

  // ---- list ---------------------------------------------------------------------------------------
  async function loadList() {
    if (disposed || listInFlight) return;
    listInFlight = true;
    try {
      const data = await api('/v1/networks');
      if (disposed) return;
      sync(data.items || []);
      if (listNotice.el.dataset.kind === 'list') listNotice.clear();
    } catch (e) {
      if (!disposed && e.status !== 401) {
        listNotice.error(`Could not load networks: ${e.message}`);
        listNotice.el.dataset.kind = 'list';
      }
    } finally {
      listInFlight = false;
    }
  }

  function sync(items) {
    const seen = new Set();
    let before = null;
    // Keep the server's order; reuse rows so focus, open details and captures survive a refresh.
    for (let i = items.length - 1; i >= 0; i--) {
      const n = items[i];
      seen.add(n.id);
      let r = rows.get(n.id);
      if (!r) {
        r = makeRow(n);
        rows.set(n.id, r);
      }
      updateRow(r, n);
      if (r.detail.nextSibling !== before || r.detail.parentNode !== tbody) tbody.insertBefore(r.detail, before);
      if (r.tr.nextSibling !== r.detail) tbody.insertBefore(r.tr, r.detail);
      before = r.tr;
      if (!r.detail.hidden) loadLeases(r);
    }
    for (const [id, r] of rows) {
      if (!seen.has(id)) {
        if (r.capture) r.capture.ctrl.abort();
        r.tr.remove();
        r.detail.remove();
        rows.delete(id);
      }
    }
    const nics = items.reduce((a, n) => a + (n.nics || 0), 0);
    summary.textContent =
      items.length === 0 ? 'No networks' : `${plural(items.length, 'network')} · ${plural(nics, 'NIC')} plugged in`;
    empty.hidden = items.length !== 0;
    table.hidden = items.length === 0;
  }

  function onOff(on) {
    return h('span', { class: `onoff ${on ? 'on' : 'off'}` }, on ? 'on' : 'off');
  }

  function makeRow(n) {
    const r = { id: n.id, net: n, capture: null, leasesKey: '', leasesInFlight: false };
    const detailId = `net-detail-${n.id}`;
    r.nameText = h('span', { class: 'img-name' });
    r.idText = h('span', { class: 'vm-id muted' });
    r.cidr = h('td', { 'data-label': 'CIDR', class: 'mono' });
    r.gateway = h('td', { 'data-label': 'Gateway', class: 'mono' });
    r.dhcp = h('td', { 'data-label': 'DHCP' });
    r.dns = h('td', { 'data-label': 'DNS' });
    r.nics = h('td', { class: 'num', 'data-label': 'NICs' });
    r.detailsBtn = h(
      'button',
      {
        type: 'button',
        class: 'disclosure',
        'data-action': 'details',
        'aria-expanded': 'false',
        'aria-controls': detailId,
        title: 'Details: DHCP leases and capture',
        onclick: () => toggleDetails(r),
      },
      h('span', { class: 'visually-hidden' }, 'Details'),
    );
    r.captureBtn = h(
      'button',
      { type: 'button', class: 'btn btn-sm', 'data-action': 'capture', onclick: () => onCapture(r) },
      'Capture',
    );
    r.deleteBtn = h(
      'button',
      { type: 'button', class: 'btn btn-sm btn-danger-ghost', 'data-action': 'delete', onclick: () => onDelete(r) },
      'Delete',
    );
    r.actions = h('div', { class: 'actions', role: 'group' }, r.captureBtn, r.deleteBtn);
    r.tr = h(
      'tr',
      { dataset: { id: n.id } },
      h(
        'th',
        { scope: 'row', class: 'name-cell', 'data-label': 'Name' },
        h('div', { class: 'name-wrap' }, r.detailsBtn, h('div', { class: 'name-text' }, r.nameText, r.idText)),
      ),
      r.cidr,
      r.gateway,
      r.dhcp,
      r.dns,
      r.nics,
      h('td', { class: 'actions-cell' }, r.actions),
    );

    // Details: the capture's length and progress, and the DHCP leases.
    r.seconds = h('input', {
      type: 'number',
      name: 'seconds',
      class: 'input-sm',
      id: `net-seconds-${n.id}`,
      min: 1,
      max: CAPTURE_MAX_SECONDS,
      step: 1,
      value: CAPTURE_SECONDS,
      inputmode: 'numeric',
    });
    r.captureStatus = h('span', { class: 'muted small capture-status', 'aria-live': 'polite' });
    r.captureNotice = notice();
    r.leasesNote = h('p', { class: 'muted small', hidden: true });
    r.leases = miniTable(
      'DHCP leases',
      [{ label: 'IP' }, { label: 'MAC' }, { label: 'Host name' }, { label: 'Expires' }],
      'minmax(80px, 0.8fr) minmax(130px, 1.1fr) minmax(90px, 1.2fr) minmax(80px, 0.8fr)',
    );
    r.leasesTitle = h('h3', { class: 'detail-title', id: `net-leases-title-${n.id}` }, 'DHCP leases');
    r.detail = h(
      'tr',
      { class: 'detail-row', id: detailId, hidden: true, dataset: { for: n.name } },
      h(
        'td',
        { colspan: 7 },
        h(
          'div',
          { class: 'detail-grid' },
          h(
            'section',
            { class: 'detail-section', 'aria-labelledby': `net-capture-title-${n.id}` },
            h('h3', { class: 'detail-title', id: `net-capture-title-${n.id}` }, 'Capture'),
            h(
              'p',
              { class: 'muted small' },
              'Records every frame on the switch and saves it as a pcap file for Wireshark or tshark.',
            ),
            h(
              'div',
              { class: 'inline-form' },
              h('label', { for: `net-seconds-${n.id}` }, 'Length (seconds)'),
              r.seconds,
            ),
            r.captureStatus,
            r.captureNotice.el,
          ),
          h(
            'section',
            { class: 'detail-section', 'aria-labelledby': `net-leases-title-${n.id}` },
            r.leasesTitle,
            r.leasesNote,
            r.leases.el,
          ),
        ),
      ),
    );
    return r;
  }

  function updateRow(r, n) {
    r.net = n;
    r.tr.dataset.name = n.name;
    r.tr.dataset.nics = String(n.nics);
    r.detail.dataset.for = n.name;
    r.nameText.textContent = n.name;
    r.idText.textContent = n.id.length > 12 ? n.id.slice(0, 8) : n.id;
    r.idText.title = n.id;
    r.cidr.textContent = n.cidr;
    r.gateway.textContent = n.gateway;
    r.dhcp.replaceChildren(onOff(n.dhcp));
    r.dns.replaceChildren(onOff(n.dns));
    r.nics.textContent = String(n.nics);
    r.nics.title = n.nics ? `${plural(n.nics, 'NIC')} plugged in` : 'No NIC plugged in';
    r.actions.setAttribute('aria-label', `Actions for ${n.name}`);
    r.detailsBtn.setAttribute('aria-label', `DHCP leases and capture of ${n.name}`);
    r.deleteBtn.setAttribute('aria-label', `Delete network ${n.name}`);
    renderCapture(r);
  }

  function toggleDetails(r, open = r.detail.hidden) {
    r.detail.hidden = !open;
    r.detailsBtn.setAttribute('aria-expanded', String(open));
    r.tr.classList.toggle('expanded', open);
    if (open) loadLeases(r);
  }

  async function loadLeases(r) {
    if (r.leasesInFlight) return;
    r.leasesInFlight = true;
    try {
      const data = await api(`/v1/networks/${encodeURIComponent(r.id)}/leases`);
      if (disposed) return;
      const items = data.items || [];
      // The minute is part of the key: "expires in N min" counts down.
      const key = JSON.stringify([items, r.net.dhcp, Math.floor(Date.now() / 60_000)]);
      if (key === r.leasesKey) return;
      r.leasesKey = key;
      const now = Date.now();
      r.leases.body.replaceChildren(
        ...items.map((l) => {
          const expired = new Date(l.expiresAt).getTime() < now;
          return r.leases.row({ dataset: { mac: l.mac } }, [
            h('span', { class: 'mono' }, l.ip),
            h('span', { class: 'mono' }, l.mac),
            l.hostname || '—',
            h(
              'span',
              { class: expired ? 'muted' : '', title: formatDate(l.expiresAt) },
              expired
                ? 'expired'
                : `in ${Math.max(1, Math.round((new Date(l.expiresAt).getTime() - now) / 60_000))} min`,
            ),
          ]);
        }),
      );
      r.leases.el.hidden = items.length === 0;
      r.leasesNote.hidden = items.length !== 0;
      r.leasesNote.textContent = r.net.dhcp
        ? 'No leases yet: a machine gets one when its DHCP client (udhcpc) asks.'
        : 'DHCP is off on this network: machines need a static IP.';
    } catch (e) {
      if (!disposed && e.status !== 401) {
        r.leasesNote.hidden = false;
        r.leasesNote.textContent = `Could not load the leases: ${e.message}`;
        r.leasesKey = '';
      }
    } finally {
      r.leasesInFlight = false;
    }
  }

  // ---- capture ------------------------------------------------------------------------------------
  /** Starts a capture, or stops the running one (which saves what it recorded). */
  function onCapture(r) {
    if (r.capture) {
      r.capture.ctrl.abort();
      return;
    }
    capture(r);
  }

  async function capture(r) {
    const net = r.net;
    const seconds = Math.min(CAPTURE_MAX_SECONDS, Math.max(1, Math.round(Number(r.seconds.value) || CAPTURE_SECONDS)));
    r.seconds.value = String(seconds);
    const cap = {
      ctrl: new globalThis.AbortController(),
      chunks: [],
      bytes: 0,
      frames: 0,
      endsAt: Date.now() + seconds * 1000,
      // pcap parsing, only to count the frames: the 24-byte file header, then 16 bytes per record.
      head: new Uint8Array(24),
      headLen: 0,
      want: 24,
      skip: 0,
      littleEndian: true,
      started: false,
    };
    r.capture = cap;
    r.captureNotice.clear();
    if (r.detail.hidden) toggleDetails(r, true);
    renderCapture(r);
    const tick = setInterval(() => {
      if (Date.now() >= cap.endsAt) cap.ctrl.abort();
      renderCapture(r);
    }, 250);
    let error = null;
    try {
      const res = await apiStream(`/v1/networks/${encodeURIComponent(net.id)}/capture`, {
        signal: cap.ctrl.signal,
        accept: PCAP_TYPE,
      });
      cap.started = true;
      announce(`Capturing ${net.name} for ${seconds} seconds`);
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        cap.chunks.push(value);
        cap.bytes += value.length;
        countFrames(cap, value);
        renderCapture(r);
      }
    } catch (e) {
      if (!(e && e.name === 'AbortError')) error = e;
    } finally {
      clearInterval(tick);
      r.capture = null;
    }
    renderCapture(r);
    if (cap.bytes > 0) {
      savePcap(`${net.name}.pcap`, cap.chunks);
      const what = `${plural(cap.frames, 'frame')}, ${formatBytes(cap.bytes)}`;
      r.captureStatus.textContent = `Saved ${net.name}.pcap: ${what}.`;
      announce(`Capture of ${net.name} saved: ${what}`);
    }
    if (error && error.status !== 401) r.captureNotice.error(`Could not capture ${net.name}: ${error.message}`);
    else if (!error && cap.bytes === 0) r.captureStatus.textContent = 'Stopped before the capture began.';
  }

  function countFrames(cap, chunk) {
    let i = 0;
    while (i < chunk.length) {
      if (cap.skip > 0) {
        const n = Math.min(cap.skip, chunk.length - i);
        cap.skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(cap.want - cap.headLen, chunk.length - i);
      cap.head.set(chunk.subarray(i, i + n), cap.headLen);
      cap.headLen += n;
      i += n;
      if (cap.headLen < cap.want) continue;
      const view = new DataView(cap.head.buffer, 0, cap.want);
      if (cap.want === 24) {
        const magic = view.getUint32(0, true);
        cap.littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
        cap.want = 16;
      } else {
        cap.frames++;
        cap.skip = view.getUint32(8, cap.littleEndian);
      }
      cap.headLen = 0;
    }
  }

  function renderCapture(r) {
    const cap = r.capture;
    const name = r.net.name;
    r.tr.classList.toggle('capturing', !!cap);
    r.seconds.disabled = !!cap;
    r.captureBtn.textContent = cap ? 'Stop capture' : 'Capture';
    r.captureBtn.classList.toggle('btn-rec', !!cap);
    r.captureBtn.setAttribute(
      'aria-label',
      cap ? `Stop capturing ${name} and save the file` : `Capture ${name} to ${name}.pcap`,
    );
    if (!cap) return;
    const left = Math.max(0, Math.ceil((cap.endsAt - Date.now()) / 1000));
    r.captureStatus.textContent = cap.started
      ? `Recording: ${plural(cap.frames, 'frame')}, ${formatBytes(cap.bytes)} · ${left} s left`
      : 'Connecting…';
  }

  function savePcap(filename, chunks) {
    const blob = new globalThis.Blob(chunks, { type: PCAP_TYPE });
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  // ---- delete and create --------------------------------------------------------------------------
  async function onDelete(r) {
    const n = r.net;
    listNotice.clear();
    const answer = await confirmDialog({
      title: `Delete network ${n.name}?`,
      body: n.nics
        ? `${plural(n.nics, 'NIC')} ${n.nics === 1 ? 'is' : 'are'} plugged into it: the server refuses until those machines are deleted or their NICs removed.`
        : 'Its switch goes, with its leases and any capture of it. This cannot be undone.',
      okLabel: 'Delete network',
    });
    if (!answer.ok) return;
    r.deleteBtn.disabled = true;
    try {
      await api(`/v1/networks/${encodeURIComponent(n.id)}`, { method: 'DELETE' });
      announce(`Network ${n.name} deleted`);
    } catch (e) {
      if (e.status !== 401) {
        listNotice.error(`Could not delete ${n.name}: ${e.message}`);
        listNotice.el.dataset.kind = 'action';
      }
    } finally {
      r.deleteBtn.disabled = false;
      loadList();
    }
  }

  async function onCreate(ev) {
    ev.preventDefault();
    createNotice.clear();
    const name = nameInput.value.trim();
    const cidr = cidrInput.value.trim();
    const gateway = gatewayInput.value.trim();
    if (!name) {
      createNotice.error('Give the network a name.');
      nameInput.focus();
      return;
    }
    if (!cidr) {
      createNotice.error('Give the network an address range, e.g. 10.0.0.0/24.');
      cidrInput.focus();
      return;
    }
    const body = { name, cidr, dhcp: dhcpInput.checked, dns: dnsInput.checked };
    if (gateway) body.gateway = gateway;
    createBtn.disabled = true;
    createBtn.textContent = 'Creating…';
    try {
      const n = await api('/v1/networks', { method: 'POST', body });
      nameInput.value = '';
      cidrInput.value = '';
      gatewayInput.value = '';
      announce(`Network ${n.name} created`);
      await loadList();
      const r = rows.get(n.id);
      if (r) {
        r.tr.classList.add('fresh');
        setTimeout(() => r.tr.classList.remove('fresh'), 1500);
      }
    } catch (e) {
      if (e.status !== 401) {
        createNotice.error(e.message);
        nameInput.focus();
      }
    } finally {
      createBtn.disabled = false;
      createBtn.textContent = 'Create network';
    }
  }

  // ---- start --------------------------------------------------------------------------------------
  loadList();
  const timer = setInterval(() => {
    if (document.visibilityState !== 'hidden') loadList();
  }, LIST_INTERVAL_MS);

  return () => {
    disposed = true;
    clearInterval(timer);
    // A capture running when the page changes ends here and is saved with what it recorded.
    for (const r of rows.values()) if (r.capture) r.capture.ctrl.abort();
  };
}
