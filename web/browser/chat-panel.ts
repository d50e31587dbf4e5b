import type { Translator } from '@clutch/i18n';
import {
  deleteMessage,
  loadMessages,
  markReadUpTo,
  openBookingRoom,
  postMessage,
  reportMessage,
  uploadAttachment,
  type ChatAttachment,
  type ChatMessage,
  type ChatRoom,
} from './chat-api.js';
import { liveSocket, onEveryConnect, type LiveSocket } from './live-socket.js';
import { setText } from './locale.js';
import { clearProblem, showProblem } from './problem-view.js';

/**
 * The chat of one booking between the owner and the shop, on the repair-order page (docs/chat.md).
 *
 * Nothing lost, nothing twice: messages are kept by their per-room sequence number. The page reads the
 * latest page, then subscribes to the room with the last sequence number it holds (`chat_subscribe`,
 * whose answer carries what came after it); every reconnect subscribes again the same way. A message
 * sent here shows at once as "Sending…" under its `clientMessageId`; the stored message (from the POST's
 * answer or the live echo, whichever comes first) replaces it. "Seen" comes from the others' read
 * receipts (`chat_read`, and `readBy` in the history).
 */

const PAGE = 30;
/** Typing is announced at most this often, and shown this long after the last announcement. */
const TYPING_EVERY_MS = 2000;
const TYPING_SHOWN_MS = 5000;

interface Pending {
  clientMessageId: string;
  body: string;
  attachments: ChatAttachment[];
  failed: boolean;
}

function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  testid?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (testid) e.dataset.testid = testid;
  return e;
}

function newClientId(): string {
  return crypto.randomUUID();
}

export class ChatPanel {
  private room: ChatRoom | null = null;
  private readonly messages = new Map<number, ChatMessage>();
  private readonly pending = new Map<string, Pending>();
  private staged: ChatAttachment[] = [];
  private maxSeq = 0;
  private minSeq = Number.POSITIVE_INFINITY;
  private myReadUpTo = 0;
  private othersReadUpTo = 0;
  private reading = false;
  private socket: LiveSocket | null = null;
  private lastTypingSent = 0;
  private readonly typing = new Map<string, { name: string; timer: number }>();

