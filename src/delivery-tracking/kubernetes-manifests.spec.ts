import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { API_PREFIX } from 'src/app.setup';
import { ENV_SCHEMA } from 'src/config/env.schema';
import { validateEnv } from 'src/config/validate-env';

/** deploy/kubernetes parsed as Kubernetes would read it, one object per document. */
const DIR = join(__dirname, '../../deploy/kubernetes');
const load = (file: string) =>
  loadAll(readFileSync(join(DIR, file), 'utf8')).filter(Boolean) as any[];
const byKind = (file: string, kind: string) => {
  const found = load(file).filter((d) => d.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};

const configMap = byKind('configmap.yaml', 'ConfigMap');
const secret = byKind('secret.example.yaml', 'Secret');
const deployment = byKind('deployment.yaml', 'Deployment');
const service = byKind('deployment.yaml', 'Service');
const cronJob = byKind('delivery-tracking-cronjob.yaml', 'CronJob');

const envNames = (container: any): string[] => (container.env ?? []).map((e: any) => e.name);
const envOf = (container: any): Record<string, string> =>
  Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value]));
const NON_APP_VARS = ['NODE_OPTIONS'];

describe('deploy/kubernetes', () => {
  it('sets only variables the service knows, with values it accepts in production', () => {
    const all = { ...configMap.data, ...secret.stringData };
    for (const name of Object.keys(all)) expect(Object.keys(ENV_SCHEMA)).toContain(name);
    expect(() => validateEnv(all)).not.toThrow();
    expect(validateEnv(all).NODE_ENV).toBe('production');
    for (const value of Object.values(configMap.data)) expect(typeof value).toBe('string');
  });

  describe('the service Deployment', () => {
    const pod = deployment.spec.template;
    const [container] = pod.spec.containers;

    it('runs 3 replicas of the service, selected by its own labels', () => {
      expect(deployment.apiVersion).toBe('apps/v1');
      expect(deployment.spec.replicas).toBe(3);
      expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
      expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
      expect(container.command).toEqual(['node', 'dist/main.js']);
      expect(container.ports).toEqual([
        { name: 'http', containerPort: Number(configMap.data.PORT) },
      ]);
    });

    it('probes liveness and readiness on the health routes', () => {
      expect(container.livenessProbe.httpGet).toEqual({
        path: `/${API_PREFIX}/health/live`,
        port: 'http',
      });
      expect(container.readinessProbe.httpGet).toEqual({
        path: `/${API_PREFIX}/health/ready`,
        port: 'http',
      });
      expect(container.startupProbe.httpGet.path).toBe(`/${API_PREFIX}/health/live`);
    });

    it('takes its environment from the ConfigMap and the Secret, and has resources', () => {
      expect(container.envFrom).toEqual([
        { configMapRef: { name: configMap.metadata.name } },
        { secretRef: { name: secret.metadata.name } },
      ]);
      expect(container.resources.requests).toEqual(
        expect.objectContaining({ memory: expect.any(String), cpu: expect.any(String) }),
      );
      expect(container.resources.limits).toEqual(
        expect.objectContaining({ memory: expect.any(String), cpu: expect.any(String) }),
      );
      expect(envNames(container).every((n) => NON_APP_VARS.includes(n))).toBe(true);
    });

    it('gives a graceful shutdown the time it is configured to take', () => {
      expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(
        Number(configMap.data.SHUTDOWN_TIMEOUT_SECONDS),
      );
    });

    it('leaves delivery tracking to the CronJob', () => {
      expect(configMap.data.DELIVERY_TRACKING_IN_PROCESS).toBe('false');
    });
  });

  describe('the delivery-tracking CronJob', () => {
    const job = cronJob.spec.jobTemplate.spec;
    const [container] = job.template.spec.containers;

    it('is scheduled as the specification says', () => {
      expect(cronJob.apiVersion).toBe('batch/v1');
      expect(cronJob.metadata.name).toBe('delivery-tracking-cronjob');
      expect(cronJob.spec).toMatchObject({
        schedule: '30 * * * *',
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
      });
      expect(cronJob.spec.schedule).toBe(ENV_SCHEMA.DELIVERY_TRACKING_CRON.default);
      expect(job.activeDeadlineSeconds).toBe(1800);
    });

    it('runs the one-shot command with the specified resources', () => {
      expect(job.template.spec.containers).toHaveLength(1);
      expect(container.name).toBe('delivery-tracking');
      expect(container.image).toBe('orchestrator-service:latest');
      expect(container.command).toEqual(['node', 'dist/cli.js', 'delivery-tracking']);
      expect(container.resources).toEqual({
        requests: { memory: '128Mi', cpu: '50m' },
        limits: { memory: '256Mi', cpu: '100m' },
      });
      expect(job.template.spec.restartPolicy).toBe('Never');
    });

    it('uses the service configuration, ends its run before Kubernetes kills it, and never migrates', () => {
      expect(container.envFrom).toEqual(deployment.spec.template.spec.containers[0].envFrom);
      const env = envOf(container);
      const deadline = Number(env.DELIVERY_TRACKING_DEADLINE_SECONDS);
      expect(deadline).toBeLessThan(job.activeDeadlineSeconds);
      expect(deadline).toBeGreaterThanOrEqual(job.activeDeadlineSeconds - 120);
      expect(env.RUN_MIGRATIONS).toBe('false');
      const merged = { ...configMap.data, ...secret.stringData, ...env };
      delete merged.NODE_OPTIONS;
      expect(validateEnv(merged).DELIVERY_TRACKING_DEADLINE_SECONDS).toBe(deadline);
    });
  });
});
