import type { Translator } from '@clutch/i18n';
import type { Diagnostics, TroubleCode } from './api.js';
import { findRepairLink } from './find-repair.js';

const KINDS = new Set<string>(['stored', 'pending', 'permanent']);

/** Current trouble codes with their plain-words descriptions and the check-engine light. */
export class TroubleCodesPanel {
  constructor(
    private readonly list: HTMLElement,
    private readonly empty: HTMLElement | null,
    private readonly mil: HTMLElement | null,
    private readonly i18n: Translator,
  ) {}

  show(diagnostics: Diagnostics): void {
    this.list.replaceChildren(...diagnostics.current.map((c) => this.item(c)));
    if (this.empty) {
      this.empty.hidden = diagnostics.current.length > 0;
      this.empty.textContent = diagnostics.reportedAt
        ? this.i18n.t('dashboard.dtcs.noneInLastReport', { ago: this.i18n.ago(diagnostics.reportedAt) })
        : this.i18n.t('dashboard.dtcs.none');
    }
    if (this.mil) {
      this.mil.hidden = !diagnostics.milOn;
      this.mil.textContent = this.i18n.t('dashboard.dtcs.mil');
    }
  }

  /** Codes from a live `dtc` event, before their descriptions are fetched. */
  showCodes(codes: readonly { code: string; kind: string }[]): void {
    this.show({
      reportedAt: new Date().toISOString(),
      milOn: false,
      current: codes.map((c) => ({
        code: c.code,
        kind: (KINDS.has(c.kind) ? c.kind : 'stored') as TroubleCode['kind'],
        description: null,
        system: '',
        milRelevant: false,
        firstSeen: '',
      })),
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
    code.translate = false;
    const body = document.createElement('div');
    const description = document.createElement('p');
    description.className = 'dtc-description';
    description.dataset.role = 'description';
    if (c.description === null) description.textContent = this.i18n.t('dtc.noDescription');
    else {
      // The description comes from the API's code data set, in its language.
      description.textContent = c.description;
      description.dataset.from = 'api';
    }
    const meta = document.createElement('p');
    meta.className = 'muted dtc-meta';
    const { i18n } = this;
    meta.textContent = [
      i18n.t('dtc.kind', { kind: c.kind }),
      c.system ? i18n.t('dtc.system', { system: c.system }) : '',
      c.firstSeen ? i18n.t('dtc.firstSeen', { ago: i18n.ago(c.firstSeen) }) : '',
    ]
      .filter(Boolean)
      .join(' · ');
    meta.append(' · ', findRepairLink(i18n, { codes: [c.code], subject: c.code }));
    body.append(description, meta);
    li.append(code, body);
    return li;
  }
}
