-- Attacks on the SECURITY DEFINER run lifecycle, each played by an
-- unprivileged login role in its own session, with the outcome asserted:
--   1. caller code attached to staging (triggers, checks, defaults, index
--      expressions, rules, policies, a view in the table's place) never runs
--      with the owner's rights: the role stays what it was;
--   2. a sync role granted tenant A cannot take over, write to or finish a
--      run of tenant B (forged lock, forged setting, its own staging);
--   3. error texts do not tell another tenant's runs from runs that do not
--      exist;
--   4. a tenant grant follows the role, not its name;
--   5. reap_abandoned_runs() stays within the caller's tenants;
--   6. stored errors are bounded (bad_staged_row samples, numbers);
--   7. no planner statistics are gathered on tenant tables.
-- Lock squatting by a role with no grants is played in the isolation spec
-- lock_squatting (it needs two live sessions).

CREATE SCHEMA regress_atk;
CREATE OR REPLACE FUNCTION regress_atk.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT USAGE ON SCHEMA regress_atk TO PUBLIC;
GRANT EXECUTE ON FUNCTION regress_atk.try(text) TO PUBLIC;

SELECT current_user AS owner \gset
\set ta '00000000-0000-4000-8000-0000000000e1'
\set tb '00000000-0000-4000-8000-0000000000e2'
\set sel '{"policy_types": ["deviceConfiguration"]}'

CREATE ROLE regress_atk LOGIN;          -- sync role granted tenant A only
CREATE ROLE regress_atk_b LOGIN;        -- sync role of tenant B
CREATE ROLE regress_atk_nobody LOGIN;   -- no grants at all
SELECT inventory.grant_sync_role('regress_atk');
SELECT inventory.grant_sync_role('regress_atk_b');
SELECT inventory.grant_tenant_access('regress_atk', :'ta');
SELECT inventory.grant_tenant_access('regress_atk_b', :'tb');
-- What the attacker may do with its own role is not a concern; what matters
-- is whether anything ran as the extension owner.
CREATE FUNCTION regress_atk.escalated() RETURNS TABLE (role name, superuser boolean, createrole boolean)
    LANGUAGE sql AS $$
    SELECT rolname, rolsuper, rolcreaterole FROM pg_roles
     WHERE rolname IN ('regress_atk', 'regress_atk_b', 'regress_atk_nobody') ORDER BY 1 $$;

-- Tenant B has 200 items, synced by its own role.
\c - regress_atk_b
SELECT inventory.begin_sync_run(:'tb', :'sel') AS run_b1 \gset
INSERT INTO pg_temp.staged_items
SELECT 'deviceConfiguration', 'b-' || i, 'B item ' || i, '{}', NULL FROM generate_series(1, 200) i;
CALL inventory.apply_staged(:run_b1);
SELECT inventory.complete_policy_type(:run_b1, 'deviceConfiguration', 'complete', 1, 200);
SELECT inventory.finish_sync_run(:run_b1, 'succeeded');
-- B's next run is abandoned: its session ends without finishing it.
SELECT inventory.begin_sync_run(:'tb', :'sel') AS run_b2 \gset

--------------------------------------------------------------------------------
-- 1. Staging: the exploit of the report, then every variant of caller code.
--------------------------------------------------------------------------------
\c - regress_atk
SELECT inventory.begin_sync_run(:'ta', :'sel') AS run_a \gset
-- The staging tables belong to the extension owner: the caller can only insert.
SELECT regress_atk.try('CREATE TRIGGER t BEFORE INSERT ON pg_temp.staged_items FOR EACH ROW EXECUTE FUNCTION pg_catalog.suppress_redundant_updates_trigger()') AS add_trigger,
       regress_atk.try('ALTER TABLE pg_temp.staged_items ADD CHECK (external_id <> ''x'')') AS add_check,
       regress_atk.try('CREATE INDEX ON pg_temp.staged_items (lower(external_id))') AS add_index,
       regress_atk.try('CREATE RULE r AS ON INSERT TO pg_temp.staged_items DO INSTEAD NOTHING') AS add_rule,
       regress_atk.try('ALTER TABLE pg_temp.staged_items ENABLE ROW LEVEL SECURITY') AS add_rls,
       regress_atk.try('DROP TABLE pg_temp.inventory_pending') AS drop_work_table;
-- The exploit: DISCARD TEMP drops the staging tables, the caller makes its
-- own with a TRUNCATE trigger that asks for SUPERUSER when run as someone else.
DISCARD TEMP;
CREATE TEMP TABLE staged_items (policy_type text, external_id text, display_name text, meta_jsonb jsonb, content_hash text);
CREATE TEMP TABLE inventory_run_seen (policy_type text NOT NULL, item_id bigint NOT NULL);
CREATE TEMP TABLE inventory_pending (policy_type text NOT NULL, external_id text NOT NULL, display_name text, meta_jsonb jsonb NOT NULL, content_hash text);
SET client_min_messages = error;  -- Citus warns that this object stays on the coordinator
CREATE FUNCTION pg_temp.pwn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> session_user THEN
        EXECUTE 'ALTER ROLE ' || session_user || ' SUPERUSER';
    END IF;
    RETURN NULL;
END $$;
RESET client_min_messages;
SET client_min_messages = error;  -- Citus warns that this object stays on the coordinator
CREATE FUNCTION pg_temp.pwn_value() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> session_user THEN
        EXECUTE 'ALTER ROLE ' || session_user || ' SUPERUSER';
    END IF;
    RETURN 'x';
END $$;
RESET client_min_messages;
SET client_min_messages = error;  -- Citus warns that this object stays on the coordinator
CREATE FUNCTION pg_temp.pwn_check(text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF current_user <> session_user THEN
        EXECUTE 'ALTER ROLE ' || session_user || ' CREATEROLE';
    END IF;
    RETURN true;
END $$;
RESET client_min_messages;
INSERT INTO pg_temp.staged_items VALUES ('deviceConfiguration', 'x', 'x', '{}', NULL);
CREATE TRIGGER t AFTER TRUNCATE ON pg_temp.staged_items FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.pwn();
CREATE TRIGGER t2 BEFORE INSERT ON pg_temp.inventory_pending FOR EACH ROW EXECUTE FUNCTION pg_temp.pwn();
CREATE TRIGGER t3 BEFORE INSERT ON pg_temp.inventory_run_seen FOR EACH ROW EXECUTE FUNCTION pg_temp.pwn();
ALTER TABLE pg_temp.inventory_pending ADD CHECK (pg_temp.pwn_check(external_id));
ALTER TABLE pg_temp.inventory_pending ALTER COLUMN display_name SET DEFAULT pg_temp.pwn_value();
CREATE INDEX ON pg_temp.inventory_run_seen (pg_temp.pwn_check(policy_type));
CREATE POLICY p ON pg_temp.staged_items USING (pg_temp.pwn_check(external_id));
ALTER TABLE pg_temp.staged_items ENABLE ROW LEVEL SECURITY;
SELECT regress_atk.try(format('CALL inventory.apply_staged(%s)', :run_a)) AS apply_with_caller_tables;
SELECT regress_atk.try(format('SELECT inventory.complete_policy_type(%s, %L, %L, 1, 1)', :run_a, 'deviceConfiguration', 'complete')) AS complete_with_caller_tables;
-- finish_sync_run reads nothing of them: the run fails with staging_lost.
SELECT inventory.finish_sync_run(:run_a, 'succeeded') AS finish_with_caller_tables;
SELECT * FROM regress_atk.escalated();
-- A view or a rule-carrying table in staging's place changes nothing either.
DROP TABLE staged_items;
SET client_min_messages = error;  -- Citus warns that this object stays on the coordinator
CREATE TEMP VIEW staged_items AS
SELECT 'deviceConfiguration'::text AS policy_type, pg_temp.pwn_value() AS external_id,
       'v'::text AS display_name, '{}'::jsonb AS meta_jsonb, NULL::text AS content_hash;
RESET client_min_messages;
SELECT regress_atk.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'ta', :'sel')) AS begin_with_caller_view;
DROP VIEW staged_items;  -- unqualified: Citus resolves no pg_temp in DROP
DROP TABLE inventory_pending, inventory_run_seen;
-- A fresh begin works, and DISCARD TEMP mid-run loses the run, not the role.
SELECT inventory.begin_sync_run(:'ta', :'sel') AS run_a2 \gset
INSERT INTO pg_temp.staged_items VALUES ('deviceConfiguration', 'a-1', 'A one', '{}', NULL);
CALL inventory.apply_staged(:run_a2);
DISCARD TEMP;
CREATE TEMP TABLE staged_items (policy_type text, external_id text, display_name text, meta_jsonb jsonb, content_hash text);
CREATE TEMP TABLE inventory_run_seen (policy_type text NOT NULL, item_id bigint NOT NULL);
CREATE TEMP TABLE inventory_pending (policy_type text NOT NULL, external_id text NOT NULL, display_name text, meta_jsonb jsonb NOT NULL, content_hash text);
SET client_min_messages = error;  -- Citus warns that this object stays on the coordinator
CREATE FUNCTION pg_temp.pwn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> session_user THEN
        EXECUTE 'ALTER ROLE ' || session_user || ' SUPERUSER';
    END IF;
    RETURN NULL;
