import type { AddressInfo } from 'node:net';
import { ClutchError } from '@clutch/contracts';
import { createTranslator, sourceCatalogue } from '@clutch/i18n';
import Koa from 'koa';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { apiError, apiErrors, isApiErrorCode, problemType } from './errors.js';
import { problemMiddleware, toProblem } from './http/problem.js';

describe('error catalogue', () => {
  it('has valid statuses and distinct problem types', () => {
    const codes = Object.keys(apiErrors);
    for (const code of codes) {
      expect(code).toMatch(/^[A-Z][A-Z_]+$/);
      expect(isApiErrorCode(code)).toBe(true);
      const { status } = apiErrors[code as keyof typeof apiErrors];
      expect(status >= 400 && status < 600).toBe(true);
    }
    expect(new Set(codes.map((c) => problemType(c as keyof typeof apiErrors))).size).toBe(codes.length);
    expect(isApiErrorCode('toString')).toBe(false);
  });
});

describe('toProblem', () => {
  it('maps by code, whatever the class', () => {
    const plain = Object.assign(new Error('No vehicle'), { code: 'VEHICLE_NOT_FOUND' });
    expect(toProblem(plain, '/x').problem).toMatchObject({
      status: 404,
      code: 'VEHICLE_NOT_FOUND',
      detail: 'No vehicle',
    });
    expect(toProblem(apiError('SIGNAL_UNKNOWN'), '/x').problem).toMatchObject({
      status: 400,
      detail: 'Unknown signal',
    });
  });

  it('hides unknown errors and their details', () => {
    const { problem, internal } = toProblem(
      new ClutchError('DB_EXPLODED', 'password=hunter2', { sql: 'SELECT' }),
      '/x',
    );
    expect(internal).toBe(true);
    expect(problem).toEqual({
      type: problemType('INTERNAL'),
      title: 'Internal server error',
      status: 500,
      detail: 'Internal server error',
      code: 'INTERNAL',
      instance: '/x',
    });
    expect(toProblem('a string', '/x').problem.code).toBe('INTERNAL');
    expect(toProblem(null, '/x').problem.code).toBe('INTERNAL');
  });

  it('keeps exposed framework client errors as BAD_REQUEST', () => {
    const err = Object.assign(new Error('invalid JSON'), { status: 400, expose: true });
    expect(toProblem(err, '/x').problem).toMatchObject({ status: 400, code: 'BAD_REQUEST', detail: 'invalid JSON' });
  });

  it('lets details extend the problem but never override its standard members', () => {
    const err = apiError('VALIDATION_FAILED', 'bad', { errors: [{ pointer: '/query/a' }], status: 200, field: 'a' });
    expect(toProblem(err, '/x').problem).toMatchObject({ status: 400, errors: [{ pointer: '/query/a' }], field: 'a' });
  });
});

describe('problem titles', () => {
  it('has a title message for every catalogue code, in English byte for byte', () => {
    const en = createTranslator('en');
    const missing = Object.keys(apiErrors).filter((code) => !(`problem.${code}.title` in sourceCatalogue));
    expect(missing).toEqual([]);
    expect(en.text('problem.VEHICLE_NOT_FOUND.title')).toBe('Vehicle not found');
    expect(apiErrors.IDEMPOTENCY_KEY_IN_USE.title).toBe('A request with this idempotency key is still being processed');
  });

  it('answers in the language Accept-Language asks for, with the detail as the code wrote it', async () => {
    const app = new Koa();
    app.use(problemMiddleware(pino({ level: 'silent' })));
    app.use(() => {
      throw apiError('VEHICLE_NOT_FOUND', 'No vehicle with id v-1');
    });
    const server = app.listen(0);
    try {
      const { port } = server.address() as AddressInfo;
      const ask = (lang?: string) =>
        fetch(`http://127.0.0.1:${port}/api/vehicles/v-1`, { headers: lang ? { 'Accept-Language': lang } : {} });

      const xa = await ask('en-XA, en;q=0.5');
      expect(xa.status).toBe(404);
      expect(xa.headers.get('content-language')).toBe('en-XA');
      expect(xa.headers.get('vary')).toMatch(/accept-language/i);
      expect(await xa.json()).toMatchObject({
        code: 'VEHICLE_NOT_FOUND',
        title: '[Ṽééĥîîçļéé ñööţ ƒööûûñð]',
        detail: 'No vehicle with id v-1',
      });

      // A language without a catalogue gets English, and says so.
      const de = await ask('de-CH, de;q=0.9');
      expect(de.headers.get('content-language')).toBe('en');
      expect(await de.json()).toMatchObject({ title: 'Vehicle not found', detail: 'No vehicle with id v-1' });
    } finally {
      server.close();
    }
  });

  it('translates a detail the code did not write, and hides foreign messages behind the API code', () => {
    const xa = createTranslator('en-XA');
    expect(toProblem(apiError('SIGNAL_UNKNOWN'), '/x', xa).problem).toMatchObject({
      title: '[ÛÛñķñööŵñ šîîĝñååļ]',
      detail: '[ÛÛñķñööŵñ šîîĝñååļ]',
    });
    const fromMl = new ClutchError('ML_MODEL_NOT_FOUND', 'no model with this id in the registry: /srv/models/x', {
      id: 'x',
    });
    expect(toProblem(fromMl, '/x').problem).toEqual({
      type: problemType('MODEL_NOT_FOUND'),
      title: 'Model not found',
      status: 404,
      detail: 'Model not found',
      code: 'MODEL_NOT_FOUND',
      instance: '/x',
    });
    const fromJobs = toProblem(
      new ClutchError('QUEUE_NOT_DECLARED', 'enqueue to a queue this process has not declared', { queue: 'q' }),
      '/x',
    );
    expect(fromJobs.internal).toBe(true);
    expect(fromJobs.problem).toMatchObject({ code: 'INTERNAL', status: 500, detail: 'Internal server error' });
    expect(fromJobs.problem).not.toHaveProperty('queue');
  });
});
