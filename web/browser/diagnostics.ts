import { timeAgo, type Diagnostics, type TroubleCode } from './api.js';

const KIND_LABEL: Record<TroubleCode['kind'], string> = { stored: 'Stored', pending: 'Pending', permanent: 'Permanent' };

/** Current trouble codes with their plain-words descriptions and the check-engine light. */
export class TroubleCodesPanel {
  constructor(
    private readonly list: HTMLElement,
    private readonly empty: HTMLElement | null,
    private readonly mil: HTMLElement | null,
  ) {}

  show(diagnostics: Diagnostics): void {
    this.list.replaceChildren(...diagnostics.current.map((c) => this.item(c)));
    if (this.empty) {
      this.empty.hidden = diagnostics.current.length > 0;
      this.empty.textContent = diagnostics.reportedAt ? `No trouble codes in the last report (${timeAgo(diagnostics.reportedAt)}).` : 'No trouble codes reported.';
    }
    if (this.mil) {
      this.mil.hidden = !diagnostics.milOn;
      this.mil.textContent = 'Check-engine light on';
    }
  }

  /** Codes from a live `dtc` event, before their descriptions are fetched. */
  showCodes(codes: readonly { code: string; kind: string }[]): void {
    this.show({
      reportedAt: new Date().toISOString(),
      milOn: false,
      current: codes.map((c) => ({ code: c.code, kind: (c.kind in KIND_LABEL ? c.kind : 'stored') as TroubleCode['kind'], description: null, system: '', milRelevant: false, firstSeen: '' })),
    });
  }

  unavailable(message: string): void {
    this.list.replaceChildren();
    if (this.empty) {
      this.empty.hidden = false;
      this.empty.textContent = message;
    }
  }

  private item(c: TroubleCode): HTMLLIElement {
    const li = document.createElement('li');
    li.className = 'dtc';
    li.dataset.testid = 'dtc';
    li.dataset.code = c.code;
    li.dataset.kind = c.kind;
    const code = document.createElement('span');
    code.className = 'dtc-code';
    code.dataset.role = 'code';
    code.textContent = c.code;
    const body = document.createElement('div');
    const description = document.createElement('p');
    description.className = 'dtc-description';
    description.dataset.role = 'description';
    description.textContent = c.description ?? 'No description available for this code.';
    const meta = document.createElement('p');
    meta.className = 'muted dtc-meta';
    meta.textContent = [KIND_LABEL[c.kind] ?? c.kind, c.system ? `${c.system[0]?.toUpperCase()}${c.system.slice(1)}` : '', c.firstSeen ? `first seen ${timeAgo(c.firstSeen)}` : '']
      .filter(Boolean)
      .join(' · ');
    body.append(description, meta);
    li.append(code, body);
    return li;
  }
}
