import { describeDatabaseTimeout } from './database-timeout';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe(describeDatabaseTimeout.name, () => {
  it.each([
    [pgError('57014', 'canceling statement due to statement timeout'), 'past its timeout'],
    [pgError('55P03'), 'lock was not available'],
    [pgError('25P03'), 'idle past its timeout'],
    [new Error('timeout exceeded when trying to connect'), 'no database connection was free'],
    [
      Object.assign(new Error('QueryFailedError'), { driverError: { code: '57014' } }),
      'past its timeout',
    ],
  ])('names a retryable database timeout (%s)', (err, expected) => {
    expect(describeDatabaseTimeout(err)).toContain(expected);
  });

  it.each([
    [pgError('23505', 'duplicate key value')],
    [pgError('42P01', 'relation does not exist')],
    [new Error('something else')],
    ['not an error'],
  ])('leaves other errors alone (%s)', (err) => {
    expect(describeDatabaseTimeout(err)).toBeNull();
  });
});
