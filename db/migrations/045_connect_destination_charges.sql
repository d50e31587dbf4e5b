-- Connect destination charges (issue 16, items 1 and 5; docs/payments-flows.md, "Destination
-- charges"). A card payment to a shop with an active Stripe Connect account is made as a destination
-- charge: Stripe passes the shop's share to the connected account at capture and keeps the
-- commission (application fee) in the platform's balance. Shops without one are paid weekly from
-- shop_payable as before.
--
-- connect_account: the connected account the charge was created for (fixed at authorisation; Stripe
--   cannot change a PaymentIntent's destination later). NULL: an ordinary charge.
-- application_fee_minor: the fee (commission + VAT on it) the capture asked Stripe to keep, written
--   before the capture call. The commission recorded for the capture is this amount whatever the
--   rates say when the capture's answer (or its webhook) is applied, so the books match what Stripe
--   did.
ALTER TABLE payments
  ADD COLUMN connect_account text CHECK (length(connect_account) BETWEEN 1 AND 255),
  ADD COLUMN application_fee_minor bigint CHECK (application_fee_minor >= 0),
  ADD CONSTRAINT payments_application_fee_check
    CHECK (application_fee_minor IS NULL OR (connect_account IS NOT NULL AND application_fee_minor <= amount_minor));

-- The shop's active Stripe account for a destination charge. The payer's transaction (tenant-confined
-- to the customer) cannot read the shop's partner_payout_accounts row; this returns only the account
-- id of a listed partner's active account, which the charge sends to Stripe anyway.
CREATE FUNCTION partner_connect_account(p_partner uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT a.account_ref FROM partner_payout_accounts a
   WHERE a.partner_id = p_partner AND a.provider = 'stripe' AND a.status = 'active'
$$;
REVOKE ALL ON FUNCTION partner_connect_account(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION partner_connect_account(uuid) TO clutch_app;

-- A destination charge's capture is the shop's payout for that payment: Stripe transferred the
-- shop's share to its connected account then. It is recorded as a `paid` payout (run key
-- `connect:<payment>:<capture seq>`, once; transfer_ref the PaymentIntent the transfer came from)
-- covering that capture's commission, so the payouts page and its statement show it like a weekly
-- one. SECURITY DEFINER: the capture is recorded in whoever's transaction applies it (the shop's, the
-- customer's verify, a job) and tenants may not write payouts; this writes only that one row, for a
-- payment of the caller's own side. Returns the payout's id.
CREATE FUNCTION payout_record_connect(
  p_payment uuid, p_seq integer, p_amount bigint, p_ledger_transfer uuid, p_at timestamptz, p_actor text
) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  confined text := nullif(current_setting('app.tenant_id', true), '');
  pay payments%ROWTYPE;
  run text := 'connect:' || p_payment || ':' || p_seq;
  payout uuid;
BEGIN
  SELECT * INTO pay FROM payments WHERE id = p_payment;
  IF NOT FOUND OR pay.connect_account IS NULL OR pay.partner_id IS NULL THEN
    RAISE EXCEPTION 'payout_record_connect: payment % is no destination charge', p_payment USING ERRCODE = '22023';
  END IF;
  IF confined IS NOT NULL AND confined NOT IN (pay.tenant_id, pay.customer_tenant_id) THEN
    RAISE EXCEPTION 'payout_record_connect: tenant % may not record payment %', confined, p_payment
      USING ERRCODE = '42501';
  END IF;
  INSERT INTO payouts (tenant_id, partner_id, run_key, provider, account_ref, amount_minor, currency, status,
                       transfer_ref, ledger_transfer_id, period_start, period_end, created_by, completed_at)
  VALUES (pay.tenant_id, pay.partner_id, run, 'stripe', pay.connect_account, p_amount, pay.currency, 'paid',
          pay.provider_ref, p_ledger_transfer, p_at, p_at, p_actor, p_at)
  ON CONFLICT (run_key) DO NOTHING;
  SELECT id INTO payout FROM payouts WHERE run_key = run;
  UPDATE commissions SET payout_id = payout
   WHERE capture_ref = p_payment || ':' || p_seq AND payout_id IS NULL;
  RETURN payout;
END
$$;
REVOKE ALL ON FUNCTION payout_record_connect(uuid, integer, bigint, uuid, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION payout_record_connect(uuid, integer, bigint, uuid, timestamptz, text) TO clutch_app;

-- Defaulted installment plans (issue 16, item 4; docs/installments.md, "After a default"): the
-- customer pays what is owed (the plan becomes `paid`, the suspension it caused is lifted), or
-- platform staff write the receivable off to bad debt (the plan stays `defaulted`, marked written
-- off; its open installments are waived), or lift the suspension by hand. Both staff actions are
-- audited and need a recent second factor (the routes).
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_code_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_code_check
  CHECK (code IN ('customer_wallet', 'shop_payable', 'provider_clearing', 'shop_cash', 'platform_revenue',
                  'tax_payable', 'installment_receivable', 'payouts_in_transit', 'bad_debt'));

ALTER TABLE installment_plans
  ADD COLUMN written_off_at timestamptz,
  ADD COLUMN written_off_minor bigint CHECK (written_off_minor >= 0),
  ADD COLUMN written_off_by text CHECK (length(written_off_by) BETWEEN 1 AND 200),
  ADD COLUMN write_off_reason text CHECK (length(write_off_reason) BETWEEN 1 AND 500),
  ADD CONSTRAINT installment_plans_write_off_check CHECK (
    (written_off_at IS NULL) = (written_off_minor IS NULL)
    AND (written_off_at IS NULL) = (written_off_by IS NULL)
    AND (written_off_at IS NULL) = (write_off_reason IS NULL)
    AND (written_off_at IS NULL OR status = 'defaulted'));

-- Lifts the suspension a plan's default caused once that plan is paid. The customer settles in its
-- own transaction and may not write customer_standing; this does only that one thing, only for a
-- paid plan, and only on the caller's own tenant. While another plan of the customer is still in
-- default the suspension stays, naming that plan. Returns the standing after the call.
CREATE FUNCTION installment_standing_restore(p_plan uuid) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  confined text := nullif(current_setting('app.tenant_id', true), '');
  plan installment_plans%ROWTYPE;
  other uuid;
BEGIN
  SELECT * INTO plan FROM installment_plans WHERE id = p_plan;
  IF NOT FOUND OR plan.status <> 'paid' THEN
    RETURN NULL;
  END IF;
  IF confined IS NOT NULL AND confined <> plan.customer_tenant_id THEN
    RAISE EXCEPTION 'installment_standing_restore: tenant % may not restore tenant %', confined,
      plan.customer_tenant_id USING ERRCODE = '42501';
  END IF;
  SELECT o.id INTO other FROM installment_plans o
   WHERE o.customer_tenant_id = plan.customer_tenant_id
     AND o.customer_user_id IS NOT DISTINCT FROM plan.customer_user_id
     AND o.status = 'defaulted' AND o.id <> p_plan
   ORDER BY o.closed_at LIMIT 1;
  IF other IS NOT NULL THEN
    UPDATE customer_standing SET plan_id = other, updated_at = now()
     WHERE plan_id = p_plan AND status = 'suspended';
    RETURN 'suspended';
  END IF;
  UPDATE customer_standing SET status = 'good', reason = 'installment plan ' || p_plan || ' paid', updated_at = now()
   WHERE plan_id = p_plan AND status = 'suspended';
  RETURN 'good';
END
$$;
REVOKE ALL ON FUNCTION installment_standing_restore(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION installment_standing_restore(uuid) TO clutch_app;
