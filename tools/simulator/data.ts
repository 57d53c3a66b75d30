import type {
  PurchaseOrder,
  PurchaseOrderStatus,
  ReceiptStatus,
} from 'src/clients/downstream.types';
import type { SubscriptionTier, Tenant, TenantStatus } from 'src/clients/operation-registry';
import { hashSeed, intBetween, mulberry32, pick, round, seededUuid, Rng } from './prng';

/**
 * The simulator's bakery data: a pure function of (seed, index). Nothing is stored per
 * tenant beyond the tenant itself, so 10,000 tenants cost a few megabytes, and purchase
 * orders are rebuilt on each request around the current clock anchor.
 */

export interface TenantRecord {
  tenant: Tenant;
  /** position in generation order: the stable key every derived stream hangs from */
  index: number;
  productCount: number;
  ingredientCount: number;
}

const PREFIXES = ['Panadería', 'Pastelería', 'Horno', 'Obrador', 'Confitería', 'Forn de pa'];
const NAMES = [
  'San Mateo',
  'La Espiga',
  'El Trigal',
  'Santa Clara',
  'La Tahona',
  'Los Molinos',
  'Casa Lucía',
  'La Masa Madre',
  'Hermanos Ortiz',
  'La Real',
  'El Buen Pan',
  'Doña Carmen',
  'Sant Jordi',
  'La Giralda',
  'Del Puerto',
  'El Roscón',
];
const LISBON_PREFIXES = ['Padaria', 'Pastelaria', 'Confeitaria'];
const LISBON_NAMES = ['Alfama', 'São Bento', 'Belém', 'do Chiado', 'Estrela', 'da Graça'];

/** Where bakeries are: most in peninsular Spain, some in the Canaries, a few abroad. */
const PLACES: ReadonlyArray<{
  weight: number;
  timezone: string;
  country: string;
  regions: readonly (string | null)[];
}> = [
  {
    weight: 78,
    timezone: 'Europe/Madrid',
    country: 'ES',
    regions: ['MD', 'MD', 'MD', 'CT', 'CT', 'AN', 'AN', 'VC', 'PV', 'GA', 'CL', 'AR', 'MC', null],
  },
  { weight: 10, timezone: 'Atlantic/Canary', country: 'ES', regions: ['CN'] },
  { weight: 7, timezone: 'Europe/Lisbon', country: 'PT', regions: [null] },
  { weight: 3, timezone: 'Europe/Paris', country: 'FR', regions: [null] },
  { weight: 2, timezone: 'Europe/Madrid', country: 'AD', regions: [null] },
];
const WEIGHTED_PLACES = PLACES.map((p) => [p, p.weight] as [(typeof PLACES)[number], number]);
const PLACE_TOTAL = PLACES.reduce((s, p) => s + p.weight, 0);

const TIERS: ReadonlyArray<[SubscriptionTier, number]> = [
  ['enterprise', 10],
  ['professional', 30],
  ['starter', 40],
  ['free', 20],
];

export const PRODUCTS = [
  'Barra de pan',
  'Baguette',
  'Croissant',
  'Napolitana de chocolate',
  'Ensaimada',
  'Magdalena',
  'Pan integral',
  'Pan de centeno',
  'Palmera',
  'Bollo suizo',
  'Empanada gallega',
  'Tarta de Santiago',
  'Pan de molde',
  'Chapata',
  'Hogaza',
  'Coca de llardons',
  'Pastel de nata',
  'Berlina',
  'Trenza de hojaldre',
  'Pan de aceite',
  'Rosquillas',
  'Bizcocho de yogur',
  'Mollete',
  'Pan de pueblo',
  'Sobao pasiego',
  'Carquiñoles',
  'Tortas de aceite',
  'Pan de cristal',
  'Medias noches',
  'Brioche',
  'Panettone',
  'Galletas de mantequilla',
  'Cruasán integral',
  'Focaccia',
  'Pan de nueces',
  'Muffin de arándanos',
  'Tarta de queso',
  'Milhojas',
  'Pan sin gluten',
  'Rosca de anís',
] as const;

