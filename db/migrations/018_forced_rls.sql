-- Row-level security forced on every tenant table, the owner included (issue 13).
--
-- clutch_system is the platform's own unconfined access (ingest, administration, migrations): a
-- NOLOGIN role the migrating owner is a member of, named by a `system_access` policy on every tenant
-- table. Tenant work runs `SET LOCAL ROLE clutch_app`, which is not a member, so only
-- `tenant_isolation` applies to it. With FORCE, an owner that is not a member (or a table without
-- the policy) sees nothing rather than everything.
--
-- The owner need not be a superuser (docs/security.md, "Database roles"): where a DBA created
-- clutch_app and clutch_system and granted both to it, this needs no CREATEROLE; otherwise the owner
-- creates and grants them itself, which needs CREATEROLE.
--
-- Which tables: every table of the public schema with row-level security enabled (each table with a
-- tenant_id column, and tenants), taken from the catalogue so the TimescaleDB path works in either
-- order: where migration 007 ran first, samples is a hypertable without row-level security and the
-- rollups are continuous aggregates (views), and this leaves them alone. Today that is alerts,
-- api_keys, audit_log, data_quality_events, dead_letters, device_commands, device_credentials,
-- devices, dtc_events, dtc_reports, idempotency_keys, locations, outbox_events, sample_rollups_1m,
-- samples, tenants, vehicles. Tables of later migrations (020 onwards) declare the same themselves;
-- db/src/rls-catalogue.test.ts checks all of them.
--
-- One exception: `samples` gets the policy but not FORCE. Ingest bulk-loads it with COPY, and
-- PostgreSQL refuses COPY FROM into a table whose row-level security applies to the copying role
-- ("COPY FROM not supported with row-level security"), which FORCE would make true of the owner.
-- Tenants still read it under `tenant_isolation` only. Partitions (samples_YYYY_MM, created at run
-- time by clutch_ensure_sample_partitions) need nothing: clutch_app has no privilege on them, and
-- reads through the parent get the parent's policies.

DO $$
BEGIN
  -- Checked first: CREATE ROLE without CREATEROLE fails on privileges before it sees the role exists.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clutch_system') THEN
    BEGIN
      CREATE ROLE clutch_system NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- created at the same moment by a migration of another database
    END;
  END IF;
  -- USAGE: the membership must be inherited, or the policies naming clutch_system do not apply.
  -- (A superuser counts as a member of every role: nothing to grant.)
  IF NOT pg_has_role(current_user, 'clutch_system', 'USAGE') THEN
    GRANT clutch_system TO CURRENT_USER;
  END IF;
  -- Tenant scopes `SET LOCAL ROLE clutch_app` (db/src/tenant-scope.ts), which needs membership.
  IF NOT pg_has_role(current_user, 'clutch_app', 'MEMBER') THEN
    GRANT clutch_app TO CURRENT_USER;
  END IF;
  IF NOT pg_has_role(current_user, 'clutch_system', 'USAGE') THEN
    RAISE EXCEPTION 'role % is a member of clutch_system but does not inherit its privileges', current_user
      USING HINT = 'ALTER ROLE ' || quote_ident(current_user) || ' INHERIT';
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE EXCEPTION 'role % cannot create or grant clutch_app and clutch_system: %', current_user, SQLERRM
    USING HINT = 'as a superuser, once per server: CREATE ROLE clutch_app NOLOGIN; CREATE ROLE clutch_system NOLOGIN; GRANT clutch_app, clutch_system TO '
      || quote_ident(current_user) || ';';
END
$$;

DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relrowsecurity
     ORDER BY c.relname
  LOOP
    IF t.relname <> 'samples' THEN
      EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.relname);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_policies WHERE schemaname = 'public' AND tablename = t.relname AND policyname = 'system_access') THEN
      EXECUTE format('CREATE POLICY system_access ON %I TO clutch_system USING (true) WITH CHECK (true)', t.relname);
    END IF;
  END LOOP;
END
$$;
