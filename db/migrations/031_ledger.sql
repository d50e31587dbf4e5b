-- The double-entry ledger (issue 16; docs/ledger.md explains every rule below, api/src/ledger/ the
-- TypeScript side). Modelled on TigerBeetle: accounts carry four running totals (pending and posted
-- debits and credits) and balance limits as flags; transfers are immutable and hash-chained; a
-- pending transfer (a hold) is resolved at most once by a later transfer naming it (post, void or
-- expire). Amounts are bigint minor units of one ISO currency.
--
-- Who writes: nobody but the SECURITY DEFINER functions at the end. A payment runs in the customer's
-- or the shop's tenant transaction (role clutch_app) and moves money between two tenants' accounts
-- (the customer's wallet and the shop's payable, or the shop's and the platform's): row-level
-- security would rightly hide the other side from that transaction. The functions run as the
-- migrating owner (member of clutch_system), check what a ledger must check (accounts, currencies,
-- limits, holds) and nothing about who the caller is: that is the calling service's policy decision,
-- made before it calls. clutch_app gets EXECUTE on them and SELECT on accounts and postings under
-- row-level security (their holder's tenant; a confined owner of the consumer tenant only their own),
-- and no INSERT, UPDATE or DELETE on any ledger table.

CREATE TABLE ledger_accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  owner_user_id uuid,
  partner_id uuid,
  qualifier text,
  code text NOT NULL CHECK (code IN ('customer_wallet', 'shop_payable', 'provider_clearing', 'shop_cash',
    'platform_revenue', 'tax_payable', 'installment_receivable', 'payouts_in_transit')),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  debits_must_not_exceed_credits boolean NOT NULL DEFAULT false,
  credits_must_not_exceed_debits boolean NOT NULL DEFAULT false,
  debits_pending bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
  debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
  credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
  credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- The limits, enforced by the database on every change of the totals (the functions check them
  -- first, transfer by transfer, so one transfer over its limit fails alone; these are the last word).
  CONSTRAINT ledger_accounts_debits_limit
    CHECK (NOT debits_must_not_exceed_credits OR debits_pending + debits_posted <= credits_posted),
  CONSTRAINT ledger_accounts_credits_limit
    CHECK (NOT credits_must_not_exceed_debits OR credits_pending + credits_posted <= debits_posted),
  CONSTRAINT ledger_accounts_one_limit
    CHECK (NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)),
  -- One account per holder, code and currency; absent parts (NULL) count as equal.
  CONSTRAINT ledger_accounts_holder_key
    UNIQUE NULLS NOT DISTINCT (tenant_id, owner_user_id, partner_id, qualifier, code, currency)
);
CREATE INDEX ledger_accounts_owner_idx ON ledger_accounts (owner_user_id) WHERE owner_user_id IS NOT NULL;

