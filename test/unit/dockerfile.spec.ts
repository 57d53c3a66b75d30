import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';

// `docker build` is not available where the tests run: the Dockerfile is read as Docker
// reads it (instructions, continuation lines joined) and checked against the manifests.
const root = join(__dirname, '../..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface Instruction {
  op: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return logical.map((line) => {
    const [op, ...rest] = line.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });
}

/** The stages, each its FROM line and the instructions up to the next FROM. */
function stages(instructions: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of instructions) {
    if (i.op === 'FROM') out.push([]);
    out[out.length - 1]?.push(i);
  }
  return out;
}

const jsonArgs = (i: Instruction | undefined): string[] => JSON.parse(i?.args ?? 'null');
const manifests = ['deployment.yaml', 'delivery-tracking-cronjob.yaml'].flatMap(
  (f) => loadAll(read(`deploy/kubernetes/${f}`)).filter(Boolean) as any[],
);
const deployment = manifests.find((m) => m.kind === 'Deployment');
const cronJob = manifests.find((m) => m.kind === 'CronJob');
const container = deployment.spec.template.spec.containers[0];

const dockerfile = parseDockerfile(read('Dockerfile'));
const [build, runtime] = stages(dockerfile);
const last = (op: string) => runtime.filter((i) => i.op === op).pop();

describe('Dockerfile', () => {
  it('builds in one stage and runs production dependencies only in the last', () => {
    expect(stages(dockerfile)).toHaveLength(2);
    expect(build.some((i) => i.op === 'RUN' && /npm run build/.test(i.args))).toBe(true);
    const installs = runtime.filter((i) => i.op === 'RUN' && /npm ci/.test(i.args));
    expect(installs).toHaveLength(1);
    expect(installs[0].args).toMatch(/--omit=dev/);
    expect(runtime.some((i) => i.op === 'COPY' && /--from=build .*dist/.test(i.args))).toBe(true);
  });

  it('builds the image the manifests run, with their command', () => {
    const title = last('LABEL')?.args.match(/org\.opencontainers\.image\.title="([^"]+)"/)?.[1];
    expect(title).toBeDefined();
    for (const image of [
      container.image,
      cronJob.spec.jobTemplate.spec.template.spec.containers[0].image,
    ]) {
      expect(image.split(':')[0]).toBe(title);
    }
    expect(jsonArgs(last('CMD'))).toEqual(container.command);
  });

  it('runs as the unprivileged user the pod security context names', () => {
    // the node images' `node` user is uid 1000
    expect(last('USER')?.args).toBe('node');
    expect(deployment.spec.template.spec.containers[0].securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
    });
  });

  it('exposes the port and checks the liveness route the probes use', () => {
    expect(Number(last('EXPOSE')?.args)).toBe(container.ports[0].containerPort);
    const health = last('HEALTHCHECK')?.args ?? '';
    expect(health).toContain(container.livenessProbe.httpGet.path);
    expect(health).toContain(String(container.ports[0].containerPort));
  });

  it('sets only environment variables that .env.example documents (or npm reads)', () => {
    const documented = [...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(
      (m) => m[1],
    );
    const set = dockerfile
      .filter((i) => i.op === 'ENV')
      .flatMap((i) => [...i.args.matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1]));
    expect(set.length).toBeGreaterThan(0);
    const npmOwn = ['SCARF_ANALYTICS'];
    expect(set.filter((n) => !documented.includes(n) && !npmOwn.includes(n))).toEqual([]);
  });

  it('keeps dependencies, local data and secrets out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', 'data', '.git', '.env']) {
      expect(ignored).toContain(entry);
    }
  });
});
