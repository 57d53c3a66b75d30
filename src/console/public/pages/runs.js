import { api } from '../api.js';
import { badge, duration, h, mount, msBetween, when } from '../dom.js';
import { poll } from './poll.js';

const PER_WORKFLOW = 5;
const OPEN = ['pending', 'running'];

/** A count, or the sum of counts by reason ({ suspended: 3, cancelled: 2 }). */
function count(value) {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object')
    return Object.values(value).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
  return 0;
}

/**
 * Tenants done / failed / skipped of a run: live counts while open, its summary after.
 * Skipped are the tenants left out when the run was planned (suspended, cancelled).
 */
function tenantCounts(run, progress) {
  const s = run.result_summary ?? {};
  const skipped = count(s.tenants_skipped);
  const by = progress?.by_status;
  if (by) {
    return {
      done: by.completed ?? 0,
      failed: (by.failed ?? 0) + (by.cancelled ?? 0),
      skipped: skipped + (by.skipped ?? 0),
      total: Object.values(by).reduce((a, b) => a + b, 0),
    };
  }
  return {
    done: count(s.tenants_succeeded),
    failed: count(s.tenants_failed) + count(s.tenants_cancelled),
    skipped,
    total: count(s.tenants_processed),
  };
}

/**
 * The run's deadline verdict (WORKFLOW_DEADLINES, judged once per scheduled run): met, or
 * how many tenants missed it; scheduled runs not judged yet are pending; manual runs,
 * retries and backfills are not judged.
 */
function deadlineCell(run, verdicts) {
  const v = verdicts.get(run.id);
  if (v) return v.met ? 'met' : `missed by ${v.tenants_missed} of ${v.tenants_total}`;
  return ['scheduled', 'catch_up'].includes(run.execution_type) ? 'not judged yet' : '—';
}

/** GET /statistics reads 30 days of history: asked at most once a minute, not every poll. */
const VERDICTS_EVERY_MS = 60000;

export async function runsPage(ctx) {
  const table = h('div', { class: 'stack' });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  mount(ctx.root, h('h1', null, 'Runs'), status, table);

  let verdicts = new Map();
  let verdictsAt = 0;
  let closedBefore = new Set();
  await poll(
    ctx,
    2000,
    async () => {
      const [workflows, runs] = await Promise.all([
        api('/workflows'),
        api('/executions?runs_only=true&limit=200'),
      ]);
      const closed = new Set(runs.items.filter((r) => !OPEN.includes(r.status)).map((r) => r.id));
      const newlyClosed = [...closed].some((id) => !closedBefore.has(id));
      closedBefore = closed;
      if (Date.now() - verdictsAt > VERDICTS_EVERY_MS || newlyClosed) {
        verdictsAt = Date.now();
        try {
          const stats = await api('/statistics');
          verdicts = new Map((stats.deadlines?.runs ?? []).map((v) => [v.run_id, v]));
        } catch {
          // the verdicts are one column, not the page: keep the last ones
        }
      }
      const open = runs.items.filter((r) => OPEN.includes(r.status));
      // live progress only for open runs: a closed run's summary already has the counts
      const progress = new Map(
        await Promise.all(
          open.map(async (r) => [r.id, (await api(`/executions/${r.id}`)).progress ?? null]),
        ),
      );
      const names = [
        ...new Set([
          ...(workflows.items ?? workflows).map((w) => w.workflow_name),
          ...runs.items.map((r) => r.workflow_name),
        ]),
      ].sort();
      mount(
        table,
        names.map((name) => {
          const latest = runs.items.filter((r) => r.workflow_name === name).slice(0, PER_WORKFLOW);
          return h(
            'section',
            { class: 'card', 'aria-labelledby': `wf-${name}` },
            h('h2', { id: `wf-${name}` }, name),
            latest.length === 0
              ? h('p', { class: 'muted' }, 'No runs yet.')
              : h(
                  'div',
                  { class: 'scroll' },
                  h(
                    'table',
                    { class: 'runs' },
                    h(
                      'thead',
                      null,
                      h(
                        'tr',
                        null,
                        [
                          'Run',
                          'Status',
                          'Type',
                          'Tenants done / failed / skipped',
                          'Duration',
                          'Deadline',
                        ].map((c) => h('th', { scope: 'col' }, c)),
                      ),
                    ),
                    h(
                      'tbody',
                      null,
                      latest.map((r) => {
                        const p = progress.get(r.id);
                        const t = tenantCounts(r, p);
                        return h(
                          'tr',
                          { 'data-run': r.id, 'data-status': r.status },
                          h(
                            'td',
                            null,
                            h(
                              'a',
                              { href: `#/run/${encodeURIComponent(r.id)}` },
                              when(r.created_at),
                            ),
                          ),
                          h('td', null, badge(r.status)),
                          h('td', null, r.execution_type),
                          h(
                            'td',
                            null,
                            `${t.done} / ${t.failed} / ${t.skipped}`,
                            t.total ? h('span', { class: 'muted' }, ` of ${t.total}`) : null,
                            p
                              ? h('progress', {
                                  max: t.total || 1,
                                  value: t.done + t.failed + t.skipped,
                                  'aria-label': 'tenants finished',
                                })
                              : null,
                          ),
                          h('td', null, duration(msBetween(r.created_at, r.completed_at))),
                          h('td', null, deadlineCell(r, verdicts)),
                        );
                      }),
                    ),
                  ),
                ),
          );
        }),
      );
      status.textContent =
        open.length > 0
          ? `${open.length} run(s) in progress, refreshing every 2 s.`
          : `Updated ${new Date().toLocaleTimeString()}; checking for new runs every 5 s.`;
      return open.length > 0;
    },
    5000,
  );
}
