import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config.service';
import { AuthSetup } from './auth-setup';
import { ConsoleOutput } from './console-output';

/** Prints the generated admin token once per process, with how to use it. */
@Injectable()
export class BootstrapTokenAnnouncer implements OnApplicationBootstrap {
  private announced = false;

  constructor(
    private readonly setup: AuthSetup,
    private readonly config: AppConfig,
    private readonly output: ConsoleOutput,
  ) {}

  onApplicationBootstrap(): void {
    const token = this.setup.generatedToken;
    if (!token || this.announced) return;
    this.announced = true;
    const base = `http://127.0.0.1:${this.config.get('PORT')}`;
    this.output.write(
      [
        '',
        'No AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY is set: this instance accepts only this',
        'generated admin token, valid until the process stops (it is not shown again):',
        '',
        `  ${token}`,
        '',
        'Use it as a bearer token, for example:',
        `  curl -H "Authorization: Bearer ${token}" ${base}/api/v1/orchestrator/workflows`,
        `or paste it into "Authorize" in the Swagger UI at ${base}/api/docs.`,
        '',
        // the fragment never leaves the browser, so the token stays out of access logs
        'Operator console (opens signed in):',
        `  ${base}/console/#token=${token}`,
        '',
        '',
      ].join('\n'),
    );
  }
}
