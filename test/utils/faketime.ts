import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The environment that makes a child process see a shifted clock, as `faketime -f +90s`
 * would run it: libfaketime preloaded with FAKETIME. Set as environment variables rather
 * than through the `faketime` wrapper, because the wrapper forks and waits, so a signal
 * sent to it (a kill -9 in a test) would not reach the service.
 *
 * Null when the Debian package `faketime` is not installed (`.ci/run` installs it).
 */
export function fakeTimeEnv(offset: string): Record<string, string> | null {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir && existsSync(join(dir, 'faketime')));
  const library = [
    '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
    '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
    '/usr/lib/faketime/libfaketime.so.1',
    '/usr/local/lib/faketime/libfaketime.so.1',
  ].find((p) => existsSync(p));
  if (!onPath || !library) return null;
  return { LD_PRELOAD: library, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

/** Why a faketime suite cannot run; under CI=true the suite must fail rather than skip. */
export const FAKETIME_MISSING =
  'faketime is not installed (Debian package "faketime": apt-get install -y faketime; .ci/run installs it)';