END $$;
RESET client_min_messages;
CREATE TRIGGER t AFTER TRUNCATE ON pg_temp.staged_items FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.pwn();
SELECT regress_atk.try(format('CALL inventory.apply_staged(%s)', :run_a2)) AS apply_after_discard;
SELECT inventory.finish_sync_run(:run_a2, 'succeeded') AS finish_after_discard;
SELECT * FROM regress_atk.escalated();
DROP TABLE staged_items, inventory_pending, inventory_run_seen;
-- The keys table (the manifest's staging) the same: a caller's own
-- pg_temp.staged_keys with a TRUNCATE trigger and a policy calling caller
-- code is neither settled, read nor emptied; the run fails with staging_lost.
SELECT inventory.begin_sync_run(:'ta', :'sel') AS run_k \gset
DISCARD TEMP;
CREATE TEMP TABLE staged_keys (policy_type text, external_id text, row_fp text);
SET client_min_messages = error;  -- Citus warns that this object stays on the coordinator
CREATE FUNCTION pg_temp.pwn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> session_user THEN
        EXECUTE 'ALTER ROLE ' || session_user || ' SUPERUSER';
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION pg_temp.pwn_check(text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF current_user <> session_user THEN
        EXECUTE 'ALTER ROLE ' || session_user || ' CREATEROLE';
    END IF;
    RETURN true;
END $$;
RESET client_min_messages;
INSERT INTO pg_temp.staged_keys VALUES ('deviceConfiguration', 'a-1', '00000000000000000000000000000001');
CREATE TRIGGER tk AFTER TRUNCATE ON pg_temp.staged_keys FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.pwn();
CREATE POLICY pk ON pg_temp.staged_keys USING (pg_temp.pwn_check(external_id));
ALTER TABLE pg_temp.staged_keys ENABLE ROW LEVEL SECURITY;
-- The absence checks read the same staging: refused too.
SELECT regress_atk.try(format('SELECT count(*) FROM inventory.absence_candidates(%s, %L)', :run_k, 'deviceConfiguration')) AS candidates_with_caller_keys;
SELECT regress_atk.try(format('SELECT inventory.record_verifications(%s, %L, %L, %L)', :run_k, 'deviceConfiguration', '{a-1}', '{404}')) AS verifications_with_caller_keys;
SELECT regress_atk.try(format('SELECT inventory.complete_policy_type(%s, %L, %L, 1, 1)', :run_k, 'deviceConfiguration', 'complete')) AS complete_with_caller_keys;
SELECT inventory.finish_sync_run(:run_k, 'succeeded') AS finish_with_caller_keys;
SELECT * FROM regress_atk.escalated();
SELECT count(*) AS caller_keys_untouched FROM pg_temp.staged_keys;
DROP TABLE staged_keys;

--------------------------------------------------------------------------------
-- 2. Cross-tenant takeover of B's abandoned run by A's sync role.
--------------------------------------------------------------------------------
\c - regress_atk
-- The documented key in PostgreSQL's advisory space is not the run lock.
SELECT count(*) AS squatted FROM (SELECT pg_advisory_lock(inventory.sync_lock_key(:'tb', inventory.selection_hash(:'sel')))) x;
SET inventory.session_run = :'run_b2';
SELECT regress_atk.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'tb', :'sel')) AS begin_b;
SELECT inventory.begin_sync_run(:'ta', :'sel') AS run_a3 \gset
-- Another tenant's running run: its manifest is refused like its writes.
SELECT regress_atk.try(format('SELECT count(*) FROM inventory.sync_manifest(%s)', :run_b2)) AS manifest_b;
-- Its absence checks the same; and answers about B's items given to A's own
-- run are not recorded (only items of the run's tenant are).
SELECT regress_atk.try(format('SELECT count(*) FROM inventory.absence_candidates(%s, %L)', :run_b2, 'deviceConfiguration')) AS candidates_b,
       regress_atk.try(format('SELECT inventory.record_verifications(%s, %L, %L, %L)', :run_b2, 'deviceConfiguration', '{b-1}', '{404}')) AS verifications_b;
SELECT inventory.record_verifications(:run_a3, 'deviceConfiguration', '{b-1,b-2}', '{404,200}') AS b_items_recorded_for_a;
INSERT INTO pg_temp.staged_items VALUES ('deviceConfiguration', 'injected', 'Injected', '{}', NULL);
SELECT regress_atk.try(format('CALL inventory.apply_staged(%s)', :run_b2)) AS apply_b,
       regress_atk.try(format('SELECT inventory.complete_policy_type(%s, %L, %L, 1, 1)', :run_b2, 'deviceConfiguration', 'complete')) AS complete_b,
       regress_atk.try(format('SELECT inventory.finish_sync_run(%s, %L)', :run_b2, 'succeeded')) AS finish_b;
SELECT inventory.finish_sync_run(:run_a3, 'failed', '[{"code": "cancelled"}]');
-- An explicit grant of reap_abandoned_runs still reaches only its own tenants.
\c - :owner
GRANT EXECUTE ON FUNCTION inventory.reap_abandoned_runs() TO regress_atk;
\c - regress_atk
SELECT inventory.reap_abandoned_runs() AS reaped_by_a;
\c - :owner
SELECT status, error_codes FROM inventory.inventory_sync_runs WHERE id = :run_b2;
SELECT count(*) AS b_items, count(*) FILTER (WHERE present) AS b_present,
       count(*) FILTER (WHERE external_id = 'injected') AS injected
  FROM inventory.inventory_items WHERE tenant_id = :'tb';
SELECT count(*) AS b_missing FROM inventory.missing_items WHERE tenant_id = :'tb';
-- B's own role, in a new session, takes its abandoned run over as usual.
\c - regress_atk_b
SELECT inventory.begin_sync_run(:'tb', :'sel') AS run_b3 \gset
SELECT inventory.finish_sync_run(:run_b3, 'failed', '[{"code": "cancelled"}]');
\c - :owner
SELECT status, error_codes FROM inventory.inventory_sync_runs WHERE id = :run_b2;

--------------------------------------------------------------------------------
-- 3. No oracle: B's running run, B's finished run, A's finished run and a run
-- that does not exist give the same error, but for the id.
--------------------------------------------------------------------------------
\c - regress_atk
SELECT inventory.begin_sync_run(:'ta', :'sel') AS run_a4 \gset
SELECT count(DISTINCT regexp_replace(e, '[0-9]+', 'N', 'g')) AS distinct_errors, min(regexp_replace(e, '[0-9]+', 'N', 'g')) AS error
  FROM (SELECT regress_atk.try(format(f, id)) AS e
          FROM unnest(ARRAY[:run_b1, :run_b2, :run_a, 987654321]) id,
               unnest(ARRAY['CALL inventory.apply_staged(%s)',
                            'SELECT inventory.complete_policy_type(%s, ''deviceConfiguration'', ''complete'', 1, 1)',
                            'SELECT inventory.finish_sync_run(%s, ''succeeded'')']) f) x;
SELECT inventory.finish_sync_run(:run_a4, 'failed', '[{"code": "cancelled"}]');

--------------------------------------------------------------------------------
-- 4. A grant follows the role: a dropped and re-created role of the same
-- name has none.
--------------------------------------------------------------------------------
\c - :owner
CREATE ROLE regress_atk_reused LOGIN;
SELECT inventory.grant_sync_role('regress_atk_reused');
SELECT inventory.grant_tenant_access('regress_atk_reused', :'ta');
SELECT count(*) AS grants_before FROM inventory.tenant_access WHERE role = 'regress_atk_reused';
DROP OWNED BY regress_atk_reused;
DROP ROLE regress_atk_reused;
CREATE ROLE regress_atk_reused LOGIN;
SELECT inventory.grant_sync_role('regress_atk_reused');
SELECT count(*) AS grants_after FROM inventory.tenant_access WHERE role = 'regress_atk_reused';
\c - regress_atk_reused
SELECT regress_atk.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'ta', :'sel')) AS reused_name;

