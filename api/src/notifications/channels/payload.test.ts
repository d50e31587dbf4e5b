import { describe, expect, it } from 'vitest';
import { message } from './channel.contract.js';
import { fitPayload } from './payload.js';

const json = (max: number, m = message()) => fitPayload(m, max, JSON.stringify, (s) => Buffer.byteLength(s));

describe('push payload fitting', () => {
  it('leaves a payload that fits alone', () => {
    expect(JSON.parse(json(4000)!)).toMatchObject({ title: message().title, body: message().body });
  });

  it('shortens a body of characters that JSON escapes, staying within the limit', () => {
    const out = json(1000, message({ body: '"\\\n'.repeat(2000) }))!;
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(1000);
    expect((JSON.parse(out) as { body: string }).body.endsWith('…')).toBe(true);
  });

  it('cuts on character boundaries', () => {
    const out = json(300, message({ body: '😀ä'.repeat(500) }))!;
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(300);
    expect((JSON.parse(out) as { body: string }).body).toMatch(/^(😀ä)*😀?…$/u);
  });

  it('shortens the title too when the body alone is not enough, and gives up on a huge url', () => {
    const out = json(400, message({ title: 'T'.repeat(1000), body: 'B'.repeat(1000) }))!;
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(400);
    expect(json(400, message({ url: `/${'u'.repeat(1000)}` }))).toBeNull();
  });
});
