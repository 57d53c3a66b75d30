/**
 * GET /api/v1/orchestrator/metrics (JSON rollups) is declared with its full path and
 * excluded from the global prefix in configureApp, like the Prometheus exposition at the
 * root /metrics: Nest matches prefix exclusions on the route path, and both routes would
 * otherwise be "metrics" and collide. Kept free of imports so app.setup can read it.
 */
export const METRICS_JSON_PATH = 'api/v1/orchestrator/metrics';
