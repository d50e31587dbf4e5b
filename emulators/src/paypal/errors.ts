import { randomId } from '../http.js';

/** PayPal's error answer: `{ name, message, debug_id, details: [{ issue, description }] }` with an HTTP status. */
export class PayPalApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorName: string,
    message: string,
    readonly issue?: string,
    readonly description?: string,
  ) {
    super(message);
  }

  body(): unknown {
    return {
      name: this.errorName,
      message: this.message,
      debug_id: randomId('', 13).toLowerCase(),
      ...(this.issue ? { details: [{ issue: this.issue, description: this.description ?? this.message }] } : {}),
      links: [],
    };
  }
}

export const unprocessable = (issue: string, description: string): PayPalApiError =>
  new PayPalApiError(
    422,
    'UNPROCESSABLE_ENTITY',
    'The requested action could not be performed, semantically incorrect, or failed business validation.',
    issue,
    description,
  );
export const notFound = (what: string): PayPalApiError =>
  new PayPalApiError(
    404,
    'RESOURCE_NOT_FOUND',
    'The specified resource does not exist.',
    'INVALID_RESOURCE_ID',
    `Specified resource ID does not exist: ${what}`,
  );
export const invalidRequest = (issue: string, description: string): PayPalApiError =>
  new PayPalApiError(
    400,
    'INVALID_REQUEST',
    'Request is not well-formed, syntactically incorrect, or violates schema.',
    issue,
    description,
  );