export const INGREDIENTS: ReadonlyArray<{ name: string; unit: string; price: number }> = [
  { name: 'Harina de trigo T55', unit: 'kg', price: 0.62 },
  { name: 'Harina de fuerza W300', unit: 'kg', price: 0.78 },
  { name: 'Harina integral', unit: 'kg', price: 0.85 },
  { name: 'Harina de centeno', unit: 'kg', price: 0.94 },
  { name: 'Mantequilla', unit: 'kg', price: 7.9 },
  { name: 'Azúcar', unit: 'kg', price: 1.05 },
  { name: 'Levadura fresca', unit: 'kg', price: 3.2 },
  { name: 'Sal marina', unit: 'kg', price: 0.4 },
  { name: 'Huevos camperos', unit: 'docena', price: 3.1 },
  { name: 'Leche entera', unit: 'l', price: 0.95 },
  { name: 'Chocolate negro 70%', unit: 'kg', price: 11.5 },
  { name: 'Almendra marcona', unit: 'kg', price: 14.2 },
  { name: 'Aceite de oliva virgen extra', unit: 'l', price: 8.4 },
  { name: 'Nata para montar', unit: 'l', price: 4.3 },
  { name: 'Queso crema', unit: 'kg', price: 6.8 },
  { name: 'Anís en grano', unit: 'kg', price: 12.0 },
];

export const SUPPLIERS: ReadonlyArray<{ name: string; phone?: string }> = [
  { name: 'Harinas del Tajo S.L.', phone: '+34 915 55 01 23' },
  { name: 'Molinos de Castilla S.A.', phone: '+34 983 20 44 10' },
  { name: 'Lácteos Asturianos Coop.', phone: '+34 985 33 12 77' },
  { name: 'Distribuciones Levante', phone: '+34 963 41 08 92' },
  { name: 'Huevos El Corral' },
  { name: 'Cacao Barcelona S.L.', phone: '+34 932 18 66 04' },
  { name: 'Almazara del Sur', phone: '+34 957 47 21 30' },
  { name: 'Frutos Secos Marcona' },
];

export interface GenerateOptions {
  seed: number;
  count: number;
  /** false: no suspended or cancelled tenants (benchmarks that want N active tenants) */
  includeInactive?: boolean;
}

/**
 * Statuses follow a fixed pattern rather than the stream so that any count from 12 up has
 * suspended and cancelled tenants, and tests can predict how many are active.
 */
export function statusForIndex(index: number, includeInactive = true): TenantStatus {
  if (!includeInactive) return 'active';
  if (index % 17 === 5) return 'suspended';
  if (index % 23 === 11) return 'cancelled';
  return 'active';
}

function weighted<T>(rng: Rng, items: ReadonlyArray<[T, number]>, total: number): T {
  let r = rng() * total;
  for (const [item, weight] of items) {
    r -= weight;
    if (r < 0) return item;
  }
  return items[items.length - 1][0];
}

export function generateTenant(seed: number, index: number, includeInactive = true): TenantRecord {
  const rng = mulberry32(hashSeed(seed, 'tenant', index));
  const id = seededUuid(rng);
  const place = weighted(rng, WEIGHTED_PLACES, PLACE_TOTAL);
  const region = pick(rng, place.regions);
  const tier = weighted(rng, TIERS, 100);
  const isLisbon = place.country === 'PT';
  const name = isLisbon
    ? `${pick(rng, LISBON_PREFIXES)} ${pick(rng, LISBON_NAMES)}`
    : `${pick(rng, PREFIXES)} ${pick(rng, NAMES)}`;
  // bigger subscriptions tend to be bigger bakeries with more products
  const productBase = { enterprise: 28, professional: 18, starter: 12, free: 8 }[tier];
  return {
    index,
    tenant: {
      id,
      name: `${name} ${index + 1}`,
      status: statusForIndex(index, includeInactive),
      subscription_tier: tier,
      timezone: place.timezone,
      region: { country: place.country, region },
    },
    productCount: Math.min(PRODUCTS.length, productBase + intBetween(rng, 0, 10)),
    ingredientCount: intBetween(rng, 8, INGREDIENTS.length),
  };
}

export function generateTenants(options: GenerateOptions): TenantRecord[] {
  const out: TenantRecord[] = new Array(options.count);
  for (let i = 0; i < options.count; i++) {
    out[i] = generateTenant(options.seed, i, options.includeInactive ?? true);
  }
  return out;
}

export function productId(seed: number, tenantIndex: number, product: number): string {
  return seededUuid(mulberry32(hashSeed(seed, 'product', tenantIndex, product)));
}