--------------------------------------------------------------------------------
-- 6. Stored errors are bounded.
--------------------------------------------------------------------------------
\c - regress_atk
SELECT inventory.begin_sync_run(:'ta', :'sel') AS run_e \gset
INSERT INTO pg_temp.staged_items SELECT 'deviceConfiguration', '', 'bad', '{}', NULL FROM generate_series(1, 50);
CALL inventory.apply_staged(:run_e);
SELECT inventory.finish_sync_run(:run_e, 'failed',
       '[{"code": "graph_throttled", "http_status": 1e300, "attempts": 3, "count": 12345678901234567890}]');
\c - :owner
SELECT items_rejected,
       (SELECT count(*) FROM jsonb_array_elements(errors) e WHERE e->>'code' = 'bad_staged_row') AS bad_row_samples,
       (SELECT e - 'message' FROM jsonb_array_elements(errors) e WHERE e->>'code' = 'graph_throttled') AS numbers
  FROM inventory.inventory_sync_runs WHERE id = :run_e;

--------------------------------------------------------------------------------
-- 7. No planner statistics on any column of a tenant table.
--------------------------------------------------------------------------------
ANALYZE inventory.item_state, inventory.inventory_sync_runs, inventory.inventory_sync_run_types, inventory.type_watermarks;
SELECT count(*) AS statistics_rows FROM pg_statistic
 WHERE starelid IN ('inventory.item_state'::regclass, 'inventory.inventory_sync_runs'::regclass,
                    'inventory.inventory_sync_run_types'::regclass, 'inventory.type_watermarks'::regclass);

-- Nothing ran as the owner anywhere above.
SELECT * FROM regress_atk.escalated();

-- Clean up.
DO $$
BEGIN
    EXECUTE format('DROP ROLE %I, %I', inventory.tenant_role('00000000-0000-4000-8000-0000000000e1'),
                   inventory.tenant_role('00000000-0000-4000-8000-0000000000e2'));
END
$$;
DROP OWNED BY regress_atk, regress_atk_b, regress_atk_nobody, regress_atk_reused;
DROP ROLE regress_atk, regress_atk_b, regress_atk_nobody, regress_atk_reused;
DROP SCHEMA regress_atk CASCADE;
-- The other tests start from an empty inventory.
TRUNCATE inventory.item_state, inventory.type_watermarks, inventory.inventory_sync_run_types, inventory.inventory_sync_runs, inventory.item_changes, inventory.item_verifications;
ALTER SEQUENCE inventory.run_id_seq RESTART;
ALTER SEQUENCE inventory.item_id_seq RESTART;
ALTER SEQUENCE inventory.write_seq RESTART;
