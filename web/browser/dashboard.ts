import { AlertsPanel } from './alerts.js';
import type { MessageKey, Translator } from '@clutch/i18n';
import {
  ApiProblem,
  describeVehicle,
  getJson,
  problemDetail,
  type Diagnostics,
  type LiveAlert,
  type Reading,
  type SignalInfo,
  type StoredAlert,
  type TelemetrySeries,
  type Vehicle,
  type VehicleCalibration,
  type VehicleSignal,
} from './api.js';
import { CalibrationNote } from './calibration.js';
import { LiveChart } from './chart.js';
import { TroubleCodesPanel } from './diagnostics.js';
import { setText, startPageLocale } from './locale.js';
import { PresenceBadge } from './presence.js';
import { startSessionNav } from './session-nav.js';
import { VehicleSignalsPanel } from './vehicle-signals.js';
import { VehicleImportForm } from './vehicle-import.js';

type Level = 'ok' | 'warn' | 'bad';

interface TileSpec {
  /** The tile's stable key (its data-signal attribute). */
  signal: string;
  /** Signals that can fill the tile, preferred first. */
  sources: readonly string[];
  min: number;
  max: number;
  digits: number;
  level?: (value: number) => Level;
}

const TILES: readonly TileSpec[] = [
  {
    signal: 'engine.rpm',
    sources: ['engine.rpm'],
    min: 0,
    max: 8000,
    digits: 0,
    level: (v) => (v >= 6500 ? 'bad' : v >= 5500 ? 'warn' : 'ok'),
  },
  { signal: 'vehicle.speed', sources: ['vehicle.speed'], min: 0, max: 200, digits: 0 },
  {
    signal: 'engine.coolant_temp',
    sources: ['engine.coolant_temp'],
    min: 40,
    max: 130,
    digits: 0,
    level: (v) => (v >= 110 ? 'bad' : v >= 104 ? 'warn' : 'ok'),
  },
  {
    signal: 'battery.voltage',
    // ATRV reads the adapter's supply pin; not every adapter answers it, the ECU's own reading is close enough.
    sources: ['battery.voltage', 'ecu.control_module_voltage'],
    min: 10,
    max: 16,
    digits: 1,
    level: (v) => (v < 11.5 || v > 15.2 ? 'bad' : v < 12 || v > 14.9 ? 'warn' : 'ok'),
  },
];

const CHART_WINDOW_MS = 2 * 60_000;
/** A reading older than this is shown greyed: the vehicle may be off or out of coverage. */
const STALE_MS = 60_000;
/** How much fresher the fallback source must be before it replaces the preferred one. */
const FALLBACK_AFTER_MS = 30_000;
const SOCKET_IO_URL: string = '/socket.io/socket.io.esm.min.js';
const CONNECTION_TEXT = {
  live: 'dashboard.connection.live',
  connecting: 'dashboard.connection.connecting',
  offline: 'dashboard.connection.offline',
} as const satisfies Record<string, MessageKey>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Sample {
  value: number;
  time: number;
}

interface SubscribeAck {
  ok: boolean;
  error?: { code: string; message: string };
}

/** The slice of the Socket.io client this page uses (the bundle is loaded at runtime, untyped). */
interface ClientSocket {
  on(event: 'connect' | 'disconnect', listener: () => void): unknown;
  on(event: 'connect_error', listener: (err: Error) => void): unknown;
  on(event: 'readings', listener: (msg: { vehicleId: string; readings: Reading[] }) => void): unknown;
  on(
    event: 'presence',
    listener: (msg: { vehicleId: string; deviceId: string; online: boolean; at: string }) => void,
  ): unknown;
  on(event: 'alert', listener: (msg: { vehicleId: string; alert: LiveAlert }) => void): unknown;
  on(
    event: 'dtc',
    listener: (msg: { vehicleId: string; at: string; codes: { code: string; kind: string }[] }) => void,
  ): unknown;
  timeout(ms: number): {
    emit(event: string, payload: unknown, ack: (err: Error | null, res?: SubscribeAck) => void): void;
  };
}

class Tile {
  private readonly latest = new Map<string, Sample>();
  private readonly valueEl: HTMLElement;
  private readonly timeEl: HTMLElement | null;
  private readonly sourceEl: HTMLElement | null;
  private readonly fillEl: SVGPathElement | null;
  private shown: Sample | undefined;

  constructor(
    private readonly spec: TileSpec,
    private readonly root: HTMLElement,
    private readonly i18n: Translator,
  ) {
    const value = root.querySelector<HTMLElement>('.value');
    if (!value) throw new Error(`tile ${spec.signal} has no value element`);
    this.valueEl = value;
    this.timeEl = root.querySelector('[data-role="time"]');
    this.sourceEl = root.querySelector('[data-role="source"]');
    this.fillEl = root.querySelector('.gauge-fill');
  }

