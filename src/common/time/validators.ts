import { CronExpressionParser } from 'cron-parser';
import { IANAZone } from 'luxon';

/** Five fields only: a seconds field would silently change what "0 8 * * *" means. */
export function isValidCron(expression: string): boolean {
  if (typeof expression !== 'string' || expression.trim().split(/\s+/).length !== 5) return false;
  try {
    CronExpressionParser.parse(expression, { tz: 'UTC' });
    return true;
  } catch {
    return false;
  }
}

export function isValidTimezone(zone: string): boolean {
  return typeof zone === 'string' && IANAZone.isValidZone(zone);
}
