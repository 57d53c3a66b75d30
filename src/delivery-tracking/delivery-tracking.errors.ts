/** Why a delivery tracking run failed; carried in its result, its log line and its row. */
export enum DeliveryTrackingErrorCode {
  /** the run hit its deadline before every tenant was checked */
  DEADLINE_EXCEEDED = 'DELIVERY_TRACKING_DEADLINE_EXCEEDED',
  /** the run was cancelled (shutdown) before every tenant was checked */
  CANCELLED = 'DELIVERY_TRACKING_CANCELLED',
  /** the active tenants could not be listed, so nothing could be checked */
  TENANTS_UNAVAILABLE = 'DELIVERY_TRACKING_TENANTS_UNAVAILABLE',
  /** every tenant's check failed (procurement or the database is down) */
  ALL_TENANTS_FAILED = 'DELIVERY_TRACKING_ALL_TENANTS_FAILED',
}
