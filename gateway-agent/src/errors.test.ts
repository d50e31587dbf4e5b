import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentError, agentErrorCode, agentErrors, isNoReply } from './errors.js';

const docs = fileURLToPath(new URL('../../docs/gateway-agent.md', import.meta.url));

describe('agent error catalogue', () => {
  it('documents every code in docs/gateway-agent.md', () => {
    const text = readFileSync(docs, 'utf8');
    for (const code of Object.keys(agentErrors)) expect(text, code).toContain(`\`${code}\``);
  });

  it('carries the code and says what happened', () => {
    const err = agentError('ADAPTER_TIMEOUT', 'no prompt within 200 ms after 010C', { command: '010C' });
    expect(err.code).toBe('ADAPTER_TIMEOUT');
    expect(err.message).toBe('the adapter printed no prompt within the timeout: no prompt within 200 ms after 010C');
    expect(err.details).toEqual({ command: '010C' });
    expect(agentErrorCode(err)).toBe('ADAPTER_TIMEOUT');
    expect(isNoReply(err)).toBe(true);
    expect(isNoReply(agentError('ADAPTER_CLOSED'))).toBe(false);
  });

  it('does not mistake other errors for agent errors', () => {
    expect(agentErrorCode(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }))).toBeUndefined();
    expect(agentErrorCode(new Error('ADAPTER_TIMEOUT'))).toBeUndefined();
    expect(agentErrorCode('ADAPTER_TIMEOUT')).toBeUndefined();
  });
});
