import { Injectable } from '@nestjs/common';

/**
 * Plain stdout, outside the JSON logger: the one message meant for a person at a terminal
 * (the generated admin token) must not go through log shipping, and must be copyable.
 */
@Injectable()
export class ConsoleOutput {
  write(text: string): void {
    process.stdout.write(text);
  }
}
