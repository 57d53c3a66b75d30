import {
  BadRequestException,
  Body,
  Controller,
  Get,
  INestApplication,
  Param,
  Post,
  Put,
  Req,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppError } from 'src/common/errors/app-error';
import { AppErrorFilter } from 'src/common/errors/app-error.filter';
import { noteAuditChange } from './audit-change';
import { AuditInterceptor } from './audit.interceptor';
import { AuditService } from './audit.service';

@Controller('items')
class ItemsController {
  @Get(':id')
  get() {
    return { read: true };
  }

  @Put(':id')
  update(@Param('id') id: string, @Body() body: Record<string, unknown>, @Req() req: object) {
    noteAuditChange(req, { before: { id, v: 1 }, after: { id, v: 2, ...body } });
    return { id, v: 2 };
  }

  @Post(':id/poke')
  poke() {
    return { poked: true };
  }

  @Post(':id/refuse')
  refuse() {
    throw new BadRequestException({ statusCode: 400, error: 'REQUEST_INVALID', message: 'no' });
  }

  @Post(':id/conflict')
  conflict() {
    throw new AppError('ITEM_CONFLICT', 'busy');
  }

  @Post(':id/crash')
  crash() {
    throw new Error('database went away');
  }
}

describe(AuditInterceptor.name, () => {
  const recorded: Record<string, unknown>[] = [];
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [ItemsController],
      providers: [
        { provide: AuditService, useValue: { record: async (e: never) => void recorded.push(e) } },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new AppErrorFilter());
    await app.init();
  });
  afterAll(() => app.close());
  beforeEach(() => (recorded.length = 0));

  it('does not record reads', async () => {
    await request(app.getHttpServer()).get('/items/1').expect(200);
    expect(recorded).toEqual([]);
  });

  it('records an update with the before/after the handler noted and the route pattern', async () => {
    await request(app.getHttpServer()).put('/items/7').send({ name: 'x' }).expect(200);
    expect(recorded).toEqual([
      expect.objectContaining({
        method: 'PUT',
        route: '/items/:id',
        path: '/items/7',
        target: '7',
        statusCode: 200,
        request: { name: 'x' },
        before: { id: '7', v: 1 },
        after: { id: '7', v: 2, name: 'x' },
        subject: 'anonymous',
      }),
    ]);
  });

  it('records other mutations with the response as after', async () => {
    await request(app.getHttpServer()).post('/items/3/poke').expect(201);
    expect(recorded).toEqual([
      expect.objectContaining({ statusCode: 201, before: null, after: { poked: true } }),
    ]);
  });

  it("does not record the caller's mistakes (400, 409)", async () => {
    await request(app.getHttpServer()).post('/items/3/refuse').expect(400);
    await request(app.getHttpServer()).post('/items/3/conflict').expect(409);
    expect(recorded).toEqual([]);
  });

  it('records a server failure, since the change may have half happened', async () => {
    const res = await request(app.getHttpServer()).post('/items/3/crash');
    expect(res.status).toBe(500);
    expect(recorded).toEqual([
      expect.objectContaining({ statusCode: 500, after: { error: 'INTERNAL_ERROR' } }),
    ]);
  });
});
