import type { Translator } from '@clutch/i18n';
import type { VehicleSignal } from './api.js';
import { setText } from './locale.js';

interface Row {
  signal: VehicleSignal;
  valueEl: HTMLElement;
  timeEl: HTMLElement;
  time?: number;
}

const STATE_WORDS = {
  offon: ['dashboard.vehicleSignals.off', 'dashboard.vehicleSignals.on'],
  onoff: ['dashboard.vehicleSignals.on', 'dashboard.vehicleSignals.off'],
  noyes: ['dashboard.vehicleSignals.no', 'dashboard.vehicleSignals.yes'],
} as const;

/** A reading older than this is shown greyed, as the tiles do. */
const STALE_MS = 60_000;

/**
 * The vehicle-specific signals (Mode 21/22 of an OBDb vehicle profile) the car has sent, one group per
 * profile ("Vehicle-specific — Toyota-Camry"), a row per signal with its value, unit and age. Names,
 * units and enumeration descriptions are OBDb data from the API, not our texts: marked so.
 */
export class VehicleSignalsPanel {
  private readonly rows = new Map<string, Row>();
  private readonly groups = new Map<string, HTMLElement>();
  private readonly pending = new Map<string, { value: number; time: number }>();
  /** Every key of the vehicle's list, SAE ones included (those are the tiles' and chart's to show). */
  private readonly listed = new Set<string>();

  constructor(
    private readonly root: HTMLElement,
    private readonly i18n: Translator,
  ) {}

  /** Whether the vehicle's signal list named this key (one it did not is new: the list is worth asking again). */
  knows(key: string): boolean {
    return this.listed.has(key);
  }

  /** Adds the vehicle-specific signals among these (the vehicle's signal list); SAE ones are left to the tiles. */
  setSignals(signals: readonly VehicleSignal[]): void {
    for (const signal of signals) {
      this.listed.add(signal.signal);
      if (signal.profile === undefined || this.rows.has(signal.signal)) continue;
      const tbody = this.group(signal.profile);
      const tr = document.createElement('tr');
      tr.dataset.signal = signal.signal;
      const name = document.createElement('th');
      name.scope = 'row';
      name.textContent = signal.name;
      name.dataset.from = 'api';
      const value = document.createElement('td');
      value.className = 'signal-value';
      value.dataset.testid = `value-${signal.signal}`;
      // A number is data; a two-state value is worded by our catalogue; an enumeration by OBDb's data.
      if (signal.values) value.dataset.from = 'api';
      else value.translate = signal.states !== undefined;
      value.textContent = '—';
      const unit = document.createElement('td');
      unit.className = 'unit';
      unit.translate = false;
      unit.textContent = signal.unit;
      const time = document.createElement('td');
      time.className = 'time muted';
      tr.append(name, value, unit, time);
      tbody.append(tr);
      this.rows.set(signal.signal, { signal, valueEl: value, timeEl: time });
      const early = this.pending.get(signal.signal);
      if (early) this.update(signal.signal, early.value, early.time);
    }
    for (const key of this.pending.keys()) if (this.listed.has(key)) this.pending.delete(key);
    this.root.hidden = this.rows.size === 0;
  }

  /** A reading of any signal; one not listed yet is kept until the list names it (SAE ones are ignored). */
  update(key: string, value: number, time: number): void {
    const row = this.rows.get(key);
    if (!row) {
      if (this.listed.has(key)) return;
      const held = this.pending.get(key);
      if (!held || held.time <= time) this.pending.set(key, { value, time });
      return;
    }
    // Live and fetched readings race; an older value must never overwrite a newer one.
    if (row.time !== undefined && row.time > time) return;
    row.time = time;
    setText(row.valueEl, this.format(row.signal, value));
    row.valueEl.parentElement!.dataset.value = String(value);
    this.tickRow(row);
  }

  /** Re-renders ages and staleness; called every second. */
  tick(): void {
    for (const row of this.rows.values()) this.tickRow(row);
  }

  private tickRow(row: Row): void {
    if (row.time === undefined) return;
    setText(row.timeEl, this.i18n.ago(row.time));
    const tr = row.valueEl.parentElement!;
    const stale = String(Date.now() - row.time > STALE_MS);
    if (tr.dataset.stale !== stale) tr.dataset.stale = stale;
  }

  private format(signal: VehicleSignal, value: number): string {
    if (signal.values) {
      const described = signal.values[String(value)];
      return described ?? this.i18n.t('dashboard.vehicleSignals.code', { code: value });
    }
    if (signal.states && (value === 0 || value === 1)) return this.i18n.t(STATE_WORDS[signal.states][value]);
    return this.i18n.number(value, { maximumFractionDigits: 2, useGrouping: false });
  }

  private group(profile: string): HTMLElement {
    let tbody = this.groups.get(profile);
    if (tbody) return tbody;
    const section = document.createElement('section');
    section.className = 'panel vehicle-signal-group';
    section.dataset.profile = profile;
    section.dataset.testid = 'vehicle-signal-group';
    const head = document.createElement('div');
    head.className = 'panel-head';
    const h2 = document.createElement('h2');
    // The heading is ours, the profile name inside it is OBDb's ("Toyota-Camry").
    h2.textContent = this.i18n.t('dashboard.vehicleSignals.heading', { profile });
    head.append(h2);
    const table = document.createElement('table');
    table.className = 'signal-table';
    const thead = document.createElement('thead');
    const headRow = document.createElement('tr');
    for (const key of [
      'dashboard.vehicleSignals.column.signal',
      'dashboard.vehicleSignals.column.value',
      'dashboard.vehicleSignals.column.unit',
      'dashboard.vehicleSignals.column.updated',
    ] as const) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = this.i18n.t(key);
      headRow.append(th);
    }
    thead.append(headRow);
    tbody = document.createElement('tbody');
    table.append(thead, tbody);
    section.append(head, table);
    this.root.append(section);
    this.groups.set(profile, tbody);
    return tbody;
  }
}
