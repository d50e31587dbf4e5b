// The parties of the marketplace walks in Chromium (owner, shop, parts shop, platform staff), each
// in its own browser context, and the API calls a walk makes on their behalf where the page under
// test is elsewhere (only imported by tests).
import type { Browser, BrowserContext, Page } from 'playwright-core';

export interface Party {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the party's pages (a walk expects none). */
  errors: string[];
}

/** Signs the account in on the sign-in page, in a new browser context. */
export async function signIn(
  browser: Browser,
  origin: string,
  who: { email: string; password: string },
): Promise<Party> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${origin}/signin.html`);
  await page.locator('#signin-email').fill(who.email);
  await page.locator('#signin-password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${origin}/`);
  return { context, page, errors };
}

/** Waits until the page's top bar knows who is looking (session-nav.ts sets data-state). */
export async function navReady(page: Page): Promise<void> {
  await page.locator('[data-testid="session-nav"][data-state="ready"]').waitFor();
}

/**
 * The API as the party's browser session calls it: its cookies, and on a write the CSRF header the
 * pages send (web/browser/api.ts). Throws with the problem's text on an error answer.
 */
export async function api<T>(
  party: Party,
  origin: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const cookies = await party.context.cookies(origin);
  const csrf = cookies.find((c) => c.name === 'clutch_csrf')?.value;
  const res = await party.context.request.fetch(`${origin}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(method === 'POST' ? { 'x-requested-with': 'clutch-web' } : {}),
      ...(method === 'POST' && csrf ? { 'x-csrf-token': decodeURIComponent(csrf) } : {}),
    },
    ...(body !== undefined ? { data: body } : {}),
  });
  if (!res.ok()) throw new Error(`${method} ${path}: ${res.status()} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The demo shop (npm start's "Clutch Demo Garage Mitte") as nearby search lists it. */
export async function demoGarageId(party: Party, origin: string): Promise<string> {
  const listed = await api<{ shops: { id: string; name: string }[] }>(
    party,
    origin,
    'GET',
    '/api/location/nearby-services?lat=52.52&lon=13.41',
  );
  const garage = listed.shops.find((s) => s.name === 'Clutch Demo Garage Mitte');
  if (!garage) throw new Error('npm start listed no Clutch Demo Garage Mitte');
  return garage.id;
}

/** One of the demo owner's cars by the start of its name ("Demo car 3"). */
export async function demoCar(owner: Party, origin: string, name: string): Promise<{ id: string; name: string }> {
  const { vehicles } = await api<{ vehicles: { id: string; name: string }[] }>(owner, origin, 'GET', '/api/vehicles');
  const car = vehicles.find((v) => v.name.startsWith(name));
  if (!car) throw new Error(`the demo owner has no car named ${name}`);
  return car;
}

/**
 * Books the demo garage's service for the owner's car at its first free slot (hold, then request),
 * as the shop page does: the booking and the repair order it opened.
 */
export async function bookDemoGarage(
  owner: Party,
  origin: string,
  vehicleId: string,
  serviceCode: string,
): Promise<{ bookingId: string; repairOrderId: string; partnerId: string }> {
  const partnerId = await demoGarageId(owner, origin);
  const shop = await api<{ services: { id: string; code: string }[] }>(
    owner,
    origin,
    'GET',
    `/api/partners/${partnerId}`,
  );
  const service = shop.services.find((s) => s.code === serviceCode);
  if (!service) throw new Error(`the demo garage offers no ${serviceCode}`);
  const { slots } = await api<{ slots: { startsAt: string }[] }>(
    owner,
    origin,
    'GET',
    `/api/partners/${partnerId}/availability?serviceId=${service.id}&days=14`,
  );
  if (!slots[0]) throw new Error('the demo garage has no free slot in two weeks');
  const hold = await api<{ id: string }>(owner, origin, 'POST', '/api/bookings/holds', {
    partnerId,
    serviceId: service.id,
    vehicleId,
    startsAt: slots[0].startsAt,
  });
  const booking = await api<{ id: string; repairOrderId: string | null }>(owner, origin, 'POST', '/api/bookings', {
    holdId: hold.id,
  });
  if (!booking.repairOrderId) throw new Error('the booking opened no repair order');
  return { bookingId: booking.id, repairOrderId: booking.repairOrderId, partnerId };
}
