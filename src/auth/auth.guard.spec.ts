import { Controller, Get, Global, INestApplication, Module, Post, Put } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { AppErrorFilter } from 'src/common/errors/app-error.filter';
import { Clock } from 'src/common/time/clock';
import { ConfigModule } from 'src/config/config.module';
import { validateEnv } from 'src/config/validate-env';
import { CurrentPrincipal, MetricsAccess, Public, Roles } from './auth.decorators';
import { AuthModule } from './auth.module';
import { ConsoleOutput } from './console-output';
import { describeSecurity } from './openapi-security';
import type { Principal } from './principal';
import { FakeClock } from 'test/fakes/fake-clock';

const SECRET = 'guard-spec-secret-0123456789abcdefghijklmn';
const START = new Date('2026-03-01T07:00:00Z');

@Controller('things')
class ThingsController {
  @Get()
  list(@CurrentPrincipal() caller: Principal) {
    return { subject: caller.subject };
  }

  @Post(':id/run')
  @Roles('operator')
  run() {
    return { ran: true };
  }

  @Put(':id')
  update() {
    return { updated: true };
  }
}

@Public()
@Controller('probe')
class ProbeController {
  @Get()
  get() {
    return { ok: true };
  }

  // @Public() on a mutating route still needs a token: anonymous writes are impossible
  @Post()
  post() {
    return { posted: true };
  }
}

@MetricsAccess()
@Controller('scrape')
class ScrapeController {
  @Get()
  get() {
    return 'metrics';
  }
}

async function appWith(env: Record<string, string>, clock: Clock, output?: ConsoleOutput) {
  @Global()
  @Module({
    imports: [ConfigModule.forRoot(validateEnv(env)), AuthModule],
    controllers: [ThingsController, ProbeController, ScrapeController],
    providers: [{ provide: Clock, useValue: clock }],
    exports: [Clock],
  })
  class TestModule {}
  const builder = Test.createTestingModule({ imports: [TestModule] });
  if (output) builder.overrideProvider(ConsoleOutput).useValue(output);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useGlobalFilters(new AppErrorFilter());
  await app.init();
  return app;
}

const token = (claims: Record<string, unknown>, secret = SECRET) =>
  jwt.sign(
    {
      sub: 'alice',
      roles: ['viewer'],
      iat: Math.floor(START.getTime() / 1000),
      exp: Math.floor(START.getTime() / 1000) + 600,
      ...claims,
    },
    secret,
    { algorithm: 'HS256' },
  );
const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

describe('AuthGuard', () => {
  const clock = new FakeClock(START);
  let app: INestApplication;

  beforeAll(async () => {
    app = await appWith({ AUTH_JWT_SECRET: SECRET }, clock);
  });
  afterAll(() => app.close());
  beforeEach(() => clock.set(START));

  it('answers 401 AUTH_TOKEN_MISSING with a JSON body and a WWW-Authenticate header', async () => {
    const res = await request(app.getHttpServer()).get('/things');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      statusCode: 401,
      error: 'AUTH_TOKEN_MISSING',
      message: expect.stringContaining('Bearer'),
    });
    expect(res.headers['www-authenticate']).toContain('Bearer');
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('answers 401 for a header that is not "Bearer <token>"', async () => {
    const res = await request(app.getHttpServer())
      .get('/things')
      .set('Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('AUTH_TOKEN_INVALID');
  });

  it('answers 401 AUTH_TOKEN_INVALID for a forged token', async () => {
    const res = await request(app.getHttpServer())
      .get('/things')
      .set(auth(token({}, 'forged-secret-forged-secret-forged-secret')));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('AUTH_TOKEN_INVALID');
  });

  it('answers 401 AUTH_TOKEN_EXPIRED once the clock passes exp plus the skew', async () => {
    const t = token({});
    clock.advance((600 + 29) * 1000);
    expect((await request(app.getHttpServer()).get('/things').set(auth(t))).status).toBe(200);
    clock.advance(2000);
    const res = await request(app.getHttpServer()).get('/things').set(auth(t));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('AUTH_TOKEN_EXPIRED');
  });

  it('lets a viewer read and hands the handler the principal', async () => {
    const res = await request(app.getHttpServer())
      .get('/things')
      .set(auth(token({})));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ subject: 'alice' });
  });

  it('answers 403 AUTH_FORBIDDEN naming the role when the token lacks it', async () => {
    const res = await request(app.getHttpServer())
      .post('/things/1/run')
      .set(auth(token({})));
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      statusCode: 403,
      error: 'AUTH_FORBIDDEN',
      message: expect.stringContaining('needs the operator role'),
    });
  });

  it('lets an operator run but not update (non-GET defaults to admin)', async () => {
    const operator = auth(token({ roles: ['operator'] }));
    expect((await request(app.getHttpServer()).post('/things/1/run').set(operator)).status).toBe(
      201,
    );
    expect((await request(app.getHttpServer()).put('/things/1').set(operator)).status).toBe(403);
    const admin = auth(token({ roles: ['admin'] }));
    expect((await request(app.getHttpServer()).put('/things/1').set(admin)).status).toBe(200);
  });

  it('leaves @Public() reads open but never a write', async () => {
    expect((await request(app.getHttpServer()).get('/probe')).status).toBe(200);
    expect((await request(app.getHttpServer()).post('/probe')).status).toBe(401);
    const viewer = auth(token({}));
    expect((await request(app.getHttpServer()).post('/probe').set(viewer)).status).toBe(403);
  });

  it('leaves the metrics exposition open by default', async () => {
    expect((await request(app.getHttpServer()).get('/scrape')).status).toBe(200);
  });
});