  accepts(signal: string): boolean {
    return this.spec.sources.includes(signal);
  }

  update(signal: string, value: number, time: number): void {
    const previous = this.latest.get(signal);
    // Live and fetched readings race; an older value must never overwrite a newer one.
    if (previous && previous.time > time) return;
    this.latest.set(signal, { value, time });
    this.render();
  }

  /** Re-renders the age text and staleness; called every second. */
  tick(): void {
    if (!this.shown) return;
    setText(this.timeEl, this.i18n.ago(this.shown.time));
    const stale = String(Date.now() - this.shown.time > STALE_MS);
    if (this.root.dataset.stale !== stale) this.root.dataset.stale = stale;
  }

  private pick(): { signal: string; sample: Sample } | undefined {
    let best: { signal: string; sample: Sample } | undefined;
    for (const signal of this.spec.sources) {
      const sample = this.latest.get(signal);
      if (!sample) continue;
      if (!best || sample.time - best.sample.time > FALLBACK_AFTER_MS) best = { signal, sample };
    }
    return best;
  }

  private render(): void {
    const picked = this.pick();
    if (!picked) return;
    const { signal, sample } = picked;
    this.shown = sample;
    // No grouping: a gauge reads 2150 rpm, not 2,150; digits and decimal mark still follow the locale.
    setText(
      this.valueEl,
      this.i18n.number(sample.value, {
        minimumFractionDigits: this.spec.digits,
        maximumFractionDigits: this.spec.digits,
        useGrouping: false,
      }),
    );
    this.root.dataset.value = String(sample.value);
    setText(this.sourceEl, signal === this.spec.sources[0] ? '' : this.i18n.t('dashboard.tile.sourceEcu'));
    const fraction = Math.min(1, Math.max(0, (sample.value - this.spec.min) / (this.spec.max - this.spec.min)));
    this.fillEl?.setAttribute('stroke-dasharray', `${(fraction * 100).toFixed(1)} 100`);
    this.root.dataset.level = this.spec.level?.(sample.value) ?? 'ok';
    this.tick();
  }
}

function element(testId: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
}

/** Everything the page shows, wired to the translator once the locale is known. */
function createView(i18n: Translator) {
  const connectionEl = element('connection');
  const errorEl = element('error');
  const lastUpdateEl = element('last-update');
  const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="chart"]');
  const style = getComputedStyle(document.documentElement);
  const presenceEl = element('presence');
  const alertList = element('alerts');
  const dtcList = element('dtcs');
  const vehicleSignalsEl = element('vehicle-signals');
  const calibrationEl = element('calibration');
  return {
    lastUpdateEl,
    tiles: TILES.flatMap((spec) => {
      const root = document.querySelector<HTMLElement>(`.tile[data-signal="${spec.signal}"]`);
      return root ? [new Tile(spec, root, i18n)] : [];
    }),
    chart: canvas
      ? new LiveChart(
          canvas,
          [
            {
              key: 'engine.rpm',
              color: style.getPropertyValue('--rpm').trim() || '#2563eb',
              axis: 'left',
              minCeiling: 1000,
            },
            {
              key: 'vehicle.speed',
              color: style.getPropertyValue('--speed').trim() || '#0d9488',
              axis: 'right',
              minCeiling: 50,
            },
          ],
          CHART_WINDOW_MS,
          i18n,
        )
      : undefined,
    presence: presenceEl ? new PresenceBadge(presenceEl, i18n) : undefined,
    alertsPanel: alertList
      ? new AlertsPanel(alertList, element('alerts-empty'), element('alerts-count'), i18n)
      : undefined,
    calibration: calibrationEl ? new CalibrationNote(calibrationEl, i18n) : undefined,
    codesPanel: dtcList ? new TroubleCodesPanel(dtcList, element('dtcs-empty'), element('mil'), i18n) : undefined,
    vehicleSignals: vehicleSignalsEl ? new VehicleSignalsPanel(vehicleSignalsEl, i18n) : undefined,
    setConnection(state: 'live' | 'offline' | 'connecting'): void {
      if (!connectionEl) return;
      connectionEl.dataset.state = state;
      setText(connectionEl, i18n.t(CONNECTION_TEXT[state]));
    },
    showError(message: string): void {
      if (!errorEl) return;
      errorEl.textContent = message;
      errorEl.hidden = false;
    },
    clearError(): void {
      if (errorEl) errorEl.hidden = true;
    },
  };
}

