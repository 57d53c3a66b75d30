import { api, ApiError, hasRole, idempotencyKey } from '../api.js';
import { badge, duration, h, mount, msBetween, safeClass, when } from '../dom.js';
import { poll } from './poll.js';

const OPEN = ['pending', 'running'];
const UNSUCCESSFUL = ['failed', 'cancelled'];
// failures first, then what is still moving, then the rest (Airflow's grid reads the same)
const ORDER = { failed: 0, cancelled: 1, running: 2, pending: 3, skipped: 4, completed: 5 };
const GLYPH = {
  completed: '✓',
  failed: '✕',
  cancelled: '⊘',
  running: '…',
  pending: '·',
  skipped: '–',
};

function tenantsOf(run) {
  // a tenant execution shown on its own is a one-row grid
  return run.tenant_id ? [run] : (run.children ?? []);
}

function stepNames(tenants) {
  const seen = new Map();
  for (const t of tenants)
    for (const s of t.steps ?? []) if (!seen.has(s.name)) seen.set(s.name, s.index);
  return [...seen.entries()].sort((a, b) => a[1] - b[1]).map(([name]) => name);
}

/** The step's result summary as the API gives it (a sentence, or figures). */
function summaryText(step) {
  const s = step.summary ?? step.result_summary;
  if (!s) return null;
  if (typeof s === 'string') return s;
  if (typeof s.text === 'string') return s.text;
  return Object.entries(s)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(', ');
}

const runLink = (id) => h('a', { href: `#/run/${encodeURIComponent(id)}` }, h('code', null, id));

/** Where this run's failures went: its retries (and the one going), the run that recovered it. */
function links(run) {
  const out = [];
  const retries = Array.isArray(run.retried_by) ? run.retried_by : [];
  if (retries.length > 0) {
    out.push(
      h('dt', null, 'Retried by'),
      h(
        'dd',
        null,
        retries.map((r) =>
          h('div', null, runLink(r.run_id ?? r.execution_id), ' ', badge(r.status)),
        ),
      ),
    );
  }
  if (run.retry_in_progress) {
    out.push(h('dt', null, 'Retry going'), h('dd', null, runLink(run.retry_in_progress)));
  }
  if (run.recovered_by) {
    out.push(
      h('dt', null, 'Recovered by'),
      h('dd', { id: 'recovered-by' }, runLink(run.recovered_by)),
    );
  }
  return out;
}

