import type { Logger } from 'pino';
import { attachmentsOfMessages, claimAttachments } from './attachments/index.js';
import type { ChatKeyRing } from './crypto.js';
import { chatKeyRingOf } from './keys.js';
import { ChatService } from './service.js';

/**
 * The chat service of one API process, with its key ring and the attachments' claim and rendering
 * (api/src/chat/attachments): the REST routes and the Socket.io gateway build it alike.
 */
export function buildChatService(deps: {
  chat?: { keyRing: ChatKeyRing } | undefined;
  logger: Logger;
  prefix: string;
}): ChatService {
  const options = { prefix: deps.prefix };
  return new ChatService({
    keyRing: chatKeyRingOf(deps.chat, deps.logger),
    attachments: {
      claim: (q, input) => claimAttachments(q, input, options),
      ofMessages: (q, ids) => attachmentsOfMessages(q, ids, options),
    },
  });
}