type View = ReturnType<typeof createView>;

function startDashboard(i18n: Translator, view: View, vehicleId: string) {
  const { tiles, chart, presence, alertsPanel, codesPanel, vehicleSignals, calibration, lastUpdateEl } = view;
  let lastReadingAt = 0;
  const showLastReading = (): void => {
    if (lastReadingAt) setText(lastUpdateEl, i18n.t('dashboard.lastReading', { ago: i18n.ago(lastReadingAt) }));
  };

  /** Alerts, trouble codes and presence; run on load and after every reconnect, like the snapshot. */
  async function loadStatus(vehicle?: Vehicle): Promise<void> {
    const id = encodeURIComponent(vehicleId);
    const current = vehicle ?? (await getJson<Vehicle>(`/api/vehicles/${id}`));
    presence?.set(current.online, current.lastSeenAt);
    await Promise.all([
      getJson<{ alerts: StoredAlert[] }>(`/api/vehicles/${id}/alerts?limit=50`).then((r) =>
        alertsPanel?.load(r.alerts),
      ),
      loadCodes(),
      loadCalibration(),
    ]);
  }

  /** Whether the car is still calibrating; a failure blanks the line and leaves the alerts alone. */
  async function loadCalibration(): Promise<void> {
    if (!calibration) return;
    try {
      const health = await getJson<{ calibration: VehicleCalibration }>(
        `/api/vehicles/${encodeURIComponent(vehicleId)}/health`,
      );
      calibration.show(health.calibration);
    } catch {
      calibration.hide();
    }
  }

  async function loadCodes(): Promise<void> {
    try {
      codesPanel?.show(await getJson<Diagnostics>(`/api/obd2/diagnostics/${encodeURIComponent(vehicleId)}?history=1`));
    } catch (err) {
      codesPanel?.unavailable(i18n.t('dashboard.dtcs.unavailable', { detail: problemDetail(err, i18n) }));
    }
  }

  /** The vehicle's own signals, by profile; asked again when a live reading names one it did not list. */
  let signalsLoading: Promise<void> | undefined;
  const askedFor = new Set<string>();
  let signalsStale = false;
  async function loadSignals(): Promise<void> {
    if (signalsLoading) {
      signalsStale = true;
      return signalsLoading;
    }
    signalsLoading = (async () => {
      try {
        do {
          signalsStale = false;
          const list = await getJson<{ signals: VehicleSignal[] }>(
            `/api/vehicles/${encodeURIComponent(vehicleId)}/signals`,
          );
          vehicleSignals?.setSignals(list.signals);
        } while (signalsStale);
      } finally {
        signalsLoading = undefined;
      }
    })();
    return signalsLoading;
  }

  function apply(readings: readonly Reading[]): void {
    let unlisted = false;
    for (const r of readings) {
      const time = Date.parse(r.time);
      if (!Number.isFinite(time) || typeof r.value !== 'number') continue;
      for (const tile of tiles) if (tile.accepts(r.signal)) tile.update(r.signal, r.value, time);
      if (vehicleSignals && !vehicleSignals.knows(r.signal) && !askedFor.has(r.signal)) {
        askedFor.add(r.signal);
        unlisted = true;
      }
      vehicleSignals?.update(r.signal, r.value, time);
      chart?.add(r.signal, r.time, r.value);
      if (time > lastReadingAt) lastReadingAt = time;
    }
    showLastReading();
    // A signal the list did not name yet (new since the page loaded): ask once per signal, so a key
    // the list never names (stored nowhere) cannot make every reading ask again.
    if (unlisted) void loadSignals().catch(() => undefined);
  }

  /** Latest values and the chart's history; run on load and after every reconnect to fill the gap. */
  async function loadSnapshot(): Promise<void> {
    const base = `/api/vehicles/${encodeURIComponent(vehicleId)}`;
    const from = new Date(Date.now() - CHART_WINDOW_MS).toISOString();
    // The signal list first, or a vehicle-specific latest value would wait for a list it triggered itself.
    const signals = loadSignals();
    const [latest, ...series] = await Promise.all([
      getJson<{ readings: Reading[] }>(`${base}/latest`),
      ...['engine.rpm', 'vehicle.speed'].map((signal) =>
        getJson<TelemetrySeries>(`${base}/telemetry?signal=${signal}&from=${encodeURIComponent(from)}`),
      ),
    ]);
    for (const s of series) apply(s.points.map((p) => ({ signal: s.signal, time: p.time, value: p.value })));
    await signals;
    apply(latest.readings);
  }

  async function connectLive(): Promise<void> {
    const { io } = (await import(SOCKET_IO_URL)) as { io: (options: object) => ClientSocket };
    const socket = io({ transports: ['websocket', 'polling'] });
    let connectedBefore = false;
    socket.on('connect', () => {
      view.setConnection('connecting');
      // Rooms live on the server per connection: a reconnect is a new connection, so subscribe again.
      socket.timeout(5000).emit('subscribe', { vehicleId }, (err, ack) => {
        if (err || !ack?.ok) {
          view.setConnection('offline');
          view.showError(
            i18n.t('dashboard.error.live', { detail: err?.message ?? ack?.error?.message ?? i18n.t('error.unknown') }),
          );
          return;
        }
        view.clearError();
        view.setConnection('live');
        if (connectedBefore) {
          loadSnapshot().catch(() => undefined);
          loadStatus().catch(() => undefined);
        }
        connectedBefore = true;
      });
    });
    socket.on('disconnect', () => view.setConnection('offline'));
    socket.on('connect_error', () => view.setConnection('offline'));
    socket.on('readings', (msg) => {
      if (msg.vehicleId === vehicleId) apply(msg.readings);
    });
    socket.on('presence', (msg) => {
      if (msg.vehicleId === vehicleId) presence?.update(msg.deviceId, msg.online, msg.at);
    });
    socket.on('alert', (msg) => {
      if (msg.vehicleId === vehicleId) alertsPanel?.add(msg.alert);
    });
    socket.on('dtc', (msg) => {
      if (msg.vehicleId !== vehicleId) return;
      // The event carries codes only: show them at once, then fetch their descriptions.
      codesPanel?.showCodes(msg.codes);
      void loadCodes();
    });
  }

  setInterval(() => {
    for (const tile of tiles) tile.tick();
    presence?.tick();
    alertsPanel?.tick();
    vehicleSignals?.tick();
    showLastReading();
  }, 1000);
  return { loadStatus, loadSnapshot, connectLive };
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  // The visitor's name and sign-out (or sign-in) in the top bar, the open-demo banner; signed out: to sign in.
  void startSessionNav(i18n, { requireSession: true });
  const view = createView(i18n);
  view.setConnection('offline');
  const vehicleId = new URLSearchParams(location.search).get('vehicle') ?? '';
  if (!UUID.test(vehicleId)) {
    view.showError(i18n.t('dashboard.error.noVehicle'));
    return;
  }
  const dashboard = startDashboard(i18n, view, vehicleId);
  let vehicle: Vehicle;
  try {
    vehicle = await getJson<Vehicle>(`/api/vehicles/${encodeURIComponent(vehicleId)}`);
  } catch (err) {
    view.showError(
      err instanceof ApiProblem && err.code === 'VEHICLE_NOT_FOUND'
        ? i18n.t('dashboard.error.notFound')
        : i18n.t('dashboard.error.loadVehicle', { detail: problemDetail(err, i18n) }),
    );
    return;
  }
  const nameEl = element('vehicle-name');
  const metaEl = element('vehicle-meta');
  if (nameEl) {
    nameEl.textContent = vehicle.name;
    nameEl.translate = false;
  }
  if (metaEl) metaEl.textContent = [describeVehicle(vehicle), vehicle.vin].filter(Boolean).join(' · ');
  document.title = i18n.t('dashboard.vehicleDocumentTitle', { vehicle: vehicle.name });
  // Subscribe while the snapshot loads: tiles and chart order by sample time, so arrival order is irrelevant.
  await Promise.all([
    dashboard.connectLive().catch((err: unknown) => {
      view.setConnection('offline');
      view.showError(i18n.t('dashboard.error.live', { detail: problemDetail(err, i18n) }));
    }),
    dashboard
      .loadSnapshot()
      .catch((err: unknown) => view.showError(i18n.t('dashboard.error.recent', { detail: problemDetail(err, i18n) }))),
    dashboard
      .loadStatus(vehicle)
      .catch((err: unknown) => view.showError(i18n.t('dashboard.error.alerts', { detail: problemDetail(err, i18n) }))),
    getJson<{ signals: SignalInfo[] }>('/api/signals').then(
      (r) => view.alertsPanel?.setSignals(r.signals),
      () => undefined,
    ),
  ]);
  // Importing an app's log (docs/imports.md), shown once the car's data is in (so nothing a user reads
  // moves when it appears); after an import the car's alerts and calibration are loaded again.
  const importEl = element('vehicle-import');
  if (importEl) {
    new VehicleImportForm(importEl, i18n, vehicleId, () => void dashboard.loadStatus().catch(() => undefined));
    importEl.hidden = false;
  }
}

void main();
