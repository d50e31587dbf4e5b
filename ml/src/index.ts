/**
 * Scoring interface the ingest chain will call (issue: ML). Kept here so ingest depends on a stable
 * shape, not on a model implementation.
 */
export interface WindowScore {
  vehicleId: string;
  score: number;
  explanation: string;
}
