import type { OpenAPIObject } from '@nestjs/swagger';
import { defaultRoleFor, isRole } from './roles';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
export const BEARER_SCHEME = 'bearer';

/**
 * Makes the document say what AuthGuard enforces, so Swagger's "Authorize" sends the token
 * on every protected operation without each controller remembering @ApiBearerAuth(): an
 * operation is protected unless @Public()/@MetricsAccess() marked it, and its description
 * names the role it needs (from @Roles() or the GET → viewer, other → admin default).
 */
export function describeSecurity(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const ext = op as unknown as Record<string, unknown>;
      if (ext['x-auth'] === 'public') {
        op.security = [];
        continue;
      }
      if (ext['x-auth'] === 'metrics') {
        op.security = [{}, { [BEARER_SCHEME]: [] }];
        op.description = appendLine(
          op.description,
          'Needs the **viewer** role when METRICS_REQUIRE_AUTH=true, or when it is unset and NODE_ENV=production; open otherwise.',
        );
        continue;
      }
      const declared = ext['x-required-role'];
      const role = isRole(declared) ? declared : defaultRoleFor(method);
      op.security = [{ [BEARER_SCHEME]: [] }];
      op.description = appendLine(op.description, `Needs the **${role}** role (or above).`);
      op.responses = {
        ...op.responses,
        401: op.responses?.[401] ?? {
          description: 'missing, malformed, expired or forged bearer token',
        },
        403: op.responses?.[403] ?? { description: `the token lacks the ${role} role` },
      };
    }
  }
  return document;
}

function appendLine(text: string | undefined, line: string): string {
  return text ? `${text}\n\n${line}` : line;
}