  private readonly list: HTMLOListElement;
  private readonly older: HTMLButtonElement;
  private readonly status: HTMLElement;
  private readonly typingLine: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly fileInput: HTMLInputElement;
  private readonly stagedList: HTMLElement;
  private readonly error: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly i18n: Translator,
    private readonly me: string,
  ) {
    const q = <T extends HTMLElement>(testid: string): T => root.querySelector<T>(`[data-testid="${testid}"]`)!;
    this.list = q('chat-messages');
    this.older = q('chat-older');
    this.status = q('chat-status');
    this.typingLine = q('chat-typing');
    this.form = q('chat-form');
    this.input = q('chat-input');
    this.fileInput = q('chat-file');
    this.stagedList = q('chat-staged');
    this.error = q('chat-error');
  }

  /** Opens (or creates) the booking's room, shows its latest messages and follows it live. */
  async start(bookingId: string): Promise<void> {
    const { i18n } = this;
    this.root.hidden = false;
    setText(this.status, i18n.t('chatPanel.loading'));
    try {
      this.room = await openBookingRoom(bookingId);
      this.root.dataset.roomId = this.room.id;
      this.myReadUpTo = this.room.readUpToSeq;
      const page = await loadMessages(this.room.id, PAGE);
      for (const m of page.items) this.add(m);
      this.older.hidden = page.next === null || page.items.length === 0;
    } catch (err) {
      setText(this.status, i18n.t('chatPanel.loadFailed'));
      showProblem(this.error, err, i18n);
      return;
    }
    this.bindForm();
    this.older.addEventListener('click', () => void this.loadOlder());
    document.addEventListener('visibilitychange', () => this.readLatest());
    this.render();
    this.root.dataset.state = 'ready';
    this.readLatest();
    await this.follow();
  }

  private async follow(): Promise<void> {
    const room = this.room!;
    try {
      this.socket = await liveSocket();
    } catch {
      return; // no live updates; sending and the history still work
    }
    const socket = this.socket;
    const ours = (msg: Record<string, unknown>): boolean => msg.roomId === room.id;
    socket.on('chat_message', (msg) => {
      if (!ours(msg)) return;
      this.add(msg.message as ChatMessage);
      this.render();
      this.readLatest();
    });
    socket.on('chat_read', (msg) => {
      if (!ours(msg) || msg.userId === this.me) return;
      this.othersReadUpTo = Math.max(this.othersReadUpTo, Number(msg.readUpToSeq) || 0);
      this.render();
    });
    socket.on('chat_message_deleted', (msg) => {
      if (!ours(msg)) return;
      const m = this.messages.get(Number(msg.seq));
      if (m) {
        m.body = '';
        m.attachments = [];
        m.deletedAt ??= new Date().toISOString();
        this.render();
      }
    });
    socket.on('chat_typing', (msg) => {
      if (!ours(msg) || msg.userId === this.me) return;
      this.showTyping(String(msg.userId), String(msg.displayName ?? ''));
    });
    socket.on('disconnect', () => {
      this.root.dataset.live = 'false';
    });
    // Every (re)connect subscribes again from the last message held: the answer carries what was
    // missed (at most a page of it, with `more` saying to subscribe again from the new last one).
    const subscribe = (): void => {
      socket.emit('chat_subscribe', { roomId: room.id, afterSeq: this.maxSeq }, (ack) => {
        if (ack.ok !== true) return;
        for (const m of (ack.missed as ChatMessage[] | undefined) ?? []) this.add(m);
        this.render();
        this.readLatest();
        if (ack.more === true) subscribe();
        else this.root.dataset.live = 'true';
      });
    };
    onEveryConnect(socket, subscribe);
  }

  /** Keeps a stored message once, by its sequence number; it replaces the pending copy sent from here. */
  private add(m: ChatMessage): void {
    if (!m || typeof m.seq !== 'number') return;
    const held = this.messages.get(m.seq);
    // A live copy has no readBy: keep the one the history gave.
    this.messages.set(m.seq, held?.readBy && !m.readBy ? { ...m, readBy: held.readBy } : m);
    this.maxSeq = Math.max(this.maxSeq, m.seq);
    this.minSeq = Math.min(this.minSeq, m.seq);
    if (m.sender.userId === this.me) this.pending.delete(m.clientMessageId);
    for (const r of m.readBy ?? [])
      if (r.userId !== this.me && m.sender.userId === this.me)
        this.othersReadUpTo = Math.max(this.othersReadUpTo, m.seq);
    const typing = this.typing.get(m.sender.userId);
    if (typing) {
      clearTimeout(typing.timer);
      this.typing.delete(m.sender.userId);
      this.renderTyping();
    }
  }

  private async loadOlder(): Promise<void> {
    if (!this.room || !Number.isFinite(this.minSeq)) return;
    this.older.disabled = true;
    try {
      const page = await loadMessages(this.room.id, PAGE, this.minSeq);
      for (const m of page.items) this.add(m);
      this.older.hidden = page.next === null || page.items.length === 0;
      this.render(true);
    } catch (err) {
      showProblem(this.error, err, this.i18n);
    } finally {
      this.older.disabled = false;
    }
  }

  /** Marks the newest message of the others read while the page is in sight (it covers every earlier one). */
  private readLatest(): void {
    if (this.reading || document.visibilityState !== 'visible') return;
    const latest = [...this.messages.values()]
      .filter((m) => m.sender.userId !== this.me && m.seq > this.myReadUpTo)
      .sort((a, b) => b.seq - a.seq)[0];
    if (!latest) return;
    this.reading = true;
    markReadUpTo(latest.id)
      .then((r) => {
        this.myReadUpTo = Math.max(this.myReadUpTo, r?.readUpToSeq ?? latest.seq);
      })
      .catch(() => undefined)
      .finally(() => {
        this.reading = false;
        // Messages that came while the receipt was on its way.
        if ([...this.messages.values()].some((m) => m.sender.userId !== this.me && m.seq > this.myReadUpTo))
          this.readLatest();
      });
  }

  private bindForm(): void {
    const { input, form, fileInput } = this;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.send();
    });
    input.addEventListener('keydown', (ev) => {
      // Enter sends, Shift+Enter starts a new line (and an IME composition is left alone).
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.send();
      }
    });
    input.addEventListener('input', () => {
      const now = Date.now();
      if (!this.socket || !this.room || input.value === '' || now - this.lastTypingSent < TYPING_EVERY_MS) return;
      this.lastTypingSent = now;
      this.socket.emit('chat_typing', { roomId: this.room.id });
    });
    fileInput.addEventListener('change', () => {
      const files = [...(fileInput.files ?? [])];
      fileInput.value = '';
      for (const file of files) void this.upload(file);
    });
  }

  private async upload(file: File): Promise<void> {
    const { i18n } = this;
    const chip = make('li', 'chat-staged-item', 'chat-staged-item');
    chip.dataset.state = 'uploading';
    chip.textContent = i18n.t('chatPanel.uploading', { name: file.name });
    this.stagedList.append(chip);
    clearProblem(this.error);
    try {
      const attachment = await uploadAttachment(this.room!.id, file);
      this.staged.push(attachment);
    } catch (err) {
      showProblem(this.error, err, i18n);
    }
    chip.remove();
    this.renderStaged();
  }

  private renderStaged(): void {
    const { i18n } = this;
    this.stagedList.replaceChildren(
      ...this.staged.map((a) => {
        const chip = make('li', 'chat-staged-item', 'chat-staged-item');
        chip.dataset.state = 'ready';
        chip.dataset.attachmentId = a.id;
        const name = make('span');
        name.textContent = i18n.t('chatPanel.attached', { name: a.name });
        const remove = make('button', 'link-button', 'chat-staged-remove');
        remove.type = 'button';
        remove.textContent = '×';
        remove.setAttribute('aria-label', i18n.t('chatPanel.removeAttachment', { name: a.name }));
        remove.addEventListener('click', () => {
          this.staged = this.staged.filter((s) => s.id !== a.id);
          this.renderStaged();
        });
        chip.append(name, remove);
        return chip;
      }),
    );
  }

  private send(retry?: Pending): void {
    if (!this.room) return;
    const text = this.input.value.trim();
    let pending = retry;
    if (!pending) {
      if (text === '' && this.staged.length === 0) return;
      pending = {
        clientMessageId: newClientId(),
        // A message of attachments only is worded by their names (the API needs a body).
        body: text !== '' ? text : this.staged.map((a) => a.name).join(', '),
        attachments: this.staged,
        failed: false,
      };
      this.input.value = '';
      this.staged = [];
      this.renderStaged();
    }
    pending.failed = false;
    this.pending.set(pending.clientMessageId, pending);
    this.render();
    // What one writes is shown where one looks: at the newest message.
    this.list.scrollTop = this.list.scrollHeight;
    clearProblem(this.error);
    const sent = pending;
    postMessage(this.room.id, {
      clientMessageId: sent.clientMessageId,
      body: sent.body,
      ...(sent.attachments.length ? { attachmentIds: sent.attachments.map((a) => a.id) } : {}),
    })
      .then((stored) => {
        this.add(stored);
        this.render();
      })
      .catch((err: unknown) => {
        // Kept with "Not sent" and "Try again": the same clientMessageId makes a retry safe.
        if (this.pending.has(sent.clientMessageId)) sent.failed = true;
        showProblem(this.error, err, this.i18n);
        this.render();
      });
  }

  private showTyping(userId: string, name: string): void {
    const held = this.typing.get(userId);
    if (held) clearTimeout(held.timer);
    const timer = window.setTimeout(() => {
      this.typing.delete(userId);
      this.renderTyping();
    }, TYPING_SHOWN_MS);
    this.typing.set(userId, { name, timer });
    this.renderTyping();
  }

  private renderTyping(): void {
    const names = [...this.typing.values()].map((t) => t.name);
    this.typingLine.hidden = names.length === 0;
    this.typingLine.dataset.typing = String(names.length > 0);
    setText(this.typingLine, names.length ? this.i18n.t('chatPanel.typing', { name: names.join(', ') }) : '');
  }

  /**
   * Redraws the list: stored messages by sequence number, then what is still on its way. The view stays
   * at the newest message when it was there; otherwise (reading older ones, or older ones just loaded
   * above) what the reader looks at stays where it is.
   */
  private render(prepended = false): void {
    const { i18n, list } = this;
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const fromEnd = list.scrollHeight - list.scrollTop;
    const stored = [...this.messages.values()].sort((a, b) => a.seq - b.seq);
    const existing = new Map<string, HTMLLIElement>();
    for (const li of this.list.querySelectorAll<HTMLLIElement>(':scope > li')) existing.set(li.dataset.key ?? '', li);
    const views: HTMLLIElement[] = [];
    for (const m of stored) {
      const view = this.reuse(existing, `seq:${m.seq}:${m.deletedAt ? 'deleted' : 'kept'}`, () => this.messageView(m));
      // "Sent" becomes "Seen" in place: the log does not announce the message again.
      const state = this.stateOf(m);
      if (view.dataset.state !== state) {
        view.dataset.state = state;
        setText(view.querySelector('[data-testid="chat-state"]'), i18n.t('chatPanel.state', { state }));
      }
      views.push(view);
    }
    for (const p of this.pending.values())
      views.push(this.reuse(existing, `pending:${p.clientMessageId}:${p.failed}`, () => this.pendingView(p)));
    // Only what changed is replaced, so a screen reader's log announces each new message once.
    let at: ChildNode | null = this.list.firstChild;
    for (const v of views) {
      if (v === at) at = at.nextSibling;
      else this.list.insertBefore(v, at);
    }
    while (at) {
      const next: ChildNode | null = at.nextSibling;
      at.remove();
      at = next;
    }
    setText(this.status, stored.length || this.pending.size ? '' : i18n.t('chatPanel.empty'));
    this.status.hidden = this.status.textContent === '';
    if (atEnd && !prepended) list.scrollTop = list.scrollHeight;
    else if (prepended) list.scrollTop = list.scrollHeight - fromEnd;
  }

  private reuse(existing: Map<string, HTMLLIElement>, key: string, build: () => HTMLLIElement): HTMLLIElement {
    const held = existing.get(key);
    if (held) return held;
    const li = build();
    li.dataset.key = key;
    return li;
  }

  private stateOf(m: ChatMessage): string {
    if (m.deletedAt) return 'deleted';
    if (m.sender.userId !== this.me) return 'received';
    return m.seq <= this.othersReadUpTo ? 'seen' : 'sent';
  }

  private frame(mine: boolean, name: string, at: string | null): { li: HTMLLIElement; body: HTMLElement } {
    const { i18n } = this;
    const li = make('li', `chat-message${mine ? ' mine' : ''}`, 'chat-message');
    li.dataset.mine = String(mine);
    const head = make('p', 'chat-meta');
    const who = make('span', 'chat-sender', 'chat-sender');
    if (mine) who.textContent = i18n.t('chatPanel.you');
    else {
      who.textContent = name;
      who.translate = false;
    }
    head.append(who);
    if (at) {
      const time = make('time', 'muted');
      time.dateTime = at;
      time.translate = false;
      time.textContent = i18n.dateTime(at, { timeStyle: 'short' });
      head.append(' ', time);
    }
    const body = make('div', 'chat-body');
    li.append(head, body);
    return { li, body };
  }

  private messageView(m: ChatMessage): HTMLLIElement {
    const { i18n } = this;
    const mine = m.sender.userId === this.me;
    const { li, body } = this.frame(mine, m.sender.displayName, m.createdAt);
    li.dataset.seq = String(m.seq);
    li.dataset.messageId = m.id;
    li.dataset.clientMessageId = m.clientMessageId;
    const state = this.stateOf(m);
    li.dataset.state = state;
    if (m.deletedAt) {
      const gone = make('p', 'muted chat-deleted', 'chat-deleted');
      gone.textContent = i18n.t('chatPanel.deleted');
      body.append(gone);
      return li;
    }
    if (m.kind === 'participant_left') {
      const left = make('p', 'muted chat-left', 'chat-left');
      left.textContent = i18n.t('chatPanel.participantLeft', { name: m.sender.displayName });
      body.append(left);
      return li;
    }
    body.append(this.textView(m.body), ...m.attachments.map((a) => this.attachmentView(a)));
    const actions = make('div', 'chat-actions');
    if (mine) {
      const status = make('span', 'muted chat-state', 'chat-state');
      status.textContent = i18n.t('chatPanel.state', { state });
      const remove = make('button', 'link-button', 'chat-delete');
      remove.type = 'button';
      remove.textContent = i18n.t('chatPanel.delete');
      remove.addEventListener('click', () => {
        remove.disabled = true;
        deleteMessage(m.id)
          .then(() => {
            m.body = '';
            m.attachments = [];
            m.deletedAt ??= new Date().toISOString();
            this.render();
          })
          .catch((err: unknown) => {
            remove.disabled = false;
            showProblem(this.error, err, i18n);
          });
      });
      actions.append(status, remove);
    } else {
      const report = make('button', 'link-button', 'chat-report');
      report.type = 'button';
      report.textContent = i18n.t('chatPanel.report');
      report.addEventListener('click', () => {
        report.hidden = true;
        li.append(this.reportForm(m, li, report));
      });
      actions.append(report);
    }
    li.append(actions);
    return li;
  }

  private reportForm(m: ChatMessage, li: HTMLLIElement, opener: HTMLButtonElement): HTMLFormElement {
    const { i18n } = this;
    const form = make('form', 'chat-report-form', 'chat-report-form');
    const label = make('label', 'field');
    const caption = make('span');
    caption.textContent = i18n.t('chatPanel.reportReason');
    const reason = make('input', undefined, 'chat-report-reason');
    reason.required = true;
    reason.maxLength = 500;
    label.append(caption, reason);
    const submit = make('button', 'secondary', 'chat-report-submit');
    submit.type = 'submit';
    submit.textContent = i18n.t('chatPanel.reportSubmit');
    const cancel = make('button', 'link-button');
    cancel.type = 'button';
    cancel.textContent = i18n.t('chatPanel.reportCancel');
    cancel.addEventListener('click', () => {
      form.remove();
      opener.hidden = false;
      opener.focus();
    });
    form.append(label, submit, cancel);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      reportMessage(m.id, reason.value.trim())
        .then(() => {
          const done = make('p', 'notice chat-reported', 'chat-reported');
          done.setAttribute('role', 'status');
          done.textContent = i18n.t('chatPanel.reported');
          form.replaceWith(done);
          li.dataset.reported = 'true';
        })
        .catch((err: unknown) => {
          submit.disabled = false;
          showProblem(this.error, err, i18n);
        });
    });
    queueMicrotask(() => reason.focus());
    return form;
  }

  private pendingView(p: Pending): HTMLLIElement {
    const { i18n } = this;
    const { li, body } = this.frame(true, '', null);
    li.dataset.clientMessageId = p.clientMessageId;
    li.dataset.state = p.failed ? 'failed' : 'sending';
    li.dataset.pending = 'true';
    body.append(this.textView(p.body), ...p.attachments.map((a) => this.attachmentView(a)));
    const actions = make('div', 'chat-actions');
    const status = make('span', 'muted chat-state', 'chat-state');
    status.textContent = i18n.t('chatPanel.state', { state: p.failed ? 'failed' : 'sending' });
    actions.append(status);
    if (p.failed) {
      const retry = make('button', 'link-button', 'chat-retry');
      retry.type = 'button';
      retry.textContent = i18n.t('chatPanel.retry');
      retry.addEventListener('click', () => this.send(p));
      actions.append(retry);
    }
    li.append(actions);
    return li;
  }

  private textView(text: string): HTMLElement {
    // A person's words are data: never translated, shown as typed (line breaks kept by CSS).
    const p = make('p', 'chat-text', 'chat-text');
    p.translate = false;
    p.dir = 'auto';
    p.textContent = text;
    return p;
  }

  private attachmentView(a: ChatAttachment): HTMLElement {
    const { i18n } = this;
    const link = make('a', 'chat-attachment', 'chat-attachment');
    link.href = a.url;
    link.target = '_blank';
    link.rel = 'noopener';
    link.dataset.contentType = a.contentType;
    if (a.contentType.startsWith('image/')) {
      const img = make('img', 'chat-image', 'chat-image');
      img.src = a.url;
      img.alt = i18n.t('chatPanel.image', { name: a.name });
      img.loading = 'lazy';
      // Reserves the image's box before it loads (no jump of the conversation).
      if (a.width && a.height) {
        img.width = a.width;
        img.height = a.height;
      }
      link.append(img);
    } else {
      const name = make('span', 'chat-file-name');
      name.translate = false;
      name.textContent = a.name;
      const size = make('span', 'muted');
      size.textContent = i18n.t('chatPanel.fileSize', { kb: Math.max(1, Math.round(a.size / 1024)) });
      link.append(name, ' ', size);
    }
    return link;
  }
}
