/**
 * A step's result in one line, from the downstream answer, as an operator reads it in the
 * logs and the console ("Generated 42 forecasts", "MAPE=12.3 %"), with the figures behind
 * it. Only numbers and short strings the answer already carries: never a payload.
 */
export interface StepResultSummary {
  text: string;
  figures: Record<string, number | string | boolean | null>;
}

type Answer = Record<string, unknown>;

const num = (a: Answer, key: string): number | null =>
  typeof a[key] === 'number' && Number.isFinite(a[key]) ? a[key] : null;
const str = (a: Answer, key: string): string | null =>
  typeof a[key] === 'string' ? (a[key] as string).slice(0, 80) : null;
const len = (a: Answer, key: string): number | null =>
  Array.isArray(a[key]) ? (a[key] as unknown[]).length : null;
const pct = (n: number) => `${Math.round(n * 10) / 10} %`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const SUMMARIES: Record<string, (a: Answer) => StepResultSummary | null> = {
  'forecasting.generate': (a) => {
    const count = num(a, 'count');
    if (count === null) return null;
    const products = num(a, 'products');
    const days = num(a, 'days_ahead');
    return {
      text: `Generated ${plural(count, 'forecast')}${products !== null ? ` for ${plural(products, 'product')}` : ''}${days !== null ? ` over ${days} days` : ''}`,
      figures: {
        forecasts: count,
        products,
        days_ahead: days,
        total_predicted_units: num(a, 'total_predicted_units'),
      },
    };
  },
  'forecasting.validate': (a) => {
    const mape = num(a, 'overall_mape');
    if (mape === null) return null;
    const validated = num(a, 'forecasts_validated');
    const accuracy = num(a, 'accuracy_percentage');
    return {
      text: `${validated !== null ? `Validated ${plural(validated, 'forecast')}: ` : ''}MAPE=${pct(mape)}${accuracy !== null ? `, accuracy ${pct(accuracy)}` : ''}`,
      figures: {
        forecasts_validated: validated,
        mape: mape,
        accuracy_percentage: accuracy,
        validated_date: str(a, 'validated_date'),
      },
    };
  },
  'forecasting.evaluate_and_retrain': (a) => {
    const evaluated = num(a, 'products_evaluated');
    if (evaluated === null) return null;
    const mape = num(a, 'average_mape');
    const poor = len(a, 'poor_performers') ?? 0;
    const triggered = a.retraining_triggered === true;
    return {
      text: `Evaluated ${plural(evaluated, 'model')}${mape !== null ? `: average MAPE=${pct(mape)}` : ''}, ${poor} poor, retraining ${triggered ? 'triggered' : 'not triggered'}`,
      figures: {
        products_evaluated: evaluated,
        average_mape: mape,
        poor_performers: poor,
        retraining_triggered: triggered,
      },
    };
  },
  'production.generate_schedule': (a) => {
    const batches = num(a, 'batches');
    if (batches === null) return null;
    const units = num(a, 'total_units');
    return {
      text: `Planned ${plural(batches, 'production batch', 'production batches')}${units !== null ? ` (${units} units)` : ''}`,
      figures: { batches, total_units: units, products_planned: num(a, 'products_planned') },
    };
  },
  'procurement.calculate_needs': (a) => {
    const needs = num(a, 'needs_count') ?? len(a, 'needs');
    if (needs === null) return null;
    const cost = num(a, 'estimated_cost');
    const currency = str(a, 'currency') ?? '';
    return {
      text: `Calculated ${plural(needs, 'purchase need')}${cost !== null ? `, estimated ${cost.toFixed(2)} ${currency}`.trimEnd() : ''}`,
      figures: { purchase_needs: needs, estimated_cost: cost, currency: currency || null },
    };
  },
  'inventory.project': (a) => {
    const items = num(a, 'items_projected');
    if (items === null) return null;
    const risks = len(a, 'stockout_risks') ?? 0;
    return {
      text: `Projected ${plural(items, 'item')}${num(a, 'days_ahead') !== null ? ` over ${num(a, 'days_ahead')} days` : ''}: ${plural(risks, 'stockout risk')}`,
      figures: { items_projected: items, stockout_risks: risks, days_ahead: num(a, 'days_ahead') },
    };
  },
  'training.retrain': (a): StepResultSummary | null => {
    if (a.skipped === true) {
      return {
        text: `Retraining skipped: ${str(a, 'reason') ?? 'nothing to do'}`,
        figures: { skipped: true },
      };
    }
    const products = len(a, 'product_ids');
    if (products === null) return null;
    return {
      text: `Queued retraining of ${plural(products, 'product')}`,
      figures: { products, job_id: str(a, 'job_id') },
    };
  },
  'alert_processor.archive_resolved': (a) => {
    const archived = num(a, 'archived_count');
    if (archived === null) return null;
    return {
      text: `Archived ${plural(archived, 'resolved alert')}`,
      figures: { archived, older_than_days: num(a, 'older_than_days') },
    };
  },
};

const notification = (a: Answer): StepResultSummary | null => {
  const type = str(a, 'type');
  if (!type) return null;
  const channels = Array.isArray(a.channels) ? a.channels.filter((c) => typeof c === 'string') : [];
  return {
    text: `Sent the ${type.replace(/_/g, ' ')}${channels.length ? ` (${channels.join(', ')})` : ''}`,
    figures: { type, channels: channels.length },
  };
};
for (const op of [
  'notification.daily_summary',
  'notification.weekly_digest',
  'notification.workflow_failure',
])
  SUMMARIES[op] = notification;

/** The summary of an operation's answer, or null when the answer lacks what it needs. */
export function summarizeResult(operation: string, result: unknown): StepResultSummary | null {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return null;
  return SUMMARIES[operation]?.(result as Answer) ?? null;
}
