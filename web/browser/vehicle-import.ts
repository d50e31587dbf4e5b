import type { Translator } from '@clutch/i18n';
import { ApiProblem, csrfToken, getJson, problemDetail } from './api.js';
import { setText } from './locale.js';

/** What GET /api/vehicles/:id/imports/:importId answers (api/src/telemetry-imports/routes.ts). */
interface VehicleImport {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  format: string | null;
  summary: ImportSummary | null;
  error: { code: string; detail: string } | null;
}

interface ImportSummary {
  format: string;
  rows: number;
  skippedRows: number;
  readings: number;
  readingsPerSignal: Record<string, number>;
  skippedColumns: { source: string; note: string }[];
  from: string;
  to: string;
  samplesStored: number;
  samplesAlreadyStored: number;
  alerts: { raised: number };
  calibration: { status: 'calibrating' | 'calibrated'; runningHours: number; hoursNeeded: number };
}

/** How often the page asks whether the import job has finished. */
const POLL_MS = 1000;

/**
 * The vehicle page's "Import a log" form (docs/imports.md): the file goes up as it is (the API reads
 * CSV, not JSON), then the page follows the import job until it is done and shows what it did. The
 * texts are the catalogue's; the numbers and the API's own words (a failure's detail) are data.
 */
export class VehicleImportForm {
  private readonly form: HTMLFormElement | null;
  private readonly file: HTMLInputElement | null;
  private readonly format: HTMLSelectElement | null;
  private readonly status: HTMLElement | null;
  private readonly summary: HTMLElement | null;

  constructor(
    root: HTMLElement,
    private readonly i18n: Translator,
    private readonly vehicleId: string,
    /** Called once an import succeeded (the page reloads its alerts and calibration). */
    private readonly imported: () => void = () => undefined,
  ) {
    this.form = root.querySelector('form');
    this.file = root.querySelector('[data-testid="import-file"]');
    this.format = root.querySelector('[data-testid="import-format"]');
    this.status = root.querySelector('[data-testid="import-status"]');
    this.summary = root.querySelector('[data-testid="import-summary"]');
    this.form?.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
  }

  private say(state: string, text: string): void {
    if (!this.status) return;
    this.status.dataset.state = state;
    setText(this.status, text);
    this.status.hidden = false;
  }

  private async submit(): Promise<void> {
    const { i18n } = this;
    const file = this.file?.files?.[0];
    if (!file) {
      this.say('error', i18n.t('dashboard.import.noFile'));
      return;
    }
    const button = this.form?.querySelector('button');
    if (button) button.disabled = true;
    if (this.summary) this.summary.hidden = true;
    this.say('uploading', i18n.t('dashboard.import.uploading', { name: file.name }));
    try {
      let current = await this.upload(file);
      while (current.status === 'queued' || current.status === 'running') {
        this.say(
          current.status,
          i18n.t(current.status === 'queued' ? 'dashboard.import.queued' : 'dashboard.import.running'),
        );
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        current = await getJson<VehicleImport>(
          `/api/vehicles/${encodeURIComponent(this.vehicleId)}/imports/${encodeURIComponent(current.id)}`,
        );
      }
      if (current.status === 'failed') {
        this.say(
          'failed',
          i18n.t('dashboard.import.failed', { detail: current.error?.detail ?? i18n.t('error.unknown') }),
        );
        return;
      }
      this.say('succeeded', i18n.t('dashboard.import.succeeded'));
      if (current.summary) this.show(current.summary);
      this.imported();
    } catch (err) {
      this.say('failed', i18n.t('dashboard.import.failed', { detail: problemDetail(err, i18n) }));
    } finally {
      if (button) button.disabled = false;
    }
  }

  /** The file itself as the body, with the session's CSRF header (api/src/http/csrf.ts lets this path through). */
  private async upload(file: File): Promise<VehicleImport> {
    const query = new URLSearchParams({ name: file.name });
    const format = this.format?.value ?? '';
    if (format !== '') query.set('format', format);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'text/csv',
      'x-requested-with': 'clutch-web',
    };
    const csrf = csrfToken();
    if (csrf !== undefined) headers['x-csrf-token'] = csrf;
    const res = await fetch(`/api/vehicles/${encodeURIComponent(this.vehicleId)}/imports?${query.toString()}`, {
      method: 'POST',
      headers,
      body: file,
      credentials: 'same-origin',
    });
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      throw new ApiProblem(
        res.status,
        String(body.code ?? 'UNKNOWN'),
        String(body.detail ?? ''),
        String(body.title ?? ''),
      );
    }
    return body as unknown as VehicleImport;
  }

  private show(summary: ImportSummary): void {
    const { i18n } = this;
    const list = this.summary;
    if (!list) return;
    const lines = [
      i18n.t('dashboard.import.summary.format', { format: summary.format }),
      i18n.t('dashboard.import.summary.rows', { rows: summary.rows, skipped: summary.skippedRows }),
      i18n.t('dashboard.import.summary.time', {
        from: i18n.dateTime(summary.from, { dateStyle: 'medium', timeStyle: 'short' }),
        to: i18n.dateTime(summary.to, { dateStyle: 'medium', timeStyle: 'short' }),
      }),
      i18n.t('dashboard.import.summary.readings', {
        readings: summary.readings,
        signals: Object.keys(summary.readingsPerSignal).length,
        stored: summary.samplesStored,
        already: summary.samplesAlreadyStored,
      }),
      i18n.t('dashboard.import.summary.skippedColumns', { columns: summary.skippedColumns.length }),
      i18n.t('dashboard.import.summary.alerts', { alerts: summary.alerts.raised }),
      i18n.t(
        summary.calibration.status === 'calibrated'
          ? 'dashboard.import.summary.calibrated'
          : 'dashboard.import.summary.calibrating',
        {
          hours: i18n.number(Math.floor(summary.calibration.runningHours * 10) / 10, {
            minimumFractionDigits: 1,
            maximumFractionDigits: 1,
          }),
          needed: i18n.number(summary.calibration.hoursNeeded),
        },
      ),
    ];
    list.replaceChildren(
      ...lines.map((text) => {
        const li = document.createElement('li');
        li.textContent = text;
        return li;
      }),
    );
    list.hidden = false;
  }
}
