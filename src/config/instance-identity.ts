import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';

/**
 * Who this process is, once for the whole service: the leader record (`GET /leader`'s
 * `instance_id`), the execution leases and `executed_by_instance`, the delivery-tracking
 * run lock, the `clock_skew:<id>` alert and every log line (`instanceId`) all carry this
 * one id. Hostname plus a random suffix, as the specification has it: unique even for two
 * processes on one host (two pods, or a restart that reuses the name).
 */
export class InstanceIdentity {
  constructor(
    readonly id: string,
    readonly hostname: string,
  ) {}

  static create(host: string = osHostname()): InstanceIdentity {
    return new InstanceIdentity(`${host}_${randomBytes(4).toString('hex')}`, host);
  }
}
