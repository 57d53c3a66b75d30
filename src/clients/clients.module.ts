import { Global, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config.service';
import { AlertProcessorClient } from './alert-processor/alert-processor.client';
import { ClientOperationRegistry } from './client-operation-registry';
import { ForecastingClient } from './forecasting/forecasting.client';
import { ClientMetrics } from './http/client-metrics';
import { HttpCore, HttpCoreSettings } from './http/http-core';
import { InventoryClient } from './inventory/inventory.client';
import { NotificationClient } from './notification/notification.client';
import { OperationRegistry } from './operation-registry';
import { ProcurementClient } from './procurement/procurement.client';
import { ProductionClient } from './production/production.client';
import { SERVICE_NAMES, SERVICE_URL_VAR } from './services';
import { TenantClient } from './tenant/tenant.client';
import { TrainingClient } from './training/training.client';

/** Calls in flight per downstream service; the fan-out runs ~100 tenants at once. */
export const DEFAULT_MAX_CONCURRENCY_PER_SERVICE = 100;

/** The HTTP core's settings from the validated configuration (URLs, token). */
export function httpCoreSettingsFrom(
  config: AppConfig,
  metrics: ClientMetrics | null,
): HttpCoreSettings {
  return {
    token: config.get('SERVICE_TOKEN'),
    services: SERVICE_NAMES.map((name) => {
      const baseUrl = config.get(SERVICE_URL_VAR[name]);
      // validateEnv already refuses a malformed URL; this only guards a missing default
      if (!baseUrl) throw new Error(`${SERVICE_URL_VAR[name]} is not set`);
      return { name, baseUrl };
    }),
    maxConcurrency: DEFAULT_MAX_CONCURRENCY_PER_SERVICE,
    metrics,
  };
}

/** Closes the connection pools when the application stops. */
@Injectable()
class HttpCoreLifecycle implements OnApplicationShutdown {
  constructor(private readonly http: HttpCore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.http.close();
  }
}

const CLIENTS = [
  TenantClient,
  ForecastingClient,
  ProductionClient,
  ProcurementClient,
  InventoryClient,
  NotificationClient,
  TrainingClient,
  AlertProcessorClient,
];

/**
 * One typed client per downstream service on a shared resilient HTTP core, and the
 * OperationRegistry the workflow engine runs steps through. Global: the engine, the
 * scheduler and delivery tracking all need it, and none of them owns it.
 */
@Global()
@Module({
  providers: [
    // the default prom-client registry: the one /metrics serves
    { provide: ClientMetrics, useFactory: () => new ClientMetrics() },
    {
      provide: HttpCore,
      inject: [AppConfig, ClientMetrics],
      useFactory: (config: AppConfig, metrics: ClientMetrics) =>
        new HttpCore(httpCoreSettingsFrom(config, metrics)),
    },
    HttpCoreLifecycle,
    ...CLIENTS,
    { provide: OperationRegistry, useClass: ClientOperationRegistry },
  ],
  exports: [HttpCore, ...CLIENTS, OperationRegistry],
})
export class ClientsModule {}