export async function runPage(ctx, id) {
  const filters = { tier: '', status: '', tenant: '' };
  let current = null;
  const header = h('div');
  const controls = h('div', { class: 'filters' });
  const grid = h('div', { class: 'scroll grid-wrap' });
  const detail = h('section', { class: 'card detail', 'aria-live': 'polite', hidden: true });
  const actions = h('div', { class: 'actions' });
  mount(
    ctx.root,
    h('p', null, h('a', { href: '#/runs' }, '← All runs')),
    header,
    actions,
    controls,
    grid,
    detail,
  );

  const renderGrid = () => {
    const run = current;
    // a refresh rebuilds the cells: keep the keyboard where it was
    const focused = document.activeElement?.closest?.('tr[data-tenant] button.cell');
    const keep = focused
      ? { tenant: focused.closest('tr').dataset.tenant, step: focused.dataset.step }
      : null;
    const tenants = tenantsOf(run)
      .filter((t) => !filters.tier || t.tier === filters.tier)
      .filter((t) => !filters.status || t.status === filters.status)
      .filter((t) => !filters.tenant || String(t.tenant_id).includes(filters.tenant.trim()))
      .sort(
        (a, b) =>
          (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9) ||
          String(a.tenant_id).localeCompare(String(b.tenant_id)),
      );
    const steps = stepNames(tenantsOf(run));
    mount(
      grid,
      h(
        'table',
        { class: 'grid', 'aria-label': 'Tenants by step' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col', class: 'tenant' }, 'Tenant'),
            h('th', { scope: 'col', class: 'tier' }, 'Tier'),
            steps.map((s) => h('th', { scope: 'col', class: 'step' }, h('span', null, s))),
          ),
        ),
        h(
          'tbody',
          null,
          tenants.map((t) =>
            h(
              'tr',
              { 'data-tenant': t.tenant_id, 'data-status': t.status },
              h(
                'th',
                { scope: 'row', class: 'tenant', title: t.tenant_id },
                badge(t.status),
                ' ',
                // a phone shows the id's first characters; the full id is in the title and
                // in each cell's label
                h('span', { class: 'id-full' }, t.tenant_id),
                h('span', { class: 'id-short' }, String(t.tenant_id).slice(0, 8)),
              ),
              h('td', { class: 'tier' }, t.tier ?? '—'),
              steps.map((name) => {
                const step = (t.steps ?? []).find((s) => s.name === name);
                const state = step?.status ?? 'pending';
                return h(
                  'td',
                  null,
                  h(
                    'button',
                    {
                      type: 'button',
                      class: `cell s-${safeClass(state)}`,
                      'data-step': name,
                      'aria-label': `${t.tenant_id} ${name}: ${state}`,
                      title: `${name}: ${state}`,
                      onclick: () => void showCell(t, name),
                    },
                    GLYPH[state] ?? '?',
                  ),
                );
              }),
            ),
          ),
        ),
      ),
      tenants.length === 0 ? h('p', { class: 'muted' }, 'No tenant matches the filters.') : null,
    );
    if (keep) {
      const row = [...grid.querySelectorAll('tr[data-tenant]')].find(
        (r) => r.dataset.tenant === keep.tenant,
      );
      row?.querySelector(`button[data-step="${CSS.escape(keep.step)}"]`)?.focus();
    }
  };

  const showCell = async (tenant, stepName) => {
    const step = (tenant.steps ?? []).find((s) => s.name === stepName) ?? {
      name: stepName,
      status: 'pending',
    };
    detail.hidden = false;
    const logList = h('ol', { class: 'logs' }, h('li', { class: 'muted' }, 'Loading log lines…'));
    const summary = summaryText(step);
    mount(
      detail,
      h('h2', { tabindex: '-1', id: 'cell-title' }, `${tenant.tenant_id} · ${stepName}`),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'Status'),
        h('dd', null, badge(step.status)),
        h('dt', null, 'Attempts'),
        h('dd', null, String(step.attempts ?? 0)),
        h('dt', null, 'Started'),
        h('dd', null, when(step.started_at)),
        h('dt', null, 'Took'),
        h(
          'dd',
          null,
          step.started_at ? duration(msBetween(step.started_at, step.completed_at)) : '—',
        ),
        h('dt', null, 'Result'),
        h('dd', { class: 'summary' }, summary ?? '—'),
        h('dt', null, 'Error'),
        h('dd', { class: step.error_message ? 'error' : null }, step.error_message ?? '—'),
      ),
      h('h3', null, 'Log lines'),
      logList,
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            detail.hidden = true;
            grid.querySelector(`button[data-step="${CSS.escape(stepName)}"]`)?.focus();
          },
        },
        'Close',
      ),
    );
    detail.querySelector('#cell-title').focus();
    try {
      const logs = await api(`/executions/${encodeURIComponent(tenant.id)}/logs?limit=1000`);
      const lines = logs.items.filter((l) => l.step_name === stepName || !l.step_name);
      mount(
        logList,
        lines.length === 0
          ? h('li', { class: 'muted' }, 'No log lines for this step.')
          : lines.map((l) =>
              h(
                'li',
                { class: `log-${safeClass(l.log_level)}` },
                h('time', { datetime: l.logged_at }, when(l.logged_at)),
                ' ',
                h('strong', null, l.log_level),
                ' ',
                l.log_message,
              ),
            ),
      );
    } catch (err) {
      mount(logList, h('li', { class: 'error' }, `Could not load the logs: ${err.message}`));
    }
  };

  const renderControls = () => {
    const select = (key, label, values) =>
      h(
        'label',
        null,
        label,
        ' ',
        h(
          'select',
          {
            'data-filter': key,
            onchange: (e) => {
              filters[key] = e.target.value;
              renderGrid();
            },
          },
          h('option', { value: '' }, 'all'),
          values.map((v) => h('option', { value: v, selected: filters[key] === v }, v)),
        ),
      );
    const tenants = tenantsOf(current);
    mount(
      controls,
      select('tier', 'Tier', [...new Set(tenants.map((t) => t.tier).filter(Boolean))].sort()),
      select('status', 'Status', [...new Set(tenants.map((t) => t.status))].sort()),
      h(
        'label',
        null,
        'Tenant ',
        h('input', {
          type: 'search',
          'data-filter': 'tenant',
          value: filters.tenant,
          placeholder: 'id contains…',
          oninput: (e) => {
            filters.tenant = e.target.value;
            renderGrid();
          },
        }),
      ),
    );
  };

  const renderActions = () => {
    const run = current;
    const failed = tenantsOf(run).filter((t) => UNSUCCESSFUL.includes(t.status));
    // the API decides (403 for a viewer, 409 when nothing is left or a retry is going); the
    // button is only hidden where it would be refused
    if (
      !hasRole('operator') ||
      OPEN.includes(run.status) ||
      failed.length === 0 ||
      run.retry_in_progress ||
      run.recovered_by
    ) {
      mount(actions);
      return;
    }
    mount(
      actions,
      h(
        'button',
        { type: 'button', class: 'primary', id: 'retry', onclick: () => confirmRetry(run, failed) },
        `Retry ${failed.length} failed tenant(s)…`,
      ),
    );
  };

  const confirmRetry = (run, failed) => {
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'retry-title' },
      h('h2', { id: 'retry-title' }, `Retry ${failed.length} tenant(s)?`),
      h(
        'p',
        null,
        'A new run linked to this one re-runs only these tenants, each from its first step that did not complete:',
      ),
      h(
        'ul',
        { class: 'rerun' },
        failed.map((t) => {
          const from = (t.steps ?? []).filter((s) => s.status !== 'completed').map((s) => s.name);
          return h(
            'li',
            null,
            h('code', null, t.tenant_id),
            ` — ${from.length ? from.join(', ') : 'all steps'}`,
          );
        }),
      ),
      error,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            id: 'retry-confirm',
            onclick: async (e) => {
              e.target.disabled = true;
              try {
                const started = await api(`/executions/${encodeURIComponent(run.id)}/retry`, {
                  method: 'POST',
                  headers: { 'Idempotency-Key': idempotencyKey() },
                });
                dialog.close();
                location.hash = `#/run/${encodeURIComponent(started.execution_id)}`;
              } catch (err) {
                e.target.disabled = false;
                error.hidden = false;
                error.textContent =
                  err instanceof ApiError && err.status === 403
                    ? 'The API refused the retry: it needs the operator role.'
                    : `The retry was not started: ${err.message}`;
              }
            },
          },
          'Retry now',
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      document.getElementById('retry')?.focus();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  };

  const renderHeader = () => {
    const run = current;
    const by = run.progress?.by_status ?? {};
    const total = run.progress?.tenants_total ?? tenantsOf(run).length;
    const finished =
      (by.completed ?? 0) + (by.failed ?? 0) + (by.cancelled ?? 0) + (by.skipped ?? 0);
    mount(
      header,
      h('h1', null, run.workflow_name, ' ', badge(run.status)),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'Run'),
        h('dd', null, h('code', null, run.id)),
        h('dt', null, 'Type'),
        h('dd', null, run.execution_type),
        run.retry_of_execution_id ? h('dt', null, 'Retry of') : null,
        run.retry_of_execution_id
          ? h(
              'dd',
              null,
              h(
                'a',
                { href: `#/run/${encodeURIComponent(run.retry_of_execution_id)}` },
                run.retry_of_execution_id,
              ),
            )
          : null,
        ...links(run),
        h('dt', null, 'Created'),
        h('dd', null, when(run.created_at)),
        h('dt', null, 'Duration'),
        h('dd', null, duration(msBetween(run.created_at, run.completed_at))),
        h('dt', null, 'Tenants'),
        h(
          'dd',
          null,
          Object.entries(by)
            .map(([s, n]) => `${s} ${n}`)
            .join(', ') || '—',
          run.progress
            ? h('progress', { max: total || 1, value: finished, 'aria-label': 'tenants finished' })
            : null,
        ),
        run.error_message ? h('dt', null, 'Error') : null,
        run.error_message ? h('dd', { class: 'error' }, run.error_message) : null,
      ),
      run.children_truncated
        ? h('p', { class: 'muted' }, 'Only the first 1,000 tenants are shown.')
        : null,
    );
  };

  let first = true;
  await poll(ctx, 1500, async () => {
    current = await api(`/executions/${encodeURIComponent(id)}`);
    renderHeader();
    renderActions();
    if (first) renderControls();
    first = false;
    renderGrid();
    return OPEN.includes(current.status);
  });
}
