import type { Translator } from '@clutch/i18n';
import type { LiveAlert, SignalInfo, StoredAlert } from './api.js';
import { findRepairLink } from './find-repair.js';
import { setText } from './locale.js';

interface ShownAlert {
  id: string;
  at: string;
  severity: StoredAlert['severity'];
  title: string;
  explanation: string;
  signals: string[];
}

const MAX_SHOWN = 50;

/** The alerts list: stored alerts on load, live ones prepended, newest first, each once. */
export class AlertsPanel {
  private alerts: ShownAlert[] = [];
  private signalNames = new Map<string, string>();

  constructor(
    private readonly list: HTMLElement,
    private readonly empty: HTMLElement | null,
    private readonly count: HTMLElement | null,
    private readonly i18n: Translator,
  ) {}

  /** Plain names for signal keys ("Engine coolant temperature" instead of engine.coolant_temp). */
  setSignals(signals: readonly SignalInfo[]): void {
    this.signalNames = new Map(signals.map((s) => [s.key, s.name]));
    this.render();
  }

  load(stored: readonly StoredAlert[]): void {
    this.merge(
      stored.map((a) => ({
        id: a.id,
        at: a.time,
        severity: a.severity,
        title: a.title,
        explanation: a.explanation,
        signals: a.signals,
      })),
    );
  }

  add(alert: LiveAlert): void {
    this.merge([
      {
        id: alert.id,
        at: alert.at,
        severity: alert.severity,
        title: alert.title,
        explanation: alert.explanation,
        signals: alert.signals,
      },
    ]);
  }

  tick(): void {
    for (const el of this.list.querySelectorAll<HTMLElement>('time[data-at]'))
      setText(el, this.i18n.ago(el.dataset.at ?? ''));
  }

  private merge(incoming: readonly ShownAlert[]): void {
    const byId = new Map(this.alerts.map((a) => [a.id, a]));
    for (const a of incoming) byId.set(a.id, a);
    this.alerts = [...byId.values()].sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, MAX_SHOWN);
    this.render();
  }

  private render(): void {
    // textContent everywhere: titles and explanations are data, never markup. They are worded by ingest's
    // scoring (data-from="api"): the API will localise them, the page cannot.
    this.list.replaceChildren(...this.alerts.map((a) => this.item(a)));
    if (this.empty) this.empty.hidden = this.alerts.length > 0;
    if (this.count) {
      this.count.textContent = this.alerts.length > 0 ? this.i18n.number(this.alerts.length) : '';
      this.count.title =
        this.alerts.length > 0 ? this.i18n.t('dashboard.alerts.count', { count: this.alerts.length }) : '';
    }
  }

  private item(a: ShownAlert): HTMLLIElement {
    const li = document.createElement('li');
    li.className = 'alert';
    li.dataset.testid = 'alert';
    li.dataset.severity = a.severity;
    li.dataset.alertId = a.id;
    const head = document.createElement('div');
    head.className = 'alert-head';
    const badge = document.createElement('span');
    badge.className = 'severity';
    badge.dataset.role = 'severity';
    badge.textContent = this.i18n.t('alert.severity', { severity: a.severity });
    const title = document.createElement('strong');
    title.className = 'alert-title';
    title.dataset.role = 'title';
    title.dataset.from = 'api';
    title.textContent = a.title;
    const time = document.createElement('time');
    time.className = 'muted';
    time.dateTime = a.at;
    time.dataset.at = a.at;
    time.title = this.i18n.dateTime(a.at, { dateStyle: 'medium', timeStyle: 'short' });
    time.textContent = this.i18n.ago(a.at);
    head.append(badge, title, time, findRepairLink(this.i18n, { alertId: a.id, subject: a.title }));
    const explanation = document.createElement('p');
    explanation.className = 'alert-explanation';
    explanation.dataset.role = 'explanation';
    explanation.dataset.from = 'api';
    explanation.textContent = a.explanation;
    li.append(head, explanation);
    if (a.signals.length > 0) {
      const signals = document.createElement('ul');
      signals.className = 'chips';
      signals.dataset.role = 'signals';
      signals.setAttribute('aria-label', this.i18n.t('alert.signalsLabel'));
      // Signal names come from the API's signal catalogue.
      signals.dataset.from = 'api';
      for (const key of a.signals) {
        const chip = document.createElement('li');
        chip.textContent = this.signalNames.get(key) ?? key;
        chip.title = key;
        signals.append(chip);
      }
      li.append(signals);
    }
    return li;
  }
}
