import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { MetricsAccess } from 'src/auth/auth.decorators';

/**
 * The Prometheus exposition at the root `/metrics` (PrometheusModule sets the path; the
 * global prefix excludes it). Needs a viewer token in production
 * unless METRICS_REQUIRE_AUTH=false (src/auth/README.md).
 */
@ApiTags('metrics')
@MetricsAccess()
@Controller()
export class PrometheusMetricsController extends PrometheusController {
  @Get()
  @ApiOperation({ summary: 'Prometheus exposition (text format)' })
  override index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    return super.index(response);
  }
}
