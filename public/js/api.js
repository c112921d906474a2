// The Labvisor REST API as the UI uses it: a bearer token kept in localStorage, JSON in and out,
// problem+json errors turned into ApiError (detail is the sentence to show the user).

const TOKEN_KEY = 'labvisor.token';

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  localStorage.removeItem(TOKEN_KEY);
}

/** An error answer from the API (or the network). */
export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

let onUnauthorized = () => {};

/** Called with a message whenever the API answers 401 (the token is missing, wrong or revoked). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

function errorFromBody(status, statusText, body) {
  if (body && typeof body === 'object') {
    const detail = body.detail || body.title || body.message;
    if (detail) return new ApiError(status, String(detail), body);
  }
  if (typeof body === 'string' && body.trim() && body.length < 300) return new ApiError(status, body.trim(), body);
  return new ApiError(status, `${status} ${statusText || 'error'}`.trim(), body);
}

async function readBody(res) {
  const type = res.headers.get('content-type') || '';
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  if (type.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * fetch() on the API. `body` (an object) is sent as JSON. Resolves with the parsed answer
 * (null for 204); rejects with ApiError.
 */
export async function api(path, { method = 'GET', body, signal, headers = {} } = {}) {
  const h = { Accept: 'application/json, application/problem+json', ...headers };
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload, signal, cache: 'no-store' });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The server cannot be reached. Is labvisor serve running?', null);
  }
  const data = await readBody(res);
  if (res.status === 401) {
    const err = errorFromBody(401, res.statusText, data);
    onUnauthorized(token ? `The server refused the token: ${err.detail}` : 'An API token is needed.');
    throw err;
  }
  if (!res.ok) throw errorFromBody(res.status, res.statusText, data);
  return data;
}

/**
 * GET on the API for an answer read as a stream (a network's pcap capture, which lasts until it is
 * aborted). Resolves with the Response once its headers arrived and it is a success; rejects with
 * ApiError otherwise (the problem's detail), or with the AbortError when `signal` aborts first.
 */
export async function apiStream(path, { signal, accept = 'application/octet-stream' } = {}) {
  const h = { Accept: `${accept}, application/problem+json` };
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { headers: h, signal, cache: 'no-store' });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The server cannot be reached. Is labvisor serve running?', null);
  }
  if (res.ok) return res;
  const data = await readBody(res);
  if (res.status === 401) {
    const err = errorFromBody(401, res.statusText, data);
    onUnauthorized(token ? `The server refused the token: ${err.detail}` : 'An API token is needed.');
    throw err;
  }
  throw errorFromBody(res.status, res.statusText, data);
}

/**
 * Uploads a disk image file as a raw stream (POST /v1/images?name=X, application/octet-stream).
 * XMLHttpRequest because it reports upload progress; the browser streams the file from disk.
 * Returns { promise, abort }.
 */
export function uploadImage(name, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', `/v1/images?name=${encodeURIComponent(name)}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    const token = getToken();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) onProgress(ev.loaded, ev.total);
    };
    xhr.onload = () => {
      let data = xhr.responseText;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      if (xhr.status === 401) {
        const err = errorFromBody(401, xhr.statusText, data);
        onUnauthorized(`The server refused the token: ${err.detail}`);
        reject(err);
      } else if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(errorFromBody(xhr.status, xhr.statusText, data));
    };
    xhr.onerror = () => reject(new ApiError(0, 'The upload failed: the connection to the server broke.', null));
    xhr.onabort = () => reject(new ApiError(0, 'Upload cancelled.', null));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}

/** ws:// or wss:// URL of a machine's console on this server. */
export function consoleUrl(id) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/v1/vms/${encodeURIComponent(id)}/console`;
}

/** Subprotocols for the console WebSocket: the protocol version and the token (browsers cannot set headers). */
export function consoleProtocols() {
  const token = getToken();
  return token ? ['labvisor.console.v1', `bearer.${token}`] : ['labvisor.console.v1'];
}
