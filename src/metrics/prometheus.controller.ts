import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { MetricsAccess } from 'src/auth/auth.decorators';

/**
 * The Prometheus exposition at the root `/metrics` (PrometheusModule sets the path; the
 * global prefix excludes it). Open to scrapers unless METRICS_REQUIRE_AUTH=true.
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
