// Labvisor web UI: hash routes, the token prompt and sign-out. Views live in their own modules and
// return a cleanup function that the router calls when the route changes.
import { clearToken, getToken, setToken, setUnauthorizedHandler } from './api.js';
import { machinesView } from './machines.js';
import { imagesView } from './images.js';
import { networksView } from './networks.js';

const main = document.getElementById('main');
const tokenDialog = document.getElementById('token-dialog');
const tokenForm = document.getElementById('token-form');
const tokenInput = document.getElementById('token-input');
const tokenMessage = document.getElementById('token-message');
const signout = document.getElementById('signout');

let cleanup = null;
let routeKey = '';
let firstRender = true;

const routes = [
  // The console module (and xterm.js with it) loads only when a console is opened.
  { re: /^\/vms\/([^/]+)\/console$/, nav: 'machines', view: (m) => loadConsole(decodeURIComponent(m[1])) },
  { re: /^\/images$/, nav: 'images', view: () => imagesView(main) },
  { re: /^\/networks$/, nav: 'networks', view: () => networksView(main) },
  { re: /^\/(machines)?$/, nav: 'machines', view: () => machinesView(main) },
];

/** Opens the console view once its module loaded; returns the cleanup (also if the route changed meanwhile). */
function loadConsole(id) {
  let dispose = null;
  let gone = false;
  import('./console.js')
    .then(({ consoleView }) => {
      if (!gone) dispose = consoleView(main, id);
    })
    .catch((e) => {
      if (gone) return;
      const p = document.createElement('p');
      p.className = 'notice notice-error';
      p.setAttribute('role', 'alert');
      p.textContent = `The console could not be loaded (${e.message}). Is xterm.js served under /vendor/?`;
      const sec = document.createElement('section');
      sec.className = 'page';
      sec.append(p);
      main.append(sec);
    });
  return () => {
    gone = true;
    if (dispose) dispose();
  };
}

function currentPath() {
  const hash = location.hash.replace(/^#/, '');
  return hash || '/machines';
}

function render(force = false) {
  const path = currentPath();
  if (!force && path === routeKey) return;
  routeKey = path;
  if (cleanup) {
    try {
      cleanup();
    } catch (e) {
      console.error(e);
    }
    cleanup = null;
  }
  main.replaceChildren();
  const route = routes.find((r) => r.re.test(path));
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (route && a.dataset.nav === route.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.body.dataset.route = route ? route.nav + (path.endsWith('/console') ? '-console' : '') : 'none';
  if (!route) {
    main.append(notFound(path));
    return;
  }
  if (!getToken() && !noAuth) {
    showTokenPrompt('');
    return;
  }
  signout.hidden = noAuth && !getToken();
  cleanup = route.view(path.match(route.re)) || null;
  // After a navigation, keyboard and screen-reader users start at the new page (the console focuses its terminal).
  if (!firstRender && route.nav !== 'machines-console' && !path.endsWith('/console'))
    main.focus({ preventScroll: true });
  firstRender = false;
}

function notFound(path) {
  const sec = document.createElement('section');
  sec.className = 'page';
  const h1 = document.createElement('h1');
  h1.textContent = 'Not found';
  const p = document.createElement('p');
  p.textContent = `Nothing lives at ${path}. `;
  const a = document.createElement('a');
  a.href = '#/machines';
  a.textContent = 'Go to machines';
  p.append(a);
  sec.append(h1, p);
  return sec;
}

function showTokenPrompt(message) {
  tokenMessage.textContent = message;
  tokenMessage.hidden = !message;
  signout.hidden = !getToken();
  if (!tokenDialog.open) {
    tokenInput.value = '';
    tokenDialog.showModal();
  }
  tokenInput.focus();
}

tokenForm.addEventListener('submit', (ev) => {
  const token = tokenInput.value.trim();
  if (!token) {
    ev.preventDefault();
    return;
  }
  setToken(token);
  tokenInput.value = '';
  // The dialog closes itself (method="dialog"); draw the page again with the new token.
  render(true);
});

// Escape on the token prompt: without a token there is nothing to show, so keep it open.
tokenDialog.addEventListener('cancel', (ev) => {
  if (!getToken()) ev.preventDefault();
});

signout.addEventListener('click', () => {
  clearToken();
  signout.hidden = true;
  if (cleanup) cleanup();
  cleanup = null;
  main.replaceChildren();
  showTokenPrompt('You signed out. Paste a token to sign in again.');
});

setUnauthorizedHandler((message) => {
  clearToken();
  // Stop the view's polling and sockets; it is drawn again once a token is given.
  if (cleanup) {
    try {
      cleanup();
    } catch (e) {
      console.error(e);
    }
    cleanup = null;
  }
  showTokenPrompt(message);
});

/**
 * A server started with --no-auth (loopback only) answers without a token: then the UI does not ask
 * for one. Anything else (401, no answer) leaves the prompt to the first render.
 */
async function detectNoAuth() {
  if (getToken()) return;
  try {
    const res = await fetch('/v1/vms?limit=1', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    noAuth = res.ok;
  } catch {
    noAuth = false;
  }
}

let noAuth = false;
window.addEventListener('hashchange', () => render());
detectNoAuth().then(() => render(true));
