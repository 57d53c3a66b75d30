import { parseSimulatorArgs } from './cli';

describe('parseSimulatorArgs', () => {
  it('reads every flag', () => {
    const options = parseSimulatorArgs([
      '--port',
      '18100',
      '--tenants',
      '10000',
      '--latency-ms',
      '20',
      '--jitter-ms',
      '5',
      '--error-rate',
      '0.01',
      '--timeout-rate',
      '0.001',
      '--seed',
      '7',
      '--purchase-orders-per-tenant',
      '4',
      '--anchor',
      '2025-11-26T14:30:00Z',
      '--all-active',
    ]);
    expect(options).toEqual(
      expect.objectContaining({
        port: 18100,
        tenants: 10000,
        latencyMs: 20,
        jitterMs: 5,
        errorRate: 0.01,
        timeoutRate: 0.001,
        seed: 7,
        purchaseOrdersPerTenant: 4,
        anchor: '2025-11-26T14:30:00Z',
        includeInactive: false,
      }),
    );
  });

  it('defaults to port 18100, 50 tenants and no latency', () => {
    expect(parseSimulatorArgs([])).toEqual(
      expect.objectContaining({
        port: 18100,
        tenants: 50,
        latencyMs: 0,
        errorRate: 0,
        includeInactive: true,
      }),
    );
  });

  it.each([
    [['--tenants', 'many'], '--tenants "many" is not valid'],
    [['--error-rate', '1.5'], '--error-rate "1.5" is not valid'],
    [['--anchor', 'tomorrow'], '--anchor "tomorrow" is not an ISO instant'],
    [['--colour', 'red'], "Unknown option '--colour'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseSimulatorArgs(argv)).toThrow(message);
  });
});
