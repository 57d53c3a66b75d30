import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import { validateCalendar } from 'src/common/time/calendar';
import { validateCron, validateTimezone } from 'src/common/time/cron-time';

/**
 * The schedule validators, for every module that accepts schedule fields (PUT /schedule
 * here, PUT /workflows/{id} in the workflows module): the same pure functions the
 * scheduler uses, so whatever is accepted at save time also schedules at fire time.
 * Each returns null when valid, otherwise the problem in words.
 */
export { validateCalendar, validateCron, validateTimezone };

function fromCheck(
  name: string,
  check: (value: unknown, args: ValidationArguments) => string | null,
  options?: ValidationOptions,
) {
  return (target: object, propertyName: string) => {
    const problems = new WeakMap<object, string>();
    registerDecorator({
      name,
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate(value: unknown, args: ValidationArguments) {
          const problem = check(value, args);
          if (problem) problems.set(args.object, problem);
          return problem === null;
        },
        defaultMessage(args: ValidationArguments) {
          return problems.get(args.object) ?? `${args.property} is invalid`;
        },
      },
    });
  };
}

/** A five-field cron expression cron-parser accepts (no seconds field, no H). */
export const IsCronExpression = (options?: ValidationOptions) =>
  fromCheck('isCronExpression', (value) => validateCron(value), options);

/** A timezone of the IANA database (luxon's), such as Europe/Madrid. */
export const IsIanaTimezone = (options?: ValidationOptions) =>
  fromCheck('isIanaTimezone', (value) => validateTimezone(value), options);

/** On `country` of a calendar object: a country date-holidays has a calendar for. */
export const IsHolidayCountry = (options?: ValidationOptions) =>
  fromCheck(
    'isHolidayCountry',
    (value) => {
      const problem = validateCalendar({ country: value });
      return problem?.field === 'country' ? problem.message : null;
    },
    options,
  );

/** On `region` of a calendar object: a region of the object's `country` (null: national only). */
export const IsHolidayRegion = (options?: ValidationOptions) =>
  fromCheck(
    'isHolidayRegion',
    (value, args) => {
      const country = (args.object as { country?: unknown }).country;
      const problem = validateCalendar({ country, region: value });
      return problem?.field === 'region' ? problem.message : null;
    },
    options,
  );
