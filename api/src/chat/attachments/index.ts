// What the rest of the API and the platform use of chat attachments (C1's messages, C6's cron).
export { attachmentsOfMessages, claimAttachments, MAX_ATTACHMENTS_PER_MESSAGE } from './claims.js';
export { CHAT_ATTACHMENT_CRONS, cleanupChatAttachments, UNCLAIMED_TTL_MS } from './cleanup.js';
export { chatAttachmentSchema, type ChatAttachment } from './view.js';
