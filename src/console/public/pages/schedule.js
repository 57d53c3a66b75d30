import { api, ApiError, hasRole } from '../api.js';
import { badge, h, mount, when } from '../dom.js';

/**
 * Why a slot is where it is (holiday or weekend shift, DST gap or repeat), as the preview
 * API words it, plus anything else a slot carries besides its instants.
 */
function reasonsOf(slot) {
  const out = [];
  const text = (v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  for (const [key, value] of Object.entries(slot)) {
    if (key === 'at' || key === 'local' || value === null || value === undefined) continue;
    if (key === 'reason' || key === 'reasons') {
      for (const r of Array.isArray(value) ? value : [value]) out.push(text(r));
    } else if (key === 'adjusted_from') {
      // the reason already says where it moved from; alone it still deserves a line
      if (!slot.reason && !slot.reasons) out.push(`moved from ${text(value)}`);
    } else if (key === 'timezones' && Array.isArray(value)) {
      out.push(`tenant timezones: ${value.join(', ')}`);
    } else {
      out.push(`${key}: ${text(value)}`);
    }
  }
  return out;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** "2026-12-07T08:00:00+01:00" as "Mon 2026-12-07 08:00 (+01:00)": the wall time it fires at. */
function localText(local) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(
    local ?? '',
  );
  if (!m) return local ?? '—';
  const weekday = WEEKDAYS[new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay()];
  return `${weekday} ${m[1]}-${m[2]}-${m[3]} ${m[4]} (${m[5] === 'Z' ? 'UTC' : m[5]})`;
}

export async function schedulePage(ctx) {
  const [next, workflows] = await Promise.all([api('/schedule/next-run'), api('/workflows')]);
  const byName = new Map((workflows.items ?? workflows).map((w) => [w.workflow_name, w]));
  const isAdmin = hasRole('admin');
  const message = h('p', { role: 'status', class: 'muted' });
  const items = Array.isArray(next) ? next : (next.items ?? next.workflows ?? []);
  const names = [...new Set([...items.map((i) => i.workflow), ...byName.keys()])].sort();
  mount(
    ctx.root,
    h('h1', null, 'Schedule'),
    message,
    h(
      'div',
      { class: 'stack' },
      names.map((name) => {
        const entry = items.find((i) => i.workflow === name);
        const wf = byName.get(name);
        const enabled = wf?.is_enabled;
        return h(
          'section',
          { class: 'card', 'data-workflow': name },
          h('h2', null, name, ' ', wf ? badge(enabled ? 'enabled' : 'disabled') : null),
          h(
            'p',
            { class: 'muted' },
            wf?.cron_expression ? `cron ${wf.cron_expression}` : 'no schedule',
            ' · timezone ',
            entry?.timezone ?? wf?.timezone ?? '—',
          ),
          isAdmin && wf
            ? h(
                'button',
                {
                  type: 'button',
                  onclick: async (e) => {
                    e.target.disabled = true;
                    try {
                      await api(
                        `/workflows/${encodeURIComponent(wf.id)}/${enabled ? 'disable' : 'enable'}`,
                        {
                          method: 'POST',
                        },
                      );
                      await schedulePage(ctx);
                    } catch (err) {
                      e.target.disabled = false;
                      message.textContent =
                        err instanceof ApiError && err.status === 403
                          ? 'The API refused: enabling and disabling needs the admin role.'
                          : `Not changed: ${err.message}`;
                    }
                  },
                },
                enabled ? `Disable ${name}` : `Enable ${name}`,
              )
            : null,
          entry && (entry.slots ?? []).length > 0
            ? h(
                'div',
                { class: 'scroll' },
                h(
                  'table',
                  null,
                  h(
                    'thead',
                    null,
                    h(
                      'tr',
                      null,
                      ['Local time', 'Your time', 'Reasons'].map((c, i) =>
                        h('th', { scope: 'col', class: i === 1 ? 'instant' : null }, c),
                      ),
                    ),
                  ),
                  h(
                    'tbody',
                    null,
                    entry.slots.map((slot) => {
                      const reasons = reasonsOf(slot);
                      return h(
                        'tr',
                        null,
                        h('td', { class: 'nowrap' }, localText(slot.local)),
                        h('td', { class: 'instant' }, when(slot.at)),
                        h('td', null, reasons.length ? reasons.join('; ') : '—'),
                      );
                    }),
                  ),
                ),
              )
            : h('p', { class: 'muted' }, entry?.reason ?? 'No upcoming slot.'),
        );
      }),
    ),
  );
}
