import { z } from 'zod';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter } from '../http/route.js';
import { segmentId } from '../shared/schemas.js';
import { DEAD_LETTERS_LISTING } from './repository.js';
import type { DeadLettersService } from './service.js';

const idParam = z.string().regex(/^[1-9][0-9]{0,17}$/, { error: 'is not a dead-letter id' });

const listQuery = z.object({
  tenantId: segmentId.optional(),
  ...pageParams(DEAD_LETTERS_LISTING, { defaultLimit: 50, maxLimit: 500 }),
  before: idParam.optional().describe('Deprecated (use `cursor`): list letters with a smaller id, from `nextBefore`'),
});

const preview = z.union([
  z.object({ encoding: z.literal('utf8'), text: z.string(), truncated: z.boolean() }),
  z.object({ encoding: z.literal('base64'), data: z.string(), truncated: z.boolean() }),
]);

const letter = z.object({
  id: z.string(),
  receivedAt: z.string(),
  tenantId: z.string().nullable(),
  deviceId: z.string().nullable(),
  topic: z.string(),
  reason: z.string(),
  sizeBytes: z.int(),
  preview,
  replayedAt: z.string().nullable(),
  replayAttempts: z.int(),
  lastReplayError: z.string().nullable(),
});

export function deadLetterRoutes(router: ApiRouter, letters: DeadLettersService): void {
  router.route({
    method: 'get',
    path: '/dead-letters',
    tag: 'administration',
    summary:
      'Messages ingest could not store, newest first, with the reason and a payload preview (admins: all; partners: their tenant)',
    access: { permission: 'dead-letters:read' },
    query: listQuery,
    response: {
      status: 200,
      description: 'A page of dead letters',
      schema: z.object({
        deadLetters: z.array(letter),
        next: z.string().nullable().describe('Cursor of the next page; null on the last'),
        nextBefore: z.string().nullable().describe('Deprecated: use `next`'),
      }),
    },
    errors: ['FORBIDDEN'],
    handle: ({ scope, query }) => letters.list(scope, query),
  });

  router.route({
    method: 'post',
    path: '/dead-letters/:id/replay',
    tag: 'administration',
    summary:
      'Run a dead letter through ingest again (after a fix); stored=false carries the reason it was refused again',
    access: { permission: 'dead-letters:replay' },
    params: z.object({ id: idParam }),
    response: {
      status: 200,
      description: 'The outcome',
      schema: z.object({
        id: z.string(),
        stored: z.boolean(),
        reason: z.string().nullable(),
        replayedAt: z.string().nullable(),
        replayAttempts: z.int(),
      }),
    },
    errors: ['DEAD_LETTER_NOT_FOUND', 'DEAD_LETTER_REPLAYED', 'REPLAY_UNAVAILABLE'],
    handle: ({ scope, params }) => letters.replay(scope, params.id),
  });
}
