/**
 * Request and response bodies of docs/downstream-api.md, as the clients see them. The
 * simulator serves the same shapes; a change here is a change to that document.
 */
import type { Tenant } from './operation-registry';

export type { Tenant };

export interface Page<T> {
  items: T[];
  page: number;
  page_size: number;
  total: number;
  total_pages: number;
  next_page: number | null;
}

export interface ForecastResult {
  tenant_id: string;
  forecast_run_id: string;
  days_ahead: number;
  /** (product, day) forecasts written */
  count: number;
  products: number;
  start_date: string;
  end_date: string;
  total_predicted_units: number;
  generated_at: string;
}

export interface ProductAccuracy {
  product_id: string;
  product_name: string;
  mae: number;
  mape: number;
  rmse: number;
  accuracy_percentage: number;
  predicted_units: number;
  actual_units: number;
}

export interface ForecastValidationResult {
  validation_run_id: string;
  tenant_id: string;
  orchestration_run_id: string;
  validated_date: string;
  forecasts_validated: number;
  overall_mae: number;
  overall_mape: number;
  overall_rmse: number;
  overall_r2: number;
  accuracy_percentage: number;
  coverage_percentage: number;
  product_breakdown: ProductAccuracy[];
  validated_at: string;
}

export interface RetrainingEvaluationResult {
  tenant_id: string;
  products_evaluated: number;
  average_mape: number;
  poor_performers: Array<{
    product_id: string;
    product_name: string;
    mape: number;
    reason: 'mape_above_threshold' | 'mape_degraded' | 'model_stale';
  }>;
  retrain_product_ids: string[];
  retraining_triggered: boolean;
  training_job_id: string | null;
  evaluated_at: string;
}

/** Optional thresholds of the weekly evaluation; the service's defaults otherwise. */
export interface RetrainingEvaluationOptions {
  lookback_days?: number;
  mape_threshold?: number;
  mape_increase_threshold?: number;
  max_model_age_days?: number;
}

export interface ProductionScheduleResult {
  tenant_id: string;
  schedule_id: string;
  schedule_date: string;
  /** production batches planned */
  batches: number;
  total_units: number;
  products_planned: number;
  generated_at: string;
}

export interface ProcurementNeedsResult {
  tenant_id: string;
  days_ahead: number;
  needs_count: number;
  needs: Array<{
    ingredient_id: string;
    ingredient_name: string;
    quantity: number;
    unit: string;
    needed_by: string;
    supplier_id: string;
  }>;
  estimated_cost: number;
  currency: string;
  calculated_at: string;
}

export type PurchaseOrderStatus = 'draft' | 'approved' | 'sent' | 'received' | 'cancelled';
export type ReceiptStatus = 'none' | 'draft' | 'confirmed';

export interface PurchaseOrder {
  id: string;
  tenant_id: string;
  po_number: string;
  status: PurchaseOrderStatus;
  supplier: { id: string; name: string; phone?: string };
  line_items: Array<{
    id: string;
    ingredient_id: string;
    ingredient_name: string;
    quantity: number;
    unit: string;
    unit_price: number;
  }>;
  /** ISO instant: the start of the delivery window */
  expected_delivery_date: string;
  delivery_window: { start: string; end: string };
  receipt: { status: ReceiptStatus; receipt_id: string | null };
  total_amount: number;
  currency: string;
}

export interface InventoryProjectionResult {
  tenant_id: string;
  projection_id: string;
  /** the first projected day (the request's start_date, or today) */
  start_date?: string;
  days_ahead: number;
  items_projected: number;
  stockout_risks: Array<{
    ingredient_id: string;
    ingredient_name: string;
    current_stock: number;
    unit: string;
    projected_stockout_date: string;
  }>;
  generated_at: string;
}

export type NotificationType = 'daily_summary' | 'weekly_digest' | 'workflow_failure';

export interface NotificationReceipt {
  notification_id: string;
  tenant_id: string | null;
  type: NotificationType;
  channels: string[];
  status: 'queued';
}

/** What the daily summary tells the owner: each key optional, numbers only. */
export interface DailySummary {
  forecasts?: { count: number; products?: number; total_predicted_units?: number };
  production?: { batches: number; total_units?: number };
  procurement?: { needs_count: number; estimated_cost?: number };
  inventory?: { items_projected: number; stockout_risks: number };
  validation?: {
    overall_mape: number;
    accuracy_percentage: number;
    coverage_percentage?: number;
  };
}

export interface DailySummaryRequest {
  tenant_id: string;
  orchestration_run_id: string;
  date?: string;
  summary: DailySummary;
}

export interface WeeklyDigestRequest {
  tenant_id: string;
  orchestration_run_id: string;
  week_start?: string;
  summary?: Record<string, unknown>;
}

export interface WorkflowFailureRequest {
  tenant_id: string | null;
  workflow_name: string;
  execution_id?: string;
  orchestration_run_id?: string;
  error_message: string;
  failed_step?: string;
  tenants_affected?: number;
}

export interface RetrainJob {
  job_id: string;
  tenant_id: string;
  product_ids: string[];
  status: 'queued';
  estimated_duration_seconds: number;
}

export interface ArchiveResult {
  tenant_id: string | null;
  older_than_days: number;
  cutoff: string;
  archived_count: number;
}