-- Immutable once written. seq is the position in the hash chain (gapless from 1: only the
-- functions below append, one batch at a time under the chain head's row lock).
-- kind: posted | pending (a hold) | post_pending / void_pending / expire_pending (resolve pending_id).
CREATE TABLE ledger_transfers (
  id uuid PRIMARY KEY,
  seq bigint NOT NULL UNIQUE CHECK (seq > 0),
  debit_account_id uuid NOT NULL REFERENCES ledger_accounts (id),
  credit_account_id uuid NOT NULL REFERENCES ledger_accounts (id),
  amount bigint NOT NULL CHECK (amount > 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  reason text NOT NULL CHECK (reason <> ''),
  kind text NOT NULL CHECK (kind IN ('posted', 'pending', 'post_pending', 'void_pending', 'expire_pending')),
  -- No foreign key: ledger_apply finds the hold before it resolves it, and the unique index below
  -- is what makes "at most once" hold.
  pending_id uuid,
  timeout_seconds integer CHECK (timeout_seconds >= 0),
  timeout_at timestamptz,
  reference text,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
  hash bytea NOT NULL CHECK (octet_length(hash) = 32),
  CHECK (debit_account_id <> credit_account_id),
  CHECK ((kind IN ('post_pending', 'void_pending', 'expire_pending')) = (pending_id IS NOT NULL))
);
-- A hold is resolved at most once, by the database itself: a second post, void or expiry of the
-- same pending transfer cannot be inserted, whatever the application believed.
CREATE UNIQUE INDEX ledger_transfers_resolves_once ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX ledger_transfers_reference_idx ON ledger_transfers (reference) WHERE reference IS NOT NULL;

-- Two postings per transfer (the debit side negative, the credit side positive, same currency):
-- SELECT currency, sum(amount) FROM ledger_postings GROUP BY currency is 0 for every currency.
-- kind repeats the transfer's, so posted balances are sums over posted and post_pending postings.
-- tenant_id and owner_user_id are the account holder's, for row-level security. No foreign keys:
-- only ledger_apply writes postings, from the transfers it inserts in the same call (whose keys are
-- checked), and four more key checks per transfer would cost a third of the throughput; verify
-- checks that every transfer has its two postings and that they agree with the accounts.
CREATE TABLE ledger_postings (
  transfer_id uuid NOT NULL,
  account_id uuid NOT NULL,
  seq bigint NOT NULL,
  tenant_id text NOT NULL,
  owner_user_id uuid,
  currency char(3) NOT NULL,
  amount bigint NOT NULL CHECK (amount <> 0),
  kind text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (transfer_id, account_id)
);
CREATE INDEX ledger_postings_account_idx ON ledger_postings (account_id, seq DESC);

-- Holds not yet resolved that expire: what the sweeper (expirePending) looks at. Not a ledger
-- entry (entries are the transfers): a worklist, emptied as holds resolve.
CREATE TABLE ledger_open_pending (
  pending_id uuid PRIMARY KEY REFERENCES ledger_transfers (id),
  timeout_at timestamptz NOT NULL
);
CREATE INDEX ledger_open_pending_timeout_idx ON ledger_open_pending (timeout_at);

-- The chain head: one row, locked FOR UPDATE by every write batch. It serialises the ledger's
-- writers (so limits and "resolved at most once" are decided on committed state, READ COMMITTED)
-- and gives seq and prev_hash. Batching many transfers per lock keeps that fast (docs/ledger.md).
CREATE TABLE ledger_chain_head (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq bigint NOT NULL,
  hash bytea NOT NULL
);
INSERT INTO ledger_chain_head (id, seq, hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'));

-- Entries are immutable: UPDATE, DELETE and TRUNCATE are refused (statement level, so even a
-- statement matching no row). Only the owner may disable the trigger (verify's tamper test does).
CREATE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_transfers
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The bytes a transfer's hash covers (after the previous hash). Timestamps as epoch microseconds
-- and jsonb's own normalised text, so the same row always gives the same bytes.
CREATE FUNCTION ledger_canonical(
  id uuid, seq bigint, debit uuid, credit uuid, amount bigint, currency text, reason text, kind text,
  pending_id uuid, timeout_at timestamptz, reference text, metadata jsonb, created_at timestamptz
) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT convert_to(format('%s|%s|%s|%s|%s|%s|%L|%s|%L|%L|%L|%L|%s', id, seq, debit, credit, amount, currency,
    reason, kind, pending_id, (extract(epoch FROM timeout_at) * 1000000)::bigint, reference, metadata::text,
    (extract(epoch FROM created_at) * 1000000)::bigint), 'UTF8')
$$;

-- What a transfer's id stands for, to tell `exists` from `exists_with_different_fields`.
CREATE FUNCTION ledger_fingerprint(
  kind text, debit uuid, credit uuid, amount bigint, currency text, reason text, pending_id uuid,
  timeout_seconds integer, reference text, metadata jsonb
) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format('%L|%L|%L|%L|%L|%L|%L|%L|%L|%L', kind, debit, credit, amount, currency, reason, pending_id,
    timeout_seconds, reference, metadata::text)
$$;

-- Finds or opens an account; limits by code (customer wallets may not be overdrawn).
CREATE FUNCTION ledger_ensure_account(
  p_tenant text, p_owner uuid, p_partner uuid, p_qualifier text, p_code text, p_currency text
) RETURNS SETOF ledger_accounts
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO ledger_accounts (tenant_id, owner_user_id, partner_id, qualifier, code, currency,
                               debits_must_not_exceed_credits)
  VALUES (p_tenant, p_owner, p_partner, p_qualifier, p_code, p_currency, p_code = 'customer_wallet')
  ON CONFLICT ON CONSTRAINT ledger_accounts_holder_key DO NOTHING;
  RETURN QUERY SELECT * FROM ledger_accounts a
   WHERE a.tenant_id = p_tenant AND a.owner_user_id IS NOT DISTINCT FROM p_owner
     AND a.partner_id IS NOT DISTINCT FROM p_partner AND a.qualifier IS NOT DISTINCT FROM p_qualifier
     AND a.code = p_code AND a.currency = p_currency;
END
$$;

-- Accounts by id, whoever holds them (the ledger's callers move money between tenants).
CREATE FUNCTION ledger_accounts_by_id(p_ids uuid[]) RETURNS SETOF ledger_accounts
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT * FROM ledger_accounts WHERE id = ANY (p_ids)
$$;

-- Transfers by id (history: the caller first reads the account's postings under its own
-- row-level security, then the transfers those postings belong to).
CREATE FUNCTION ledger_transfers_by_id(p_ids uuid[]) RETURNS SETOF ledger_transfers
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT * FROM ledger_transfers WHERE id = ANY (p_ids)
$$;

-- The transfer that resolved a hold (post, void or expiry), if one did.
CREATE FUNCTION ledger_resolution_of(p_pending uuid) RETURNS SETOF ledger_transfers
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT * FROM ledger_transfers WHERE pending_id = p_pending
$$;

-- Holds past their timeout, oldest first (the sweeper's worklist).
CREATE FUNCTION ledger_expired_pending(p_now timestamptz, p_limit integer) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT pending_id FROM ledger_open_pending WHERE timeout_at <= p_now ORDER BY timeout_at LIMIT p_limit
$$;

-- One batch of operations, numbered from 1 (ledger_apply's input).
CREATE FUNCTION ledger_ops(ops jsonb)
RETURNS TABLE (ord integer, op text, id uuid, debit uuid, credit uuid, amount bigint, currency text, reason text,
               timeout_seconds integer, reference text, metadata jsonb, pending_id uuid)
LANGUAGE sql IMMUTABLE AS $$
  SELECT o.ord::integer, o.op, o.id, o.debit, o.credit, o.amount, o.currency, o.reason, o.timeout_seconds, o.reference,
         coalesce(o.metadata, '{}'), o.pending_id
    FROM ROWS FROM (jsonb_to_recordset(ops) AS (op text, id uuid, debit uuid, credit uuid, amount bigint, currency text,
           reason text, timeout_seconds integer, reference text, metadata jsonb, pending_id uuid))
         WITH ORDINALITY AS o (op, id, debit, credit, amount, currency, reason, timeout_seconds, reference, metadata,
           pending_id, ord)
$$;

-- Applies one batch of operations in order and answers one row per operation (ord from 1).
-- ops: jsonb array of {op: transfer|post|void|expire, id, debit, credit, amount, currency, reason,
-- timeout_seconds, reference, metadata, pending_id}. Each operation is decided against the totals
-- as the operations before it in the batch left them (so one transfer over its limit fails alone and
-- the others get their own answers), then the batch is written with a constant number of statements:
-- one INSERT of the transfers, one of the postings, one UPDATE of every touched account (a hot
-- account once per batch, however many transfers credit it), one of the chain head.
CREATE FUNCTION ledger_apply(ops jsonb, p_at timestamptz DEFAULT now())
RETURNS TABLE (r_ord integer, r_status text, t_id uuid, t_seq bigint, t_debit uuid, t_credit uuid, t_amount bigint,
               t_currency text, t_reason text, t_kind text, t_pending_id uuid, t_timeout_at timestamptz, t_reference text,
               t_metadata jsonb, t_created_at timestamptz, t_hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
-- Every lookup here is by key, a few hundred at most: index lookups. The planner cannot know how
-- many rows a jsonb batch or an array holds and would hash-join whole tables otherwise.
SET enable_hashjoin = off SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
  head_seq bigint;
  head_hash bytea;
  r record;
  -- touched accounts, in id order, with their running totals
  a_id uuid[];
  a_cur text[];
  a_dl boolean[];
  a_cl boolean[];
  a_dp bigint[];
  a_dpo bigint[];
  a_cp bigint[];
  a_cpo bigint[];
  a_tenant text[];
  a_owner uuid[];
  a_changed boolean[];
  a_index jsonb;
  -- transfers to write
  n_id uuid[] := '{}';
  n_seq bigint[] := '{}';
  n_ord integer[] := '{}';
  n_di integer[] := '{}';
  n_ci integer[] := '{}';
  n_debit uuid[] := '{}';
  n_credit uuid[] := '{}';
  n_amount bigint[] := '{}';
  n_cur text[] := '{}';
  n_reason text[] := '{}';
  n_kind text[] := '{}';
  n_pending uuid[] := '{}';
  n_tsec integer[] := '{}';
  n_tat timestamptz[] := '{}';
  n_ref text[] := '{}';
  n_meta jsonb[] := '{}';
  n_prev bytea[] := '{}';
  n_hash bytea[] := '{}';
  n_fp text[] := '{}';
  -- answers
  res_status text[] := '{}';
  res_id uuid[] := '{}';
  -- one operation
  st text;
  k text;
  di integer;
  ci integer;
  amt bigint;
  fp text;
  pos integer;
  rsn text;
  released bigint;
  t_at timestamptz;
  h bytea;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'ledger writes need READ COMMITTED (this transaction is %)', current_setting('transaction_isolation');
  END IF;
  SELECT c.seq, c.hash INTO head_seq, head_hash FROM ledger_chain_head c WHERE c.id FOR UPDATE;

  -- Every account an operation touches (its own or its hold's), read once, in id order; a_index
  -- maps an account id to its place in the arrays (a jsonb object: a binary search, not a scan).
  SELECT array_agg(a.id ORDER BY a.id), array_agg(a.currency::text ORDER BY a.id),
         array_agg(a.debits_must_not_exceed_credits ORDER BY a.id), array_agg(a.credits_must_not_exceed_debits ORDER BY a.id),
         array_agg(a.debits_pending ORDER BY a.id), array_agg(a.debits_posted ORDER BY a.id),
         array_agg(a.credits_pending ORDER BY a.id), array_agg(a.credits_posted ORDER BY a.id),
         array_agg(a.tenant_id ORDER BY a.id), array_agg(a.owner_user_id ORDER BY a.id),
         array_agg(false ORDER BY a.id)
    INTO a_id, a_cur, a_dl, a_cl, a_dp, a_dpo, a_cp, a_cpo, a_tenant, a_owner, a_changed
    FROM ledger_accounts a
   WHERE a.id = ANY (ARRAY(
           SELECT o.debit FROM ledger_ops(ops) o WHERE o.debit IS NOT NULL
           UNION SELECT o.credit FROM ledger_ops(ops) o WHERE o.credit IS NOT NULL
           UNION SELECT x FROM ledger_ops(ops) o,
                 LATERAL (SELECT ARRAY[p.debit_account_id, p.credit_account_id] AS ids FROM ledger_transfers p
                           WHERE p.id = o.pending_id) p, unnest(p.ids) AS x));
  a_id := coalesce(a_id, '{}');
  SELECT coalesce(jsonb_object_agg(u.id::text, u.i), '{}') INTO a_index FROM unnest(a_id) WITH ORDINALITY AS u (id, i);

  FOR r IN
    SELECT o.*, e.id IS NOT NULL AS ex, row_number() OVER (PARTITION BY o.id ORDER BY o.ord) > 1 AS again,
           count(*) OVER (PARTITION BY o.id) > 1 AS repeated,
           CASE WHEN e.id IS NOT NULL THEN ledger_fingerprint(e.kind, e.debit_account_id, e.credit_account_id, e.amount,
             e.currency, e.reason, e.pending_id, e.timeout_seconds, e.reference, e.metadata) END AS ex_fp,
           p.id AS p_id, p.kind AS p_kind, p.debit_account_id AS p_debit, p.credit_account_id AS p_credit,
           p.amount AS p_amount, p.currency AS p_currency, p.timeout_at AS p_timeout_at,
           (SELECT x.kind FROM ledger_transfers x WHERE x.pending_id = o.pending_id) AS p_resolved,
           (a_index ->> coalesce(p.debit_account_id, o.debit)::text)::integer AS di,
           (a_index ->> coalesce(p.credit_account_id, o.credit)::text)::integer AS ci
      FROM ledger_ops(ops) o
      LEFT JOIN ledger_transfers e ON e.id = o.id
      LEFT JOIN ledger_transfers p ON p.id = o.pending_id
     ORDER BY o.ord
  LOOP
    st := NULL;
    di := r.di;
    ci := r.ci;
    IF r.op = 'transfer' THEN
      k := CASE WHEN r.timeout_seconds IS NULL THEN 'posted' ELSE 'pending' END;
      amt := r.amount;
      rsn := r.reason;
      fp := CASE WHEN r.ex OR r.repeated THEN ledger_fingerprint(k, r.debit, r.credit, r.amount, r.currency, rsn, NULL,
                                                                 r.timeout_seconds, r.reference, r.metadata) END;
    ELSE
      k := r.op || '_pending';
      amt := CASE WHEN r.op = 'post' THEN coalesce(r.amount, r.p_amount) ELSE r.p_amount END;
      rsn := coalesce(r.reason, k);
      fp := CASE WHEN r.ex OR r.repeated THEN ledger_fingerprint(k, r.p_debit, r.p_credit, amt, r.p_currency, rsn,
                                                                 r.pending_id, NULL, NULL, '{}'::jsonb) END;
    END IF;

    -- Idempotency first: an id seen before (stored, or earlier in this batch) moves nothing again.
    pos := CASE WHEN r.again THEN array_position(n_id, r.id) END;
    IF r.ex THEN
      st := CASE WHEN r.ex_fp = fp THEN 'exists' ELSE 'exists_with_different_fields' END;
    ELSIF pos IS NOT NULL THEN
      st := CASE WHEN n_fp[pos] = fp THEN 'exists' ELSE 'exists_with_different_fields' END;
    ELSIF r.op = 'transfer' THEN
      IF amt IS NULL OR amt <= 0 THEN st := 'invalid_amount';
      ELSIF r.debit = r.credit THEN st := 'accounts_must_differ';
      ELSIF di IS NULL OR ci IS NULL THEN st := 'account_not_found';
      ELSIF a_cur[di] <> r.currency OR a_cur[ci] <> r.currency THEN st := 'currency_mismatch';
      END IF;
    ELSE
      IF r.p_id IS NULL OR r.p_kind <> 'pending' THEN st := 'pending_not_found';
      ELSIF r.p_resolved IS NOT NULL OR r.pending_id = ANY (n_pending) THEN
        st := CASE coalesce(r.p_resolved, n_kind[array_position(n_pending, r.pending_id)])
                WHEN 'post_pending' THEN 'pending_already_posted'
                WHEN 'void_pending' THEN 'pending_already_voided'
                ELSE 'pending_expired' END;
      ELSIF r.op = 'expire' AND (r.p_timeout_at IS NULL OR r.p_timeout_at > p_at) THEN st := 'pending_not_found';
      ELSIF r.op <> 'expire' AND r.p_timeout_at IS NOT NULL AND r.p_timeout_at <= p_at THEN st := 'pending_expired';
      ELSIF amt IS NULL OR amt <= 0 THEN st := 'invalid_amount';
      ELSIF amt > r.p_amount THEN st := 'amount_exceeds_pending';
      END IF;
    END IF;

    IF st IS NULL THEN
      -- The move, on the running totals; then the limits of both accounts.
      released := CASE WHEN r.op = 'transfer' THEN 0 ELSE r.p_amount END;
      a_dp[di] := a_dp[di] - released + CASE WHEN k = 'pending' THEN amt ELSE 0 END;
      a_cp[ci] := a_cp[ci] - released + CASE WHEN k = 'pending' THEN amt ELSE 0 END;
      IF k IN ('posted', 'post_pending') THEN
        a_dpo[di] := a_dpo[di] + amt;
        a_cpo[ci] := a_cpo[ci] + amt;
      END IF;
      IF a_dl[di] AND a_dp[di] + a_dpo[di] > a_cpo[di] OR a_dl[ci] AND a_dp[ci] + a_dpo[ci] > a_cpo[ci] THEN
        st := 'exceeds_credits';
      ELSIF a_cl[di] AND a_cp[di] + a_cpo[di] > a_dpo[di] OR a_cl[ci] AND a_cp[ci] + a_cpo[ci] > a_dpo[ci] THEN
        st := 'exceeds_debits';
      END IF;
      IF st IS NOT NULL THEN
        a_dp[di] := a_dp[di] + released - CASE WHEN k = 'pending' THEN amt ELSE 0 END;
        a_cp[ci] := a_cp[ci] + released - CASE WHEN k = 'pending' THEN amt ELSE 0 END;
        IF k IN ('posted', 'post_pending') THEN
          a_dpo[di] := a_dpo[di] - amt;
          a_cpo[ci] := a_cpo[ci] - amt;
        END IF;
      END IF;
    END IF;

    IF st IS NULL THEN
      st := 'created';
      a_changed[di] := true;
      a_changed[ci] := true;
      head_seq := head_seq + 1;
      t_at := CASE WHEN k = 'pending' AND r.timeout_seconds > 0 THEN p_at + make_interval(secs => r.timeout_seconds) END;
      h := sha256(head_hash || ledger_canonical(r.id, head_seq, a_id[di], a_id[ci], amt, a_cur[di], rsn, k,
                                                 r.pending_id, t_at, CASE WHEN r.op = 'transfer' THEN r.reference END,
                                                 CASE WHEN r.op = 'transfer' THEN r.metadata ELSE '{}'::jsonb END, p_at));
      n_id := n_id || r.id;
      n_seq := n_seq || head_seq;
      n_ord := n_ord || r.ord;
      n_di := n_di || di;
      n_ci := n_ci || ci;
      n_debit := n_debit || a_id[di];
      n_credit := n_credit || a_id[ci];
      n_amount := n_amount || amt;
      n_cur := n_cur || a_cur[di];
      n_reason := n_reason || rsn;
      n_kind := n_kind || k;
      n_pending := n_pending || r.pending_id;
      n_tsec := n_tsec || CASE WHEN r.op = 'transfer' THEN r.timeout_seconds END;
      n_tat := n_tat || t_at;
      n_ref := n_ref || CASE WHEN r.op = 'transfer' THEN r.reference END;
      n_meta := n_meta || CASE WHEN r.op = 'transfer' THEN r.metadata ELSE '{}'::jsonb END;
      n_prev := n_prev || head_hash;
      n_hash := n_hash || h;
      n_fp := n_fp || fp;
      head_hash := h;
      res_id := res_id || r.id;
    ELSIF st IN ('exists', 'exists_with_different_fields') THEN
      res_id := res_id || r.id;
    ELSE
      res_id := res_id || NULL::uuid;
    END IF;
    res_status := res_status || st;
  END LOOP;

  IF cardinality(n_id) > 0 THEN
    INSERT INTO ledger_transfers (id, seq, debit_account_id, credit_account_id, amount, currency, reason, kind,
                                  pending_id, timeout_seconds, timeout_at, reference, metadata, created_at, prev_hash, hash)
    SELECT u.id, u.seq, u.debit, u.credit, u.amount, u.cur, u.reason, u.kind, u.pending, u.tsec, u.tat, u.ref, u.meta,
           p_at, u.prev, u.hash
      FROM unnest(n_id, n_seq, n_debit, n_credit, n_amount, n_cur, n_reason, n_kind, n_pending, n_tsec, n_tat, n_ref,
                  n_meta, n_prev, n_hash)
           AS u (id, seq, debit, credit, amount, cur, reason, kind, pending, tsec, tat, ref, meta, prev, hash);

    INSERT INTO ledger_postings (transfer_id, account_id, seq, tenant_id, owner_user_id, currency, amount, kind, created_at)
    SELECT u.id, a_id[u.ai], u.seq, a_tenant[u.ai], a_owner[u.ai], u.cur, u.sign * u.amount, u.kind, p_at
      FROM unnest(n_id || n_id, n_seq || n_seq, n_di || n_ci, n_amount || n_amount, n_cur || n_cur, n_kind || n_kind,
                  array_fill(-1, ARRAY[cardinality(n_id)]) || array_fill(1, ARRAY[cardinality(n_id)]))
           AS u (id, seq, ai, amount, cur, kind, sign);

    INSERT INTO ledger_open_pending (pending_id, timeout_at)
    SELECT u.id, u.tat FROM unnest(n_id, n_tat) AS u (id, tat) WHERE u.tat IS NOT NULL;
    DELETE FROM ledger_open_pending WHERE pending_id = ANY (n_pending);

    UPDATE ledger_accounts a
       SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo
      FROM unnest(a_id, a_dp, a_dpo, a_cp, a_cpo, a_changed) AS v (id, dp, dpo, cp, cpo, changed)
     WHERE a.id = v.id AND v.changed;

    UPDATE ledger_chain_head c SET seq = head_seq, hash = head_hash WHERE c.id;
  END IF;

  -- Created transfers answer from the arrays; only the others (exists, refusals) look anything up.
  RETURN QUERY
    SELECT * FROM (
      SELECT u.ord, 'created'::text, u.id, u.seq, u.debit, u.credit, u.amount, u.cur, u.reason, u.kind, u.pending,
             u.tat, u.ref, u.meta, p_at, encode(u.hash, 'hex')
        FROM unnest(n_ord, n_id, n_seq, n_debit, n_credit, n_amount, n_cur, n_reason, n_kind, n_pending, n_tat, n_ref,
                    n_meta, n_hash)
             AS u (ord, id, seq, debit, credit, amount, cur, reason, kind, pending, tat, ref, meta, hash)
      UNION ALL
      SELECT x.ord::integer, x.status, t.id, t.seq, t.debit_account_id, t.credit_account_id, t.amount, t.currency::text,
             t.reason, t.kind, t.pending_id, t.timeout_at, t.reference, t.metadata, t.created_at, encode(t.hash, 'hex')
        FROM unnest(res_status, res_id) WITH ORDINALITY AS x (status, tid, ord)
        LEFT JOIN ledger_transfers t ON t.id = x.tid
       WHERE x.status <> 'created'
    ) AS answers
    ORDER BY 1;
END
$$;

-- Recomputes the chain and the totals (clutch-admin ledger verify; api/src/ledger/verify.ts).
-- One range of the chain: each transfer's recomputed hash and whether it links to the one before.
CREATE FUNCTION ledger_verify_chain(p_from bigint, p_to bigint)
RETURNS TABLE (seq bigint, id uuid, hash_ok boolean, link_ok boolean, prev_hash bytea, hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.seq, t.id,
         t.hash = sha256(t.prev_hash || ledger_canonical(t.id, t.seq, t.debit_account_id, t.credit_account_id, t.amount,
           t.currency::text, t.reason, t.kind, t.pending_id, t.timeout_at, t.reference, t.metadata, t.created_at)),
         t.prev_hash = coalesce(lag(t.hash) OVER (ORDER BY t.seq),
           (SELECT b.hash FROM ledger_transfers b WHERE b.seq = p_from - 1), decode(repeat('00', 32), 'hex')),
         t.prev_hash, t.hash
    FROM ledger_transfers t
   WHERE t.seq BETWEEN p_from AND p_to
   ORDER BY t.seq
$$;

-- Accounts whose stored totals differ from the sums of their transfers, or whose postings disagree.
CREATE FUNCTION ledger_verify_totals()
RETURNS TABLE (account_id uuid, problem text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH moves AS (
    -- the pending part of a hold, and what its resolution takes back
    SELECT t.debit_account_id AS account, 'd' AS side,
           CASE WHEN t.kind = 'pending' THEN t.amount ELSE 0 END
             - CASE WHEN t.kind <> 'pending' AND t.kind <> 'posted' THEN p.amount ELSE 0 END AS pending,
           CASE WHEN t.kind IN ('posted', 'post_pending') THEN t.amount ELSE 0 END AS posted
      FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
    UNION ALL
    SELECT t.credit_account_id, 'c',
           CASE WHEN t.kind = 'pending' THEN t.amount ELSE 0 END
             - CASE WHEN t.kind <> 'pending' AND t.kind <> 'posted' THEN p.amount ELSE 0 END,
           CASE WHEN t.kind IN ('posted', 'post_pending') THEN t.amount ELSE 0 END
      FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
  ), sums AS (
    SELECT account,
           coalesce(sum(pending) FILTER (WHERE side = 'd'), 0) AS dp, coalesce(sum(posted) FILTER (WHERE side = 'd'), 0) AS dpo,
           coalesce(sum(pending) FILTER (WHERE side = 'c'), 0) AS cp, coalesce(sum(posted) FILTER (WHERE side = 'c'), 0) AS cpo
      FROM moves GROUP BY account
  ), posted AS (
    SELECT account_id AS account, sum(amount) AS net
      FROM ledger_postings WHERE kind IN ('posted', 'post_pending') GROUP BY account_id
  )
  SELECT a.id, format('account %s: stored totals (debits pending %s, posted %s; credits pending %s, posted %s) '
                      'differ from its transfers (%s, %s; %s, %s)', a.id, a.debits_pending, a.debits_posted,
                      a.credits_pending, a.credits_posted, coalesce(s.dp, 0), coalesce(s.dpo, 0), coalesce(s.cp, 0),
                      coalesce(s.cpo, 0))
    FROM ledger_accounts a LEFT JOIN sums s ON s.account = a.id
   WHERE (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
         IS DISTINCT FROM (coalesce(s.dp, 0), coalesce(s.dpo, 0), coalesce(s.cp, 0), coalesce(s.cpo, 0))
  UNION ALL
  SELECT a.id, format('account %s: posted balance %s differs from its postings (%s)', a.id,
                      a.credits_posted - a.debits_posted, coalesce(p.net, 0))
    FROM ledger_accounts a LEFT JOIN posted p ON p.account = a.id
   WHERE a.credits_posted - a.debits_posted <> coalesce(p.net, 0)
  UNION ALL
  SELECT NULL::uuid, format('postings in %s sum to %s, not 0', currency, sum(amount))
    FROM ledger_postings GROUP BY currency HAVING sum(amount) <> 0
  UNION ALL
  SELECT NULL::uuid, format('transfer %s has %s postings, not 2', t.id, count(p.transfer_id))
    FROM ledger_transfers t LEFT JOIN ledger_postings p ON p.transfer_id = t.id
   GROUP BY t.id HAVING count(p.transfer_id) <> 2
$$;

ALTER TABLE ledger_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ledger_accounts USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON ledger_accounts TO clutch_system USING (true) WITH CHECK (true);
-- A confined owner of the consumer tenant (rbac_confined_owner(), migration 023) sees only their own.
CREATE POLICY confined_owner ON ledger_accounts AS RESTRICTIVE FOR SELECT TO clutch_app
  USING ((SELECT rbac_confined_owner()) IS NULL OR owner_user_id = (SELECT rbac_confined_owner()));

ALTER TABLE ledger_postings ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_postings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ledger_postings USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON ledger_postings TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY confined_owner ON ledger_postings AS RESTRICTIVE FOR SELECT TO clutch_app
  USING ((SELECT rbac_confined_owner()) IS NULL OR owner_user_id = (SELECT rbac_confined_owner()));

-- Transfers, holds and the head have no tenant (a transfer joins two); clutch_app reads them only
-- through the functions above.
REVOKE ALL ON ledger_accounts, ledger_transfers, ledger_postings, ledger_open_pending, ledger_chain_head FROM PUBLIC;
GRANT SELECT ON ledger_accounts, ledger_postings TO clutch_app;
REVOKE ALL ON FUNCTION ledger_ensure_account(text, uuid, uuid, text, text, text), ledger_accounts_by_id(uuid[]),
  ledger_transfers_by_id(uuid[]), ledger_resolution_of(uuid), ledger_expired_pending(timestamptz, integer),
  ledger_apply(jsonb, timestamptz), ledger_ops(jsonb),
  ledger_verify_chain(bigint, bigint), ledger_verify_totals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_ensure_account(text, uuid, uuid, text, text, text), ledger_accounts_by_id(uuid[]),
  ledger_transfers_by_id(uuid[]), ledger_resolution_of(uuid), ledger_expired_pending(timestamptz, integer),
  ledger_apply(jsonb, timestamptz) TO clutch_app;

-- The wallet domain's own record of a transfer between wallets (api/src/wallet): who sent what to
-- whom, and the risk assessment that let it through. The money itself moved in ledger_transfers
-- (same id); this row is what the daily velocity limits count. The sender's tenant holds it.
CREATE TABLE wallet_transfers (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL,
  sender_user_id uuid,
  from_account_id uuid NOT NULL REFERENCES ledger_accounts (id),
  to_account_id uuid NOT NULL REFERENCES ledger_accounts (id),
  recipient_tenant_id text NOT NULL,
  recipient_user_id uuid,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  note text CHECK (length(note) <= 200),
  risk_assessment_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallet_transfers_velocity_idx ON wallet_transfers (from_account_id, created_at DESC);

ALTER TABLE wallet_transfers ENABLE ROW LEVEL SECURITY;
ALTER TABLE wallet_transfers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wallet_transfers USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON wallet_transfers TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY confined_owner ON wallet_transfers AS RESTRICTIVE FOR SELECT TO clutch_app
  USING ((SELECT rbac_confined_owner()) IS NULL OR sender_user_id = (SELECT rbac_confined_owner()));
REVOKE ALL ON wallet_transfers FROM PUBLIC;
GRANT SELECT ON wallet_transfers TO clutch_app;
