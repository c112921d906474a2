// Images page: the list, building the default busybox image, uploading an ext2/ext4 file, deleting.
import { api, uploadImage } from './api.js';
import { announce, confirmDialog, formatBytes, formatDate, h, notice } from './ui.js';

export function imagesView(main) {
  let disposed = false;
  let upload = null;
  let lastKey = '';

  const listNotice = notice();
  const buildNotice = notice();
  const uploadNotice = notice();
  const summary = h('p', { class: 'muted page-sub' }, 'Loading…');

  // ---- build the default image ----------------------------------------------------------------------
  const buildName = h('input', {
    id: 'build-name',
    value: 'busybox',
    required: true,
    autocomplete: 'off',
    spellcheck: false,
  });
  const buildBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'build-btn' }, 'Build');
  const buildForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'build-title', onsubmit: onBuild },
    h('h2', { class: 'card-title', id: 'build-title' }, 'Build the default image'),
    h('p', { class: 'muted small' }, 'An ext4 disk with busybox as /sbin/init and a shell on the console.'),
    h(
      'div',
      { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'build-name' }, 'Name'), buildName),
      h('div', { class: 'field field-action' }, buildBtn),
    ),
    buildNotice.el,
  );

  // ---- upload -------------------------------------------------------------------------------------
  const uploadName = h('input', {
    id: 'upload-name',
    required: true,
    autocomplete: 'off',
    spellcheck: false,
    placeholder: 'e.g. my-image',
  });
  const uploadFile = h('input', {
    id: 'upload-file',
    type: 'file',
    required: true,
    accept: '.img,.ext2,.ext3,.ext4,.raw,application/octet-stream',
    onchange: () => {
      const f = uploadFile.files[0];
      if (f && !uploadName.value.trim())
        uploadName.value = f.name.replace(/\.(img|ext[234]|raw)$/i, '').replace(/[^A-Za-z0-9_.-]+/g, '-');
    },
  });
  const uploadBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'upload-btn' }, 'Upload');
  const cancelBtn = h(
    'button',
    { type: 'button', class: 'btn', hidden: true, onclick: () => upload && upload.abort() },
    'Cancel',
  );
  const progress = h('progress', {
    id: 'upload-progress',
    max: 1,
    value: 0,
    hidden: true,
    'aria-label': 'Upload progress',
  });
  const progressText = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const uploadForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'upload-title', onsubmit: onUpload },
    h('h2', { class: 'card-title', id: 'upload-title' }, 'Upload an image'),
    h('p', { class: 'muted small' }, 'A raw ext2 or ext4 filesystem image. It is checked before it is accepted.'),
    h(
      'div',
      { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'upload-file' }, 'File'), uploadFile),
      h('div', { class: 'field' }, h('label', { for: 'upload-name' }, 'Name'), uploadName),
      h('div', { class: 'field field-action' }, uploadBtn, cancelBtn),
    ),
    h('div', { class: 'progress-row' }, progress, progressText),
    uploadNotice.el,
  );

  // ---- list ---------------------------------------------------------------------------------------
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'data images', id: 'images-table' },
    h('caption', { class: 'visually-hidden' }, 'Disk images'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col' }, 'Format'),
        h('th', { scope: 'col' }, 'Source'),
        h('th', { scope: 'col', class: 'num' }, 'Size'),
        h('th', { scope: 'col', class: 'num' }, 'Used by'),
        h('th', { scope: 'col' }, 'Created'),
        h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const empty = h(
    'div',
    { class: 'empty', hidden: true },
    h('p', {}, 'No images yet.'),
    h('p', { class: 'muted' }, 'Build the default busybox image to create machines.'),
  );

  main.append(
    h(
      'section',
      { class: 'page', 'aria-labelledby': 'images-title' },
      h('div', { class: 'page-head' }, h('div', {}, h('h1', { id: 'images-title' }, 'Images'), summary)),
      listNotice.el,
      h('div', { class: 'table-wrap' }, table),
      empty,
      h('div', { class: 'cards-2' }, buildForm, uploadForm),
    ),
  );

  async function load() {
    try {
      const data = await api('/v1/images');
      if (disposed) return;
      const images = Array.isArray(data) ? data : data.items || [];
      // Redraw only when something changed, so a periodic refresh does not steal keyboard focus.
      const key = JSON.stringify(images);
      if (key === lastKey) return;
      lastKey = key;
      tbody.replaceChildren(...images.map(row));
      empty.hidden = images.length !== 0;
      table.hidden = images.length === 0;
      const bytes = images.reduce((a, i) => a + (i.sizeBytes || 0), 0);
      summary.textContent = images.length
        ? `${images.length} image${images.length === 1 ? '' : 's'} · ${formatBytes(bytes)}`
        : 'No images';
    } catch (e) {
      if (!disposed && e.status !== 401) listNotice.error(`Could not load images: ${e.message}`);
    }
  }

  function row(img) {
    const del = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-sm btn-danger-ghost',
        'aria-label': `Delete image ${img.name}`,
        onclick: () => onDelete(img, del),
      },
      'Delete',
    );
    return h(
      'tr',
      { dataset: { name: img.name } },
      h(
        'th',
        { scope: 'row', class: 'name-cell', 'data-label': 'Name' },
        h('span', { class: 'img-name' }, img.name),
        img.sha256 ? h('span', { class: 'vm-id muted', title: `sha256 ${img.sha256}` }, img.sha256.slice(0, 12)) : null,
      ),
      h('td', { 'data-label': 'Format' }, h('span', { class: 'tag' }, img.format)),
      h('td', { 'data-label': 'Source' }, img.source),
      h('td', { class: 'num', 'data-label': 'Size' }, formatBytes(img.sizeBytes)),
      h(
        'td',
        { class: 'num', 'data-label': 'Used by' },
        img.usedBy ? `${img.usedBy} machine${img.usedBy === 1 ? '' : 's'}` : '—',
      ),
      h('td', { 'data-label': 'Created' }, formatDate(img.createdAt)),
      h('td', { class: 'actions-cell' }, h('div', { class: 'actions' }, del)),
    );
  }

  async function onDelete(img, btn) {
    listNotice.clear();
    const answer = await confirmDialog({
      title: `Delete image ${img.name}?`,
      body: img.usedBy
        ? `${img.usedBy} machine${img.usedBy === 1 ? ' uses' : 's use'} it: the server will refuse until they are deleted.`
        : 'Its file is removed from the server. This cannot be undone.',
      okLabel: 'Delete image',
    });
    if (!answer.ok) return;
    btn.disabled = true;
    try {
      await api(`/v1/images/${encodeURIComponent(img.id || img.name)}`, { method: 'DELETE' });
      announce(`Image ${img.name} deleted`);
    } catch (e) {
      if (e.status !== 401) listNotice.error(`Could not delete ${img.name}: ${e.message}`);
    } finally {
      btn.disabled = false;
      load();
    }
  }

  async function onBuild(ev) {
    ev.preventDefault();
    buildNotice.clear();
    const name = buildName.value.trim();
    if (!name) return;
    buildBtn.disabled = true;
    buildBtn.textContent = 'Building…';
    buildNotice.info(`Building ${name}: this takes a little while.`);
    try {
      const img = await api('/v1/images', { method: 'POST', body: { name, source: 'busybox' } });
      buildNotice.info(`Built ${img.name} (${formatBytes(img.sizeBytes)}).`);
      announce(`Image ${img.name} built`);
    } catch (e) {
      if (e.status !== 401) buildNotice.error(e.message);
      else buildNotice.clear();
    } finally {
      buildBtn.disabled = false;
      buildBtn.textContent = 'Build';
      load();
    }
  }

  async function onUpload(ev) {
    ev.preventDefault();
    uploadNotice.clear();
    const file = uploadFile.files[0];
    const name = uploadName.value.trim();
    if (!file) {
      uploadNotice.error('Choose an image file first.');
      uploadFile.focus();
      return;
    }
    if (!name) {
      uploadNotice.error('Give the image a name.');
      uploadName.focus();
      return;
    }
    uploadBtn.disabled = true;
    cancelBtn.hidden = false;
    progress.hidden = false;
    progress.value = 0;
    progressText.textContent = `0 of ${formatBytes(file.size)}`;
    upload = uploadImage(name, file, (loaded, total) => {
      progress.value = total ? loaded / total : 0;
      progressText.textContent =
        loaded >= total
          ? `Sent ${formatBytes(total)}: checking the image…`
          : `${formatBytes(loaded)} of ${formatBytes(total)}`;
    });
    try {
      const img = await upload.promise;
      uploadNotice.info(`Imported ${img.name} (${img.format}, ${formatBytes(img.sizeBytes)}).`);
      announce(`Image ${img.name} imported`);
      uploadForm.reset();
    } catch (e) {
      if (e.status !== 401) uploadNotice.error(e.message);
    } finally {
      upload = null;
      uploadBtn.disabled = false;
      cancelBtn.hidden = true;
      progress.hidden = true;
      progressText.textContent = '';
      load();
    }
  }

  load();
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') load();
  }, 10000);

  return () => {
    disposed = true;
    clearInterval(timer);
    if (upload) upload.abort();
  };
}
