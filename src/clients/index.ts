/** The clients module's public API (docs/conventions.md: a facade, a registry, contract types). */
export { ClientsModule } from './clients.module';
export { OperationRegistry, OPERATION_NAMES } from './operation-registry';
export type {
  OperationContext,
  OperationName,
  OperationResult,
  Tenant,
} from './operation-registry';
export { TenantClient } from './tenant/tenant.client';
export { ForecastingClient } from './forecasting/forecasting.client';
export { ProductionClient } from './production/production.client';
export { ProcurementClient } from './procurement/procurement.client';
export type { DeliveryQuery } from './procurement/procurement.client';
export { InventoryClient } from './inventory/inventory.client';
export { NotificationClient } from './notification/notification.client';
export { TrainingClient } from './training/training.client';
export { AlertProcessorClient } from './alert-processor/alert-processor.client';
export { UpstreamError, UpstreamErrorCode } from './http/upstream.error';
export { ClientsError, ClientsErrorCode } from './clients.errors';
export { isRetryableFailure } from './retryable';
export type { CallOptions, ServiceName } from './services';
export type * from './downstream.types';