export function ingredientId(seed: number, tenantIndex: number, ingredient: number): string {
  return seededUuid(mulberry32(hashSeed(seed, 'ingredient', tenantIndex, ingredient)));
}

export function supplierId(seed: number, supplier: number): string {
  return seededUuid(mulberry32(hashSeed(seed, 'supplier', supplier)));
}

// ---------------------------------------------------------------------------------------
// Purchase orders

export type DeliveryCase =
  | 'arriving_soon'
  | 'upcoming'
  | 'in_window'
  | 'overdue'
  | 'receipt_incomplete'
  | 'received'
  | 'long_overdue'
  | 'far_future';

export const DELIVERY_CASES: readonly DeliveryCase[] = [
  'arriving_soon',
  'upcoming',
  'in_window',
  'overdue',
  'receipt_incomplete',
  'received',
  'long_overdue',
  'far_future',
];

const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * Where each case puts its window, relative to the anchor: `startMs` is the window start,
 * `endMs` its end; the seeded spread never moves a PO out of its case's band (e.g. an
 * overdue PO always ended between 35 and 55 minutes before the anchor).
 */
const CASE_SHAPES: Record<
  DeliveryCase,
  {
    anchorTo: 'start' | 'end';
    offsetMs: number;
    spreadMs: number;
    status: PurchaseOrderStatus;
    receipt: ReceiptStatus;
  }
> = {
  arriving_soon: {
    anchorTo: 'start',
    offsetMs: 75 * MIN,
    spreadMs: 10 * MIN,
    status: 'sent',
    receipt: 'none',
  },
  upcoming: {
    anchorTo: 'start',
    offsetMs: 20 * HOUR,
    spreadMs: 10 * MIN,
    status: 'approved',
    receipt: 'none',
  },
  in_window: {
    anchorTo: 'start',
    offsetMs: -30 * MIN,
    spreadMs: 10 * MIN,
    status: 'sent',
    receipt: 'none',
  },
  overdue: {
    anchorTo: 'end',
    offsetMs: -45 * MIN,
    spreadMs: 10 * MIN,
    status: 'sent',
    receipt: 'none',
  },
  receipt_incomplete: {
    anchorTo: 'end',
    offsetMs: -3 * HOUR,
    spreadMs: 10 * MIN,
    status: 'sent',
    receipt: 'draft',
  },
  received: {
    anchorTo: 'end',
    offsetMs: -4 * HOUR,
    spreadMs: 10 * MIN,
    status: 'received',
    receipt: 'confirmed',
  },
  long_overdue: {
    anchorTo: 'end',
    offsetMs: -5 * HOUR,
    spreadMs: 10 * MIN,
    status: 'approved',
    receipt: 'none',
  },
  far_future: {
    anchorTo: 'start',
    offsetMs: 5 * 24 * HOUR,
    spreadMs: 10 * MIN,
    status: 'approved',
    receipt: 'none',
  },
};

// the simulator serves exactly the contract the clients read (docs/downstream-api.md)
export type {
  PurchaseOrder,
  PurchaseOrderStatus,
  ReceiptStatus,
} from 'src/clients/downstream.types';

export interface SimPurchaseOrder {
  po: PurchaseOrder;
  sim_case: DeliveryCase;
  /** window start in epoch ms, for filtering without parsing ISO strings back */
  startMs: number;
  endMs: number;
}

