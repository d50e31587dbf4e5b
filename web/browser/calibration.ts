import type { Translator } from '@clutch/i18n';
import type { VehicleCalibration } from './api.js';
import { setText } from './locale.js';

/**
 * The health panel's line on how well scoring knows this car (issue 19): while its own normal is
 * being learned only the checks that hold for every car raise alerts, so "no alerts" means less
 * than it will. The line is in the page from the start, above the alerts, and only its text
 * changes: the panel never moves under a reader.
 */
export class CalibrationNote {
  constructor(
    private readonly root: HTMLElement,
    private readonly i18n: Translator,
  ) {}

  show(calibration: VehicleCalibration): void {
    const { i18n } = this;
    this.root.dataset.status = calibration.status;
    if (calibration.status === 'calibrated') {
      setText(this.root, i18n.t('dashboard.calibration.calibrated'));
      this.root.removeAttribute('title');
      return;
    }
    // One decimal, and never shown as done before it is: 2.96 h of 3 reads 2.9, not 3.0.
    const hours = Math.floor(Math.max(0, calibration.runningHours) * 10) / 10;
    const fraction = { minimumFractionDigits: 1, maximumFractionDigits: 1 };
    setText(
      this.root,
      i18n.t('dashboard.calibration.calibrating', {
        hours: i18n.number(hours, fraction),
        needed: i18n.number(calibration.hoursNeeded),
        trips: i18n.number(calibration.trips),
        tripsNeeded: i18n.number(calibration.tripsNeeded),
      }),
    );
    // What it means, on hover and to assistive technology: one line keeps the panel from reflowing.
    this.root.title = i18n.t('dashboard.calibration.note');
  }

  /** The health summary could not be read: say nothing rather than guess (the line keeps its place). */
  hide(): void {
    delete this.root.dataset.status;
    this.root.removeAttribute('title');
    setText(this.root, '\u00a0');
  }
}
