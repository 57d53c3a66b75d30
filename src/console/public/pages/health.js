import { api, ApiError, prometheus } from '../api.js';
import { badge, duration, h, mount, msBetween, when } from '../dom.js';
import { poll } from './poll.js';

const CIRCUIT = { 0: 'closed', 1: 'half-open', 2: 'open' };

function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]),
  );
}

/** A section that shows its own failure instead of failing the page. */
async function part(title, load) {
  try {
    return h('section', { class: 'card' }, h('h2', null, title), await load());
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    return h(
      'section',
      { class: 'card' },
      h('h2', null, title),
      h('p', { class: 'error' }, `Unavailable: ${err.message}`),
    );
  }
}

export async function healthPage(ctx) {
  const body = h('div', { class: 'stack' });
  mount(ctx.root, h('h1', null, 'Health'), body);
  await poll(ctx, 10000, async () => {
    const sections = await Promise.all([
      part('Leader and instance', async () => {
        const l = await api('/leader');
        return facts([
          ['Leader', l.leader_instance_id],
          ['Host', l.hostname],
          ['Term', l.term === undefined ? null : String(l.term)],
          ['Leader since', when(l.since)],
          ['Last heartbeat', when(l.last_heartbeat_at)],
          ['This instance', l.instance_id],
          ['Role', badge(l.role)],
          ['Mode', l.mode],
          ['Why', l.reason],
        ]);
      }),
      part('Dependencies', async () => {
        // 503 still carries the per-dependency states
        let health;
        try {
          health = await api('/health');
        } catch (err) {
          if (err instanceof ApiError && err.status === 503 && err.body) health = err.body;
          else throw err;
        }
        return facts(
          Object.entries(health.details ?? {}).map(([name, d]) => [
            name,
            h(
              'span',
              null,
              badge(d.status === 'up' ? 'up' : 'down'),
              ' ',
              d.configured === false ? 'not configured' : (d.kind ?? d.message ?? ''),
            ),
          ]),
        );
      }),
      part('Outbox and circuit breakers', async () => {
        const samples = await prometheus();
        const one = (name) => samples.find((s) => s.name === name)?.value;
        const circuits = samples.filter((s) => s.name === 'orchestrator_downstream_circuit_state');
        return h(
          'div',
          null,
          facts([
            ['Outbox backlog', one('orchestrator_outbox_backlog')?.toString()],
            [
              'Oldest unsent',
              one('orchestrator_outbox_oldest_unsent_age_seconds') === undefined
                ? null
                : duration(one('orchestrator_outbox_oldest_unsent_age_seconds') * 1000),
            ],
          ]),
          h('h3', null, 'Circuit breakers'),
          facts(
            circuits.map((c) => [c.labels.service, badge(CIRCUIT[c.value] ?? String(c.value))]),
          ),
        );
      }),
      part('Open alerts', async () => {
        const stats = await api('/statistics');
        const alerts = stats.open_alerts ?? [];
        const triggered = stats.dead_mans_switch?.triggered ?? [];
        return h(
          'div',
          null,
          alerts.length === 0
            ? h('p', { class: 'muted' }, 'No open alert.')
            : h(
                'ul',
                { class: 'alerts' },
                alerts.map((a) =>
                  h(
                    'li',
                    null,
                    badge(a.severity ?? a.kind),
                    ' ',
                    h('strong', null, a.kind),
                    ' ',
                    a.message,
                    ' ',
                    h('span', { class: 'muted' }, when(a.opened_at)),
                  ),
                ),
              ),
          h(
            'p',
            { class: 'muted' },
            `Dead man's switch triggered: ${triggered.length ? triggered.join(', ') : 'none'}`,
          ),
        );
      }),
      part('Delivery tracking: last runs', async () => {
        const runs = await api('/executions?runs_only=true&limit=500');
        const dt = runs.items.filter((r) => r.workflow_name === 'delivery_tracking').slice(0, 5);
        if (dt.length === 0)
          return h('p', { class: 'muted' }, 'No delivery-tracking run recorded yet.');
        return h(
          'ul',
          null,
          dt.map((r) =>
            h(
              'li',
              null,
              badge(r.status),
              ' ',
              when(r.created_at),
              ' · ',
              duration(msBetween(r.started_at ?? r.created_at, r.completed_at)),
              r.error_message ? h('span', { class: 'error' }, ` ${r.error_message}`) : null,
            ),
          ),
        );
      }),
    ]);
    mount(body, sections);
    return true;
  });
}
