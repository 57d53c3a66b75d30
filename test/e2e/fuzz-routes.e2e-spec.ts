import { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { OperationRegistry } from 'src/clients/operation-registry';
import { TenantDirectory } from 'src/executions/ports';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../fakes/fake-downstream';
import { tokenFor } from '../utils/auth';
import { OpsApp, startOpsApp } from '../utils/ops-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const CASES_PER_ROUTE = 1000;
const SEED = 20260307;

type Schema = {
  type?: string;
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, Schema>;
  items?: Schema;
  $ref?: string;
};
interface Route {
  method: string;
  path: string;
  query: { name: string; schema: Schema }[];
  body: Schema | null;
}
interface Case {
  url: string;
  headers: Record<string, string>;
  body?: string;
  why: string;
}

/** mulberry32: a seeded generator, so a failure names a case that can be replayed */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}

const GARBAGE_STRINGS = [
  '',
  ' ',
  'null',
  'undefined',
  '{}',
  '[]',
  '💥🥐',
  '\u0000',
  '../../etc/passwd',
  "'; DROP TABLE orchestrator_workflows; --",
  '<script>alert(1)</script>',
  '%00',
  'x'.repeat(5000),
  '-1',
  '1e309',
  'NaN',
  '0x1F',
  '2026-02-30',
  '25:61',
  '* * * * * * *',
  'Mars/Olympus',
  '__proto__',
];

