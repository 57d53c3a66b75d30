import { Body, Controller, Get, INestApplication, Post, Query, Req } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppErrorFilter } from 'src/common/errors/app-error.filter';
import { StrictInputGuard } from './strict-input.guard';

@Controller('x')
class XController {
  @Get('plain')
  plain() {
    return { ok: true };
  }

  @Get('filtered')
  filtered(@Query() q: Record<string, string>) {
    return q;
  }

  @Post('toggle')
  toggle(@Req() _req: object) {
    return { toggled: true };
  }

  @Post('create')
  create(@Body() body: Record<string, unknown>) {
    return body;
  }
}

describe(StrictInputGuard.name, () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [XController],
      providers: [{ provide: APP_GUARD, useClass: StrictInputGuard }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new AppErrorFilter());
    await app.init();
  });
  afterAll(() => app.close());

  it('refuses a query string on a route that reads none, naming each parameter', async () => {
    const res = await request(app.getHttpServer()).get('/x/plain?limit=5&debug');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: 'REQUEST_INVALID',
      details: [
        { field: 'limit', message: 'unknown query parameter' },
        { field: 'debug', message: 'unknown query parameter' },
      ],
    });
    expect((await request(app.getHttpServer()).get('/x/plain')).status).toBe(200);
  });

  it('leaves query strings to routes that declare them', async () => {
    const res = await request(app.getHttpServer()).get('/x/filtered?limit=5');
    expect(res.status).toBe(200);
  });

  it('refuses a body on a route that takes none, but accepts an empty object', async () => {
    const server = app.getHttpServer();
    expect((await request(server).post('/x/toggle').send({ force: true })).status).toBe(400);
    expect((await request(server).post('/x/toggle').send([1])).status).toBe(400);
    expect((await request(server).post('/x/toggle').send({})).status).toBe(201);
    expect((await request(server).post('/x/toggle')).status).toBe(201);
    expect((await request(server).post('/x/create').send({ a: 1 })).status).toBe(201);
  });
});
