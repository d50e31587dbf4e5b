/** PayPal REST objects as the Orders v2 and Payments v2 references document them (the fields used here). */
/** PayPal amounts: an ISO currency and a decimal string (`"12.50"`). */
export interface PayPalAmount {
  currency_code: string;
  value: string;
}

export interface Link {
  href: string;
  rel: string;
  method: string;
}

export interface PayPalAuthorization {
  id: string;
  status: 'CREATED' | 'CAPTURED' | 'PARTIALLY_CAPTURED' | 'VOIDED' | 'EXPIRED' | 'DENIED';
  amount: PayPalAmount;
  expiration_time: string;
  create_time: string;
  update_time: string;
  supplementary_data: { related_ids: { order_id: string } };
  links: Link[];
}

export interface PayPalCapture {
  id: string;
  status: 'COMPLETED' | 'PARTIALLY_REFUNDED' | 'REFUNDED' | 'DECLINED';
  amount: PayPalAmount;
  final_capture: boolean;
  create_time: string;
  update_time: string;
  supplementary_data: { related_ids: { order_id: string; authorization_id?: string } };
  links: Link[];
}

export interface PayPalRefund {
  id: string;
  status: 'COMPLETED';
  amount: PayPalAmount;
  note_to_payer?: string;
  create_time: string;
  update_time: string;
  supplementary_data: { related_ids: { order_id: string; capture_id: string } };
  links: Link[];
}

export interface PayPalOrder {
  id: string;
  intent: 'CAPTURE' | 'AUTHORIZE';
  status: 'CREATED' | 'APPROVED' | 'COMPLETED' | 'VOIDED';
  purchase_units: {
    reference_id: string;
    amount: PayPalAmount;
    custom_id?: string;
    invoice_id?: string;
    description?: string;
    payments?: { authorizations?: PayPalAuthorization[]; captures?: PayPalCapture[]; refunds?: PayPalRefund[] };
  }[];
  payer?: { email_address: string; payer_id: string };
  create_time: string;
  update_time: string;
  links: Link[];
}

export interface PayPalWebhookEvent {
  id: string;
  event_version: '1.0';
  create_time: string;
  resource_type: string;
  resource_version: '2.0';
  event_type: string;
  summary: string;
  resource: unknown;
}