describeWith(['postgres'], 'fuzz: malformed bodies and query strings on every route', () => {
  let db: TestDatabase;
  let ops: OpsApp;
  let pool: Pool;
  const routes: Route[] = [];
  let components: Record<string, Schema> = {};
  const rnd = prng(SEED);
  const admin = `Bearer ${tokenFor('admin', undefined, { sub: 'fuzz-admin' })}`;

  const resolve = (s: Schema | undefined, components: Record<string, Schema>): Schema =>
    s?.$ref ? resolve(components[s.$ref.split('/').pop()!], components) : (s ?? {});

  /** A value the schema refuses whatever the validators' details. */
  function invalidFor(s: Schema): unknown {
    switch (s.type) {
      case 'integer':
      case 'number':
        return rnd.pick(['abc', {}, [], true, 'NaN', { $gt: 1 }]);
      case 'boolean':
        return rnd.pick(['yes', 2, {}, [], 'truthy']);
      case 'array':
        return rnd.pick(['x', 7, { 0: 'a' }, true]);
      case 'object':
        return rnd.pick(['x', 7, true, [[]]]);
      default:
        return rnd.pick([123, {}, [], true, { nested: { deep: [] } }]);
    }
  }

  /** A query value the parameter refuses, or undefined when any string might be valid. */
  function invalidQueryValue(s: Schema): string | undefined {
    if (s.enum) return `not-${String(s.enum[0])}-${rnd.int(1e6)}`;
    if (s.type === 'integer' || s.type === 'number')
      return rnd.pick(['abc', '-99999999', '1.5.5', '', 'Infinity']);
    if (s.format === 'uuid')
      return rnd.pick(['not-a-uuid', '123', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']);
    if (s.format === 'date-time' || s.format === 'date')
      return rnd.pick(['yesterday', '2026-13-45', '2026-02-30T25:00:00Z', '0']);
    return undefined;
  }

  function garbage(depth = 0): unknown {
    switch (rnd.int(depth > 2 ? 4 : 7)) {
      case 0:
        return rnd.pick(GARBAGE_STRINGS);
      case 1:
        return rnd.pick([0, -1, 1.5, Number.MAX_SAFE_INTEGER, -1e300, 2 ** 31]);
      case 2:
        return rnd.pick([true, false, null]);
      case 3:
        return rnd.pick(['', 'a', '0']);
      case 4:
        return Array.from({ length: rnd.int(4) }, () => garbage(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: rnd.int(4) }, (_, i) => [
            `k${i}_${rnd.int(100)}`,
            garbage(depth + 1),
          ]),
        );
    }
  }

  function bodyCase(
    route: Route,
    components: Record<string, Schema>,
  ): { body: string; type: string; why: string } {
    const schema = resolve(route.body ?? undefined, components);
    const props = Object.entries(schema.properties ?? {});
    const kind = rnd.int(route.body ? 8 : 4);
    switch (kind) {
      case 0:
        return {
          body: rnd.pick(['{', '{"a":', 'nul', '[1,2', '"unterminated', '{"a":1}}']),
          type: 'application/json',
          why: 'invalid JSON',
        };
      case 1:
        return {
          body: JSON.stringify(rnd.pick([[1, 2], 'text', 42, [], [{}]])),
          type: 'application/json',
          why: 'not an object',
        };
      case 2:
        return {
          body: `a=${encodeURIComponent(String(rnd.pick(GARBAGE_STRINGS)))}&b[c]=1`,
          type: 'application/x-www-form-urlencoded',
          why: 'form body',
        };
      case 3: {
        const obj = garbage(1);
        const o = (typeof obj === 'object' && obj && !Array.isArray(obj) ? obj : {}) as Record<
          string,
          unknown
        >;
        o[`__fuzz_${rnd.int(1e6)}`] = garbage(1);
        return { body: JSON.stringify(o), type: 'application/json', why: 'unknown fields' };
      }
      default: {
        // known fields, at least one of them with a value its type refuses
        const out: Record<string, unknown> = {};
        for (const [field] of props) if (rnd.next() < 0.5) out[field] = garbage(1);
        const [name, p] = props.length > 0 ? rnd.pick(props) : ['__fuzz', {}];
        out[name] = invalidFor(resolve(p, components));
        if (props.length === 0 || rnd.next() < 0.3) out.__proto__fuzz = { polluted: true };
        return { body: JSON.stringify(out), type: 'application/json', why: `invalid ${name}` };
      }
    }
  }

  function queryCase(route: Route): { query: string; why: string } {
    const params = new URLSearchParams();
    for (const q of route.query) {
      if (rnd.next() < 0.3) params.append(q.name, String(rnd.pick(GARBAGE_STRINGS)).slice(0, 200));
    }
    const constrained = route.query
      .map((q) => ({ q, bad: invalidQueryValue(q.schema) }))
      .filter((x) => x.bad !== undefined);
    if (constrained.length > 0 && rnd.next() < 0.6) {
      const { q, bad } = rnd.pick(constrained);
      params.set(q.name, bad!);
      return { query: params.toString(), why: `invalid ${q.name}=${bad}` };
    }
    params.append(
      rnd.pick([`fuzz_${rnd.int(1e6)}`, 'limit[]', '__proto__[x]', 'a.b']),
      String(rnd.pick(GARBAGE_STRINGS)).slice(0, 200),
    );
    return { query: params.toString(), why: 'unknown query parameter' };
  }

  function pathFor(route: Route): string {
    return route.path
      .replace(
        '{workflow_id}',
        encodeURIComponent(
          rnd.pick(['daily_operations', 'no_such_workflow', '💥', '..%2F..', 'x'.repeat(300)]),
        ),
      )
      .replace(
        '{execution_id}',
        encodeURIComponent(
          rnd.pick(['not-a-uuid', '00000000-0000-0000-0000-000000000000', '1', "' OR 1=1"]),
        ),
      );
  }

  const counts = async () => {
    const [row] = await ops.dataSource.query(
      `SELECT (SELECT count(*) FROM orchestrator_executions)::int AS executions,
              (SELECT count(*) FROM orchestrator_execution_steps)::int AS steps,
              (SELECT count(*) FROM orchestrator_outbox)::int AS outbox,
              (SELECT count(*) FROM orchestrator_audit_log)::int AS audit,
              (SELECT count(*) FROM orchestrator_alerts)::int AS alerts,
              (SELECT count(*) FROM orchestrator_metrics)::int AS metrics,
              (SELECT string_agg(workflow_name || ':' || version || ':' || is_enabled || ':' ||
                                 coalesce(cron_expression, ''), ',' ORDER BY workflow_name)
                 FROM orchestrator_workflows) AS workflows`,
    );
    return row;
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ops = await startOpsApp({
      databaseUrl: db.url,
      env: { RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000' },
      override: [
        { provide: OperationRegistry, useValue: new FakeDownstream(1) },
        { provide: TenantDirectory, useValue: new FakeTenantDirectory(makeTenants(2)) },
      ],
    });
    await ops.app.listen(0, '127.0.0.1');
    const { port } = ops.app.getHttpServer().address() as AddressInfo;
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8 });
    const docs = (await (
      await pool.request({ path: '/api/docs-json', method: 'GET' })
    ).body.json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: { in: string; name: string; schema: Schema }[];
            requestBody?: { content: Record<string, { schema: Schema }> };
          }
        >
      >;
      components: { schemas: Record<string, Schema> };
    };
    for (const [path, item] of Object.entries(docs.paths)) {
      for (const [method, op] of Object.entries(item)) {
        routes.push({
          method: method.toUpperCase(),
          path,
          query: (op.parameters ?? [])
            .filter((p) => p.in === 'query')
            .map((p) => ({ name: p.name, schema: p.schema ?? {} })),
          body: op.requestBody?.content['application/json']?.schema ?? null,
        });
      }
    }
    components = docs.components.schemas;
  });

  afterAll(async () => {
    await pool?.close();
    await ops?.close();
    await db?.drop();
  });

  it(`answers ${CASES_PER_ROUTE} malformed requests per route with a 4xx, never a 5xx, and writes nothing`, async () => {
    expect(routes.length).toBeGreaterThanOrEqual(15);
    const before = await counts();
    const wrong: string[] = [];
    const byStatus = new Map<number, number>();
    for (const route of routes) {
      const cases: Case[] = [];
      for (let i = 0; i < CASES_PER_ROUTE; i++) {
        const headers: Record<string, string> = { authorization: admin };
        const url = pathFor(route);
        // reads get malformed query strings; writes malformed bodies, and half of them a query too
        if (route.method === 'GET' || rnd.next() < 0.5) {
          const q = queryCase(route);
          if (route.method === 'GET') {
            cases.push({ url: `${url}?${q.query}`, headers, why: q.why });
            continue;
          }
          const b = bodyCase(route, components);
          cases.push({
            url: `${url}?${q.query}`,
            headers: { ...headers, 'content-type': b.type },
            body: b.body,
            why: `${q.why}; ${b.why}`,
          });
          continue;
        }
        const b = bodyCase(route, components);
        cases.push({
          url,
          headers: { ...headers, 'content-type': b.type },
          body: b.body,
          why: b.why,
        });
      }
      await Promise.all(
        Array.from({ length: 8 }, async (_, lane) => {
          for (let i = lane; i < cases.length; i += 8) {
            const c = cases[i];
            const res = await pool.request({
              path: c.url,
              method: route.method as 'GET',
              headers: c.headers,
              body: c.body,
            });
            const text = await res.body.text();
            byStatus.set(res.statusCode, (byStatus.get(res.statusCode) ?? 0) + 1);
            if (res.statusCode < 400 || res.statusCode >= 500 || text.includes('    at ')) {
              wrong.push(
                `${route.method} ${c.url.slice(0, 120)} (${c.why}) -> ${res.statusCode} ${text.slice(0, 160)}`,
              );
            }
          }
        }),
      );
    }
    expect(wrong.slice(0, 20)).toEqual([]);
    expect([...byStatus.values()].reduce((a, b) => a + b, 0)).toBe(routes.length * CASES_PER_ROUTE);
    expect(await counts()).toEqual(before);
  });
});
