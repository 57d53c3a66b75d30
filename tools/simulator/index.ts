/** The bakery platform simulator: fake downstream services for the demo, tests and benchmarks. */
export { SIMULATOR_NAME, startSimulator } from './simulator';
export type {
  RunningSimulator,
  SimulatorConfig,
  SimulatorOptions,
  SimulatorStats,
} from './simulator';
export { spawnSimulator } from './child';
export type { SimulatorChild } from './child';
export type { Fault, FaultSpec } from './faults';
export type { JournalEntry, JournalFilter } from './journal';
export { DELIVERY_CASES } from './data';
export type { DeliveryCase, PurchaseOrder } from './data';
