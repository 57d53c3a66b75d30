import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';

/** Name and labels from the specification's metric list: 1 on the leader, 0 elsewhere. */
export const LEADER_INSTANCE_METRIC = 'orchestrator_leader_instance';

export const leaderInstanceGaugeProvider = makeGaugeProvider({
  name: LEADER_INSTANCE_METRIC,
  help: 'Current leader instance (1=leader, 0=follower)',
  labelNames: ['instance_id'],
});
