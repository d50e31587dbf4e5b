import { messageArguments, sourceCatalogue } from '@clutch/i18n';
import { describe, expect, it } from 'vitest';
import { isTemplate, MAX_TITLE, renderTemplate } from './render.js';

const catalogue = sourceCatalogue as Readonly<Record<string, string>>;

/** Every `notify.*` template: the keys with both a `.title` and a `.body`. */
const templates = [
  ...new Set(
    Object.keys(catalogue)
      .filter((k) => k.startsWith('notify.') && k.endsWith('.title'))
      .map((k) => k.slice(0, -'.title'.length)),
  ),
];

describe('notification templates', () => {
  it('ship a title and a body for every category the platform notifies about', () => {
    for (const t of templates) expect(isTemplate(t), t).toBe(true);
    expect(templates).toEqual(
      expect.arrayContaining([
        'notify.chat.message',
        'notify.chat.mention',
        'notify.health_alert',
        'notify.trouble_code',
        'notify.booking.confirmed',
        'notify.booking.status',
        'notify.estimate.requested',
        'notify.estimate.ready',
        'notify.payment.captured',
        'notify.payment.refunded',
        'notify.payment.failed',
        'notify.announcement',
      ]),
    );
  });

  it('render every template with its parameters, never falling back to the key', () => {
    for (const t of templates) {
      const params: Record<string, string | number> = {};
      for (const part of ['title', 'body'])
        for (const name of messageArguments(catalogue[`${t}.${part}`]!)) params[name] = `<${name}>`;
      const out = renderTemplate(t, params, 'en');
      expect(out.title, t).not.toContain('notify.');
      expect(out.body, t).not.toContain('notify.');
      expect(out.title.length, t).toBeGreaterThan(0);
    }
  });

  it('formats money for the recipient and picks the repair-order status wording', () => {
    expect(
      renderTemplate('notify.payment.refunded', { amountMinor: 123456, currency: 'EUR', shop: 'Acme' }, 'en'),
    ).toEqual({
      title: 'Refund issued',
      body: '€1,234.56 refunded by Acme.',
      locale: 'en',
    });
    const ready = renderTemplate(
      'notify.booking.status',
      { shop: 'Acme', vehicle: 'Civic', status: 'ready_for_pickup' },
      'en',
    );
    expect(ready).toMatchObject({ title: 'Acme: Civic', body: 'Your car is ready for pickup.' });
    const other = renderTemplate(
      'notify.booking.status',
      { shop: 'Acme', vehicle: 'Civic', status: 'teleported' },
      'en',
    );
    expect(other.body).toBe('The repair order is now teleported.');
  });

  it('falls back to English for a language without a catalogue, and cuts an over-long title', () => {
    const out = renderTemplate('notify.announcement', { title: 'x'.repeat(500), body: 'Hallo' }, 'de-DE');
    expect(out.locale).toBe('en');
    expect(out.title).toHaveLength(MAX_TITLE);
    expect(out.title.endsWith('…')).toBe(true);
    expect(() => renderTemplate('notify.nothing', {}, 'en')).toThrow(/no notification template/);
  });
});