/** The tenant's purchase orders around `anchorMs`, cycling through every delivery case. */
export function purchaseOrdersFor(
  seed: number,
  record: TenantRecord,
  anchorMs: number,
  perTenant: number,
): SimPurchaseOrder[] {
  const out: SimPurchaseOrder[] = [];
  const year = new Date(anchorMs).getUTCFullYear();
  for (let n = 0; n < perTenant; n++) {
    const rng = mulberry32(hashSeed(seed, 'po', record.index, n));
    const simCase = DELIVERY_CASES[n % DELIVERY_CASES.length];
    const shape = CASE_SHAPES[simCase];
    const windowMs = intBetween(rng, 1, 4) * HOUR;
    const spread = Math.round((rng() * 2 - 1) * shape.spreadMs);
    // whole minutes, as suppliers announce them
    const pinned = Math.floor((anchorMs + shape.offsetMs + spread) / MIN) * MIN;
    const startMs = shape.anchorTo === 'start' ? pinned : pinned - windowMs;
    const endMs = startMs + windowMs;
    const supplierIndex = intBetween(rng, 0, SUPPLIERS.length - 1);
    const supplier = SUPPLIERS[supplierIndex];
    const lineCount = intBetween(rng, 1, 5);
    const lines: PurchaseOrder['line_items'] = [];
    let total = 0;
    for (let l = 0; l < lineCount; l++) {
      const ing = intBetween(rng, 0, record.ingredientCount - 1);
      const ingredient = INGREDIENTS[ing];
      const quantity = intBetween(rng, 2, 60) * (ingredient.unit === 'kg' ? 5 : 1);
      total += quantity * ingredient.price;
      lines.push({
        id: seededUuid(rng),
        ingredient_id: ingredientId(seed, record.index, ing),
        ingredient_name: ingredient.name,
        quantity,
        unit: ingredient.unit,
        unit_price: ingredient.price,
      });
    }
    const id = seededUuid(rng);
    const receiptId = shape.receipt === 'none' ? null : seededUuid(rng);
    out.push({
      sim_case: simCase,
      startMs,
      endMs,
      po: {
        id,
        tenant_id: record.tenant.id,
        po_number: `PO-${year}-${String(record.index * perTenant + n + 1).padStart(4, '0')}`,
        status: shape.status,
        supplier: {
          id: supplierId(seed, supplierIndex),
          name: supplier.name,
          ...(supplier.phone ? { phone: supplier.phone } : {}),
        },
        line_items: lines,
        expected_delivery_date: new Date(startMs).toISOString(),
        delivery_window: {
          start: new Date(startMs).toISOString(),
          end: new Date(endMs).toISOString(),
        },
        receipt: { status: shape.receipt, receipt_id: receiptId },
        total_amount: round(total, 2),
        currency: 'EUR',
      },
    });
  }
  out.sort((a, b) => a.startMs - b.startMs || (a.po.id < b.po.id ? -1 : 1));
  return out;
}

// ---------------------------------------------------------------------------------------
// Work results: plausible numbers that depend on the tenant, the day and the seed

export function dayRng(seed: number, record: TenantRecord, what: string, day: string): Rng {
  return mulberry32(hashSeed(seed, what, record.index, day));
}

export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Forecast accuracy for one tenant and day: most bakeries forecast well, some do not. */
export function validationMetrics(seed: number, record: TenantRecord, day: string) {
  const rng = dayRng(seed, record, 'validate', day);
  const weak = rng() < 0.15;
  const breakdown = [];
  let sumAbs = 0;
  let sumSq = 0;
  let sumPct = 0;
  let sumActual = 0;
  let sumActualSq = 0;
  let covered = 0;
  for (let p = 0; p < record.productCount; p++) {
    const actual = intBetween(rng, 10, 220);
    const errPct = (rng() * 2 - 1) * (weak ? 0.45 : 0.2);
    const predicted = Math.max(0, Math.round(actual * (1 + errPct)));
    const hasSales = rng() > 0.04;
    if (!hasSales) continue;
    covered++;
    const abs = Math.abs(predicted - actual);
    sumAbs += abs;
    sumSq += abs * abs;
    sumPct += (abs / actual) * 100;
    sumActual += actual;
    sumActualSq += actual * actual;
    breakdown.push({
      product_id: productId(seed, record.index, p),
      product_name: PRODUCTS[p],
      mae: abs,
      mape: round((abs / actual) * 100, 1),
      rmse: abs,
      accuracy_percentage: round(Math.max(0, 100 - (abs / actual) * 100), 1),
      predicted_units: predicted,
      actual_units: actual,
    });
  }
  const n = Math.max(covered, 1);
  const mean = sumActual / n;
  const variance = sumActualSq / n - mean * mean;
  const mape = sumPct / n;
  return {
    forecasts_validated: covered,
    overall_mae: round(sumAbs / n, 2),
    overall_mape: round(mape, 1),
    overall_rmse: round(Math.sqrt(sumSq / n), 2),
    overall_r2: round(variance > 0 ? Math.max(-1, 1 - sumSq / n / variance) : 0, 3),
    accuracy_percentage: round(Math.max(0, 100 - mape), 1),
    coverage_percentage: round((covered / record.productCount) * 100, 1),
    product_breakdown: breakdown,
  };
}