describe('AuthGuard with METRICS_REQUIRE_AUTH=true', () => {
  it('asks a viewer token for the metrics exposition', async () => {
    const app = await appWith(
      { AUTH_JWT_SECRET: SECRET, METRICS_REQUIRE_AUTH: 'true' },
      new FakeClock(START),
    );
    try {
      expect((await request(app.getHttpServer()).get('/scrape')).status).toBe(401);
      const res = await request(app.getHttpServer())
        .get('/scrape')
        .set(auth(token({})));
      expect(res.status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('embedded mode (no key configured)', () => {
  it('prints one generated admin token with a curl example, and accepts only that token', async () => {
    const printed: string[] = [];
    const app = await appWith({ PORT: '8123' }, new FakeClock(START), {
      write: (text: string) => printed.push(text),
    });
    try {
      expect(printed).toHaveLength(1);
      const generated = /^ {2}(\S+\.\S+\.\S+)$/m.exec(printed[0])![1];
      expect(printed[0]).toContain(
        `curl -H "Authorization: Bearer ${generated}" http://127.0.0.1:8123/api/v1/orchestrator/workflows`,
      );
      const ok = await request(app.getHttpServer()).put('/things/1').set(auth(generated));
      expect(ok.status).toBe(200);
      // a well-formed admin token signed with any other secret is refused
      const other = await request(app.getHttpServer())
        .put('/things/1')
        .set(auth(token({ roles: ['admin'] })));
      expect(other.status).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('refuses to start in production without a key', async () => {
    await expect(
      appWith(
        {
          NODE_ENV: 'production',
          TENANT_SERVICE_URL: 'http://t:1',
          FORECASTING_SERVICE_URL: 'http://t:1',
          PRODUCTION_SERVICE_URL: 'http://t:1',
          PROCUREMENT_SERVICE_URL: 'http://t:1',
          INVENTORY_SERVICE_URL: 'http://t:1',
          NOTIFICATION_SERVICE_URL: 'http://t:1',
          TRAINING_SERVICE_URL: 'http://t:1',
          ALERT_PROCESSOR_SERVICE_URL: 'http://t:1',
        },
        new FakeClock(START),
      ),
    ).rejects.toThrow(/AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY/);
  });
});

describe('describeSecurity', () => {
  it('marks protected operations with bearer and their role, public ones with none', async () => {
    const app = await appWith({ AUTH_JWT_SECRET: SECRET }, new FakeClock(START));
    try {
      const doc = describeSecurity(
        SwaggerModule.createDocument(app, new DocumentBuilder().addBearerAuth().build()),
      );
      expect(doc.paths['/things'].get!.security).toEqual([{ bearer: [] }]);
      expect(doc.paths['/things'].get!.description).toContain('**viewer**');
      expect(doc.paths['/things/{id}/run'].post!.description).toContain('**operator**');
      expect(doc.paths['/things/{id}'].put!.description).toContain('**admin**');
      expect(doc.paths['/things/{id}'].put!.responses['403']).toBeDefined();
      expect(doc.paths['/probe'].get!.security).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
