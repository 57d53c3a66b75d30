import { api, ApiError, claims, clearToken, hasRole, setToken, token } from './api.js';
import { h, mount } from './dom.js';
import { healthPage } from './pages/health.js';
import { runPage } from './pages/run.js';
import { runsPage } from './pages/runs.js';
import { schedulePage } from './pages/schedule.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');

/** What the current page left running (poll timers), stopped when the page changes. */
let cleanup = [];

/**
 * The printed start-up URL carries the token in the fragment (#token=...): a fragment is
 * never sent to the server, so the token stays out of access logs. It moves to
 * sessionStorage (gone when the tab closes) and leaves the address bar at once.
 */
function takeTokenFromFragment() {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', `${location.pathname}#/runs`);
}

function loginPage(message) {
  nav.hidden = true;
  mount(who);
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'token-help',
  });
  const form = h(
    'form',
    {
      class: 'card login',
      onsubmit: async (e) => {
        e.preventDefault();
        setToken(input.value);
        try {
          // any authenticated read proves the token before the pages use it
          await api('/workflows');
          location.hash = '#/runs';
          route();
        } catch (err) {
          clearToken();
          loginPage(
            err instanceof ApiError && err.status === 401
              ? 'The API refused this token (expired, forged or for another instance).'
              : `Could not reach the API: ${err.message}`,
          );
        }
      },
    },
    h('h1', null, 'Sign in'),
    h('label', { for: 'token' }, 'Bearer token (JWT)'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'muted' },
      'The token is kept in this tab only (sessionStorage). With no key configured, the service prints a URL that opens the console signed in.',
    ),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  mount(main, form);
  input.focus();
}

function signedInHeader() {
  nav.hidden = false;
  const c = claims();
  const role = hasRole('admin') ? 'admin' : hasRole('operator') ? 'operator' : 'viewer';
  mount(
    who,
    h('span', { class: 'muted' }, `${c?.sub ?? 'token'} · ${role}`),
    ' ',
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          clearToken();
          loginPage();
        },
      },
      'Sign out',
    ),
  );
}

async function route() {
  for (const stop of cleanup) stop();
  cleanup = [];
  takeTokenFromFragment();
  if (!token()) return loginPage();
  signedInHeader();
  const hash = location.hash || '#/runs';
  const [, page, arg] = /^#\/([a-z-]+)(?:\/([^/?#]+))?/.exec(hash) ?? [];
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.page === (page === 'run' ? 'runs' : page)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const ctx = {
    root: main,
    onCleanup: (fn) => cleanup.push(fn),
    onUnauthorized: () => {
      clearToken();
      loginPage('The API refused the token (it may have expired): sign in again.');
    },
  };
  try {
    if (page === 'run' && arg) await runPage(ctx, decodeURIComponent(arg));
    else if (page === 'schedule') await schedulePage(ctx);
    else if (page === 'health') await healthPage(ctx);
    else await runsPage(ctx);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return ctx.onUnauthorized();
    mount(
      main,
      h('p', { class: 'error', role: 'alert' }, `Could not load the page: ${err.message}`),
    );
  }
}

window.addEventListener('hashchange', () => void route());
void route();
