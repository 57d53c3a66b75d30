import type { Registry } from 'prom-client';

/**
 * The metric already registered under `name`, or a new one. Several Nest apps in one
 * process (tests, the benchmark) share the default registry, where registering a name
 * twice throws.
 */
export function getOrCreateMetric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
