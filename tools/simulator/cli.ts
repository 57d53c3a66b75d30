import { parseArgs } from 'node:util';
import type { SimulatorOptions } from './simulator';

export const USAGE = `Bakery platform SIMULATOR: fake downstream services for the orchestrator (dev and test only).

Usage: npm run simulator -- [options]

  --port <n>                        port (default 18100; 0 = any free port)
  --host <addr>                     address to bind (default 127.0.0.1)
  --tenants <n>                     tenants to generate (default 50)
  --seed <n>                        data and chaos seed (default 42)
  --latency-ms <n>                  latency of every answer (default 0)
  --jitter-ms <n>                   uniform ± variation of the latency (default 0)
  --error-rate <0..1>               share of calls answered 503 (default 0)
  --timeout-rate <0..1>             share of calls never answered (default 0)
  --purchase-orders-per-tenant <n>  purchase orders per tenant (default 8: every delivery case)
  --anchor <ISO instant>            instant the delivery windows sit around (default: now)
  --token <text>                    accept only this bearer token (default: any)
  --all-active                      no suspended or cancelled tenants
  --journal-limit <n>               calls kept in the journal (default 500000)
  --help                            this text
`;

export class UsageError extends Error {}

function num(
  name: string,
  raw: string | undefined,
  min: number,
  max: number,
  integer = true,
): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (
    raw.trim() === '' ||
    Number.isNaN(v) ||
    v < min ||
    v > max ||
    (integer && !Number.isInteger(v))
  ) {
    throw new UsageError(
      `--${name} ${JSON.stringify(raw)} is not valid; expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    );
  }
  return v;
}

/** argv (without node and script) to options; throws UsageError naming the flag. */
export function parseSimulatorArgs(argv: string[]): SimulatorOptions & { help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        tenants: { type: 'string' },
        seed: { type: 'string' },
        'latency-ms': { type: 'string' },
        'jitter-ms': { type: 'string' },
        'error-rate': { type: 'string' },
        'timeout-rate': { type: 'string' },
        'purchase-orders-per-tenant': { type: 'string' },
        anchor: { type: 'string' },
        token: { type: 'string' },
        'all-active': { type: 'boolean' },
        'journal-limit': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.anchor !== undefined && Number.isNaN(Date.parse(v.anchor))) {
    throw new UsageError(`--anchor ${JSON.stringify(v.anchor)} is not an ISO instant`);
  }
  return {
    help: v.help ?? false,
    port: num('port', v.port, 0, 65535) ?? 18100,
    host: v.host ?? '127.0.0.1',
    tenants: num('tenants', v.tenants, 0, 1_000_000) ?? 50,
    seed: num('seed', v.seed, 0, 2 ** 32 - 1) ?? 42,
    latencyMs: num('latency-ms', v['latency-ms'], 0, 600_000) ?? 0,
    jitterMs: num('jitter-ms', v['jitter-ms'], 0, 600_000) ?? 0,
    errorRate: num('error-rate', v['error-rate'], 0, 1, false) ?? 0,
    timeoutRate: num('timeout-rate', v['timeout-rate'], 0, 1, false) ?? 0,
    purchaseOrdersPerTenant:
      num('purchase-orders-per-tenant', v['purchase-orders-per-tenant'], 0, 1000) ?? 8,
    anchor: v.anchor,
    token: v.token,
    includeInactive: !(v['all-active'] ?? false),
    journalLimit: num('journal-limit', v['journal-limit'], 1, 100_000_000) ?? 500_000,
  };
}
