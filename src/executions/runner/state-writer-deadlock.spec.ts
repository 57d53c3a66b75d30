import type { ExecutionsRepository, LogRow } from '../executions.repository';
import { StateWriter } from './state-writer';

const log: LogRow = {
  executionId: '00000000-0000-4000-8000-000000000001',
  stepName: 'generate_forecasts',
  stepIndex: 0,
  level: 'info',
  message: 'generate_forecasts completed',
  data: null,
  at: new Date('2026-12-07T05:00:00Z'),
};

/** A repository whose writeState fails with the given errors, in turn, then succeeds. */
function repositoryFailing(...errors: Error[]) {
  const written: LogRow[][] = [];
  const repository = {
    writeState: (_steps: unknown[], logs: LogRow[]) => {
      const err = errors.shift();
      if (err) return Promise.reject(err);
      written.push(logs);
      return Promise.resolve(new Set<string>());
    },
  } as unknown as ExecutionsRepository;
  return { repository, written };
}

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe(StateWriter.name, () => {
  describe('write', () => {
    it('writes a batch again when PostgreSQL failed it to break a deadlock', async () => {
      const { repository, written } = repositoryFailing(
        pgError('40P01', 'deadlock detected'),
        pgError('40P01', 'deadlock detected'),
      );
      await expect(new StateWriter(repository).write({ logs: [log] })).resolves.toEqual(new Set());
      expect(written).toEqual([[log]]);
    });

    it('gives up after three deadlocks in a row', async () => {
      const { repository, written } = repositoryFailing(
        ...[1, 2, 3].map(() => pgError('40P01', 'deadlock detected')),
      );
      await expect(new StateWriter(repository).write({ logs: [log] })).rejects.toThrow('deadlock');
      expect(written).toEqual([]);
    });

    it('does not write again after any other error', async () => {
      const { repository, written } = repositoryFailing(
        pgError('23503', 'violates foreign key constraint'),
      );
      await expect(new StateWriter(repository).write({ logs: [log] })).rejects.toThrow(
        'foreign key',
      );
      expect(written).toEqual([]);
    });
  });
});
