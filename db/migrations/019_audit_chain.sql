-- The audit log becomes append-only and hash-chained (issue 14, item 7).
--
-- Who, what, where, outcome: `ip` (the client address, when there was a request) and `outcome`
-- (success | failure | denied) join actor, action, target and tenant. Rows recorded before this
-- migration were committed work, so they are `success`.
--
-- Append-only: `clutch_app` may only read its tenant's rows (no INSERT, UPDATE, DELETE, TRUNCATE),
-- and a trigger refuses UPDATE, DELETE and TRUNCATE to everyone, the owner included. What remains
-- trusted is DDL by the owner (it can drop the trigger, edit rows, re-create it): the hash chain is
-- what detects that after the fact.
--
-- The chain: every row stores its position `seq` (1, 2, 3, ... without gaps), `prev_hash` (the hash
-- of the row before it; 32 zero bytes for the first) and
--   hash = sha256(prev_hash || audit_log_canonical(row))
-- where the canonical encoding is the UTF-8 text of the JSON array
--   [id, at (UTC, microseconds, "YYYY-MM-DDTHH:MI:SS.ffffffZ"), tenant_id, actor, action, target,
--    ip (inet text), outcome, detail (jsonb text)]
-- (jsonb's text form is canonical: keys sorted, one spacing). The database computes it on insert,
-- under a transaction-scoped advisory lock, so appends from any number of processes form one chain;
-- the lock is held until the appending transaction ends, and each append reads the chain's head
-- after taking it (READ COMMITTED: a fresh snapshot per statement, which is why other isolation
-- levels are refused). Chain order is `seq`, not `id` or `at`: ids and timestamps are taken when a
-- transaction starts its insert, the position when it gets the lock. `clutch-audit verify`
-- (platform) walks the chain and names the first broken link; deleting the newest rows leaves a
-- shorter valid chain, which only comparing the head (`verify` prints it) with a copy kept
-- elsewhere reveals.

ALTER TABLE audit_log
  ADD COLUMN ip inet,
  ADD COLUMN outcome text NOT NULL DEFAULT 'success' CHECK (outcome IN ('success', 'failure', 'denied')),
  ADD COLUMN seq bigint,
  ADD COLUMN prev_hash bytea,
  ADD COLUMN hash bytea;

CREATE FUNCTION audit_log_canonical(r audit_log) RETURNS bytea
LANGUAGE sql STABLE AS $$
  SELECT convert_to(
    jsonb_build_array(
      r.id,
      to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      r.tenant_id,
      r.actor,
      r.action,
      r.target,
      r.ip::text,
      r.outcome,
      r.detail
    )::text,
    'UTF8'
  )
$$;

-- Existing rows, in the order they were written.
DO $$
DECLARE
  r audit_log;
  prev bytea := decode(repeat('00', 32), 'hex');
  n bigint := 0;
BEGIN
  FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
    n := n + 1;
    UPDATE audit_log SET seq = n, prev_hash = prev, hash = sha256(prev || audit_log_canonical(r))
      WHERE id = r.id
      RETURNING hash INTO prev;
  END LOOP;
END
$$;

ALTER TABLE audit_log
  ALTER COLUMN seq SET NOT NULL,
  ALTER COLUMN prev_hash SET NOT NULL,
  ALTER COLUMN hash SET NOT NULL,
  ADD CONSTRAINT audit_log_hash_length CHECK (octet_length(hash) = 32 AND octet_length(prev_hash) = 32);
-- One row per position: two appends that somehow read the same head fail instead of forking.
CREATE UNIQUE INDEX audit_log_seq_idx ON audit_log (seq);
-- Security reports filter by these.
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC);

-- SECURITY DEFINER: the head is read as the owner (a member of clutch_system, which sees every
-- tenant's rows), whoever appends. Whatever the writer put in seq, prev_hash and hash is replaced.
CREATE FUNCTION audit_log_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  head record;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'audit_log appends need READ COMMITTED (this transaction is %)',
      current_setting('transaction_isolation');
  END IF;
  PERFORM pg_advisory_xact_lock(727002); -- an arbitrary constant: the audit chain's lock
  SELECT seq, hash INTO head FROM audit_log ORDER BY seq DESC LIMIT 1;
  IF head IS NULL THEN
    NEW.seq := 1;
    NEW.prev_hash := decode(repeat('00', 32), 'hex');
  ELSE
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
  END IF;
  NEW.hash := sha256(NEW.prev_hash || audit_log_canonical(NEW));
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_append BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append();

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Statement-level: an UPDATE or DELETE is refused even when it matches no row.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

REVOKE ALL ON audit_log FROM PUBLIC;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_log FROM clutch_app;
GRANT SELECT ON audit_log TO clutch_app;
