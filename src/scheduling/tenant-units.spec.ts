import { tenantFilterFor, unitsOfTenants } from './tenant-units';
import { tenant } from 'test/fakes/scheduling.fakes';

const OWN = { timezone: 'Europe/Madrid', calendar: { country: 'ES', region: 'MD' } };

describe(unitsOfTenants.name, () => {
  it('makes one unit per distinct timezone and region', () => {
    const units = unitsOfTenants(
      [
        tenant('a', 'Europe/Madrid', { country: 'ES', region: 'MD' }),
        tenant('b', 'Europe/Madrid', { country: 'ES', region: 'MD' }),
        tenant('c', 'Europe/Madrid', { country: 'ES', region: 'CT' }),
        tenant('d', 'Atlantic/Canary', { country: 'ES', region: 'CN' }),
      ],
      OWN,
    );
    expect(units.map((u) => `${u.timezone} ${u.calendar.region}`)).toEqual([
      'Atlantic/Canary CN',
      'Europe/Madrid CT',
      'Europe/Madrid MD',
    ]);
  });

  it("falls back to the workflow's zone and calendar for unknown ones", () => {
    const units = unitsOfTenants([tenant('a', 'Mars/Base', { country: 'XX' })], OWN);
    expect(units).toEqual([OWN]);
  });

  it("is the workflow's own unit when there are no tenants", () => {
    expect(unitsOfTenants([], OWN)).toEqual([OWN]);
  });
});

describe(tenantFilterFor.name, () => {
  const tenants = [
    tenant('md', 'Europe/Madrid', { country: 'ES', region: 'MD' }),
    tenant('ct', 'Europe/Madrid', { country: 'ES', region: 'CT' }),
    tenant('cn', 'Atlantic/Canary', { country: 'ES', region: 'CN' }),
    tenant('pt', 'Europe/Lisbon', { country: 'PT' }),
  ];
  const unit = (timezone: string, country: string, region: string | null = null) => ({
    timezone,
    calendar: { country, region },
  });

  it('filters by timezone when whole zones run', () => {
    expect(
      tenantFilterFor(
        [unit('Atlantic/Canary', 'ES', 'CN'), unit('Europe/Lisbon', 'PT')],
        tenants,
        OWN,
      ),
    ).toEqual({ timezones: ['Atlantic/Canary', 'Europe/Lisbon'] });
  });

  it('filters by id when only part of a zone runs', () => {
    expect(tenantFilterFor([unit('Europe/Madrid', 'ES', 'CT')], tenants, OWN)).toEqual({
      tenantIds: ['ct'],
    });
  });

  it('filters by id when a tenant runs on the fallback zone', () => {
    const withTypo = [...tenants, tenant('typo', 'Europe/Madird', { country: 'ES', region: 'MD' })];
    expect(
      tenantFilterFor(
        [unit('Europe/Madrid', 'ES', 'MD'), unit('Europe/Madrid', 'ES', 'CT')],
        withTypo,
        OWN,
      ),
    ).toEqual({ tenantIds: ['md', 'ct', 'typo'] });
  });
});
