/** Shared pieces of the suites that drive the built service over HTTP. */
export const API = '/api/v1/orchestrator';

/** The six steps of daily_operations, each called once per tenant per run. */
export const DAILY_OPS = [
  'forecasting.generate',
  'production.generate_schedule',
  'procurement.calculate_needs',
  'inventory.project',
  'forecasting.validate',
  'notification.daily_summary',
];

/** A JSON call to the orchestrator API; the body comes back parsed (null when empty). */
export async function callApi(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${baseUrl}${API}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
