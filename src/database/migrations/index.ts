import { InitialSchema1764460800000 } from './1764460800000-initial-schema';

/** Listed explicitly (not globbed) so the same list works from ts-jest, ts-node and dist. */
export const MIGRATIONS = [InitialSchema1764460800000];
