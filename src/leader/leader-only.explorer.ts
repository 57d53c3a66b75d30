import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { findLeaderGate, LEADER_ONLY_METADATA } from './leader-only.decorator';
import { LeaderError, LeaderErrorCode } from './leader.errors';

/**
 * Fails the boot when a @LeaderOnly() method's class has no LeaderGate: otherwise the job
 * would be skipped, with only a log line, every time it fires.
 */
@Injectable()
export class LeaderOnlyExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    const problems: string[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = (instance as Record<string, unknown>)[name];
        if (typeof method !== 'function') continue;
        const job = Reflect.getMetadata(LEADER_ONLY_METADATA, method) as string | undefined;
        if (job && !findLeaderGate(instance)) problems.push(job);
      }
    }
    if (problems.length > 0) {
      throw new LeaderError(
        LeaderErrorCode.GateMissing,
        `@LeaderOnly() on ${problems.join(', ')}: the class must inject LeaderGate in its constructor`,
      );
    }
  }
}
