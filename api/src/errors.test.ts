import { ClutchError } from '@clutch/contracts';
import { describe, expect, it } from 'vitest';
import { apiError, apiErrors, isApiErrorCode, problemType } from './errors.js';
import { toProblem } from './http/problem.js';

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
    expect(toProblem(plain, '/x').problem).toMatchObject({ status: 404, code: 'VEHICLE_NOT_FOUND', detail: 'No vehicle' });
    expect(toProblem(apiError('SIGNAL_UNKNOWN'), '/x').problem).toMatchObject({ status: 400, detail: 'Unknown signal' });
  });

  it('hides unknown errors and their details', () => {
    const { problem, internal } = toProblem(new ClutchError('DB_EXPLODED', 'password=hunter2', { sql: 'SELECT' }), '/x');
    expect(internal).toBe(true);
    expect(problem).toEqual({ type: problemType('INTERNAL'), title: 'Internal server error', status: 500, detail: 'Internal server error', code: 'INTERNAL', instance: '/x' });
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
