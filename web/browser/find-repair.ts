import type { Translator } from '@clutch/i18n';
import { keepLang } from './locale.js';

/**
 * The dashboard's "Find a repair" action on a trouble code or an alert: to the shops near the car
 * (`/shops.html`), carrying the car, the codes or the alert, so the booking made there goes through the
 * book-from-the-car route with them (docs/marketplace.md).
 */
export function findRepairLink(
  i18n: Translator,
  carried: { codes?: string[]; alertId?: string; subject: string },
): HTMLAnchorElement {
  const q = new URLSearchParams();
  const vehicle = new URLSearchParams(location.search).get('vehicle');
  if (vehicle) q.set('vehicle', vehicle);
  if (carried.codes?.length) q.set('codes', carried.codes.join(','));
  if (carried.alertId) q.set('alert', carried.alertId);
  const a = document.createElement('a');
  a.className = 'find-repair';
  a.dataset.testid = 'find-repair';
  a.href = keepLang(`/shops.html?${q}`);
  a.textContent = i18n.t('marketplace.findRepair');
  a.setAttribute('aria-label', i18n.t('marketplace.findRepairFor', { subject: carried.subject }));
  return a;
}
