-- Benchmark support objects, in schema bench of the benchmark database:
-- the measurement store, a timing helper, the pure PL/pgSQL canonical form
-- (the baseline of inventory.selection_hash) and the data generators.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE SCHEMA bench;

-- One raw figure per key (seconds, bytes, counts); report.sql composes the table.
CREATE TABLE bench.measure (
    key   text PRIMARY KEY,
    value double precision,
    note  text
);

CREATE FUNCTION bench.put(k text, v double precision, n text DEFAULT NULL) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO bench.measure VALUES (k, v, n)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, note = excluded.note
$$;

-- Median wall time (seconds) of `reps` executions of a query, after one
-- untimed warm-up execution. The result rows are discarded by the server.
CREATE FUNCTION bench.time_query(q text, reps integer) RETURNS double precision
    LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    ts double precision[] := '{}';
BEGIN
    EXECUTE q;
    FOR i IN 1 .. greatest(reps, 1) LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        ts := ts || extract(epoch FROM clock_timestamp() - t0)::double precision;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(ts) x);
END
$$;

-- Deterministic pseudo-random non-negative integer of (i, salt).
CREATE FUNCTION bench.h(i bigint, salt bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT hashint8extended(i, salt) & 2147483647 $$;

--------------------------------------------------------------------------------
-- The canonical form in PL/pgSQL (same rules as inventory.canonical_json):
-- objects sorted by UTF-16 code units, arrays as sets, RFC 8785 strings,
-- ECMAScript numbers. Written to be as fast as PL/pgSQL reasonably allows:
-- one set-based statement per container, code-point order (COLLATE "C")
-- unless a container holds a character outside the BMP, where UTF-16 and
-- code-point order differ.
--------------------------------------------------------------------------------

-- UTF-16 code units of s, big-endian, as bytea: byte order = UTF-16 order.
CREATE FUNCTION bench.utf16_key(s text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(decode(string_agg(
             CASE WHEN cp < 65536 THEN lpad(to_hex(cp), 4, '0')
                  ELSE lpad(to_hex(55296 + ((cp - 65536) >> 10)), 4, '0')
                       || lpad(to_hex(56320 + ((cp - 65536) & 1023)), 4, '0') END,
             '' ORDER BY o), 'hex'), '\x'::bytea)
      FROM unnest(string_to_array(s, NULL)) WITH ORDINALITY AS c(ch, o), LATERAL ascii(c.ch) AS cp
$$;

-- ECMAScript Number.prototype.toString of a double. float8out gives
-- round-trip digits that are not always the shortest (9.999999999999999e+22
-- for 1e23), so one digit less is tried while it still round-trips.
CREATE FUNCTION bench.es_number(v double precision) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    t    text;
    m    text;
    e    integer := 0;
    ds   text;
    n    integer;   -- value = 0.ds * 10^n
    k    integer;
    p    integer;
    cand numeric;
    neg  boolean := v < 0;
BEGIN
    IF v = 0 THEN
        RETURN '0';
    END IF;
    t := (abs(v))::text;
    IF position('e' IN t) > 0 THEN
        m := split_part(t, 'e', 1);
        e := split_part(t, 'e', 2)::integer;
    ELSE
        m := t;
    END IF;
    IF position('.' IN m) > 0 THEN
        n := length(split_part(m, '.', 1));
        ds := split_part(m, '.', 1) || split_part(m, '.', 2);
    ELSE
        n := length(m);
        ds := m;
    END IF;
    n := n + e;
    -- strip leading zeros (0.00123) and trailing zeros (1200)
    WHILE left(ds, 1) = '0' LOOP
        ds := substr(ds, 2);
        n := n - 1;
    END LOOP;
    ds := rtrim(ds, '0');
    k := length(ds);
    -- shortest digits that still round-trip
    p := k - 1;
    WHILE p >= 1 LOOP
        cand := round(('0.' || ds)::numeric, p) * power(10::numeric, n);
        EXIT WHEN cand > 1.7976931348623157e308 OR cand::double precision <> abs(v);
        p := p - 1;
    END LOOP;
    IF p < k - 1 THEN
        cand := round(('0.' || ds)::numeric, p + 1);
        IF cand >= 1 THEN           -- 0.99.. rounded up to 1.0
            n := n + 1;
            cand := cand / 10;
        END IF;
        ds := rtrim(substr(cand::text, 3), '0');
        k := length(ds);
    END IF;
    IF k <= n AND n <= 21 THEN
        t := ds || repeat('0', n - k);
    ELSIF 0 < n AND n <= 21 THEN
        t := left(ds, n) || '.' || substr(ds, n + 1);
    ELSIF -6 < n AND n <= 0 THEN
        t := '0.' || repeat('0', -n) || ds;
    ELSE
        t := left(ds, 1) || CASE WHEN k > 1 THEN '.' || substr(ds, 2) ELSE '' END
             || 'e' || CASE WHEN n - 1 < 0 THEN '-' ELSE '+' END || abs(n - 1)::text;
    END IF;
    RETURN CASE WHEN neg THEN '-' || t ELSE t END;
END
$$;

-- Canonical text of one value; containers recurse through bench.pl_canonical,
-- strings, booleans and null are printed by jsonb itself (its escaping is
-- exactly RFC 8785's), so most members cost no function call.
-- (Not STRICT, so the planner inlines it into the statements below.)
SET check_function_bodies = off;
CREATE FUNCTION bench.pl_canonical_value(j jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(j)
             WHEN 'object' THEN bench.pl_canonical(j)
             WHEN 'array' THEN bench.pl_canonical(j)
             WHEN 'number' THEN bench.es_number(j::double precision)
             ELSE j::text END
$$;
RESET check_function_bodies;

CREATE FUNCTION bench.pl_canonical(j jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    t        text := jsonb_typeof(j);
    v_text   text;
    v_astral boolean;
BEGIN
    IF t = 'object' THEN
        IF NOT EXISTS (SELECT 1 FROM jsonb_object_keys(j) k WHERE k ~ '[\U00010000-\U0010FFFF]') THEN
            RETURN '{' || coalesce((SELECT string_agg(to_jsonb(e.key)::text || ':' || bench.pl_canonical_value(e.value), ','
                                                      ORDER BY e.key COLLATE "C")
                                      FROM jsonb_each(j) e), '') || '}';
        END IF;
        RETURN '{' || coalesce((SELECT string_agg(to_jsonb(e.key)::text || ':' || bench.pl_canonical_value(e.value), ','
                                                  ORDER BY bench.utf16_key(e.key))
                                  FROM jsonb_each(j) e), '') || '}';
    ELSIF t = 'array' THEN
        -- code-point order first; UTF-16 order only when an element needs it
        SELECT string_agg(d.c, ',' ORDER BY d.c COLLATE "C"), bool_or(d.c ~ '[\U00010000-\U0010FFFF]')
          INTO v_text, v_astral
          FROM (SELECT DISTINCT bench.pl_canonical_value(e) COLLATE "C" AS c
                  FROM jsonb_array_elements(j) e) d;
        IF v_astral THEN
            SELECT string_agg(d.c, ',' ORDER BY bench.utf16_key(d.c)) INTO v_text
              FROM (SELECT DISTINCT bench.pl_canonical_value(e) COLLATE "C" AS c
                      FROM jsonb_array_elements(j) e) d;
        END IF;
        RETURN '[' || coalesce(v_text, '') || ']';
    END IF;
    RETURN bench.pl_canonical_value(j);
END
$$;

CREATE FUNCTION bench.pl_selection_hash(j jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(bench.pl_canonical(j), 'UTF8')), 'hex')
$$;

--------------------------------------------------------------------------------
-- Data generators
--------------------------------------------------------------------------------

-- Selection documents: policy_types arrays of 1-20 registered types (in any
-- order, with duplicates), a few other keys, numbers (some on the float8out
-- versus ECMAScript boundary), nested objects, non-ASCII and control
-- characters, keys outside the BMP now and then.
CREATE FUNCTION bench.make_selections(n integer) RETURNS TABLE (id integer, doc jsonb)
    LANGUAGE sql AS $$
    WITH types AS (SELECT array_agg(policy_type ORDER BY policy_type) AS t FROM inventory.policy_types),
    nums AS (SELECT ARRAY[1, 2.5, 100, 0.1, 1e21, 1e23, 8.41e21, 1e-7, 0.000001, 123456789012345678,
                          -42, 3.14159265358979323846, 5e-324, 1.7976931348623157e308, 0.30000000000000004,
                          1e-6, 123e-20, 4.35, 1000000, 2e-3]::numeric[] AS v)
    SELECT i, jsonb_strip_nulls(
             jsonb_build_object(
               'policy_types', (SELECT jsonb_agg(types.t[1 + bench.h(i * 64 + k, 2) % cardinality(types.t)])
                                  FROM generate_series(1, 1 + (bench.h(i, 1) % 20)::integer) k),
               'label', CASE bench.h(i, 3) % 5
                          WHEN 0 THEN 'Contoso – Paris ' || i
                          WHEN 1 THEN 'Fabrikam "EU" \ nightly ' || i
                          WHEN 2 THEN 'Tailspin 🇫🇷 é ' || i
                          WHEN 3 THEN E'line\tone\nline two ' || i
                          ELSE 'Northwind ' || i END,
               'page_size', CASE WHEN bench.h(i, 4) % 3 = 0 THEN 999 END,
               'max_age_hours', CASE WHEN bench.h(i, 5) % 4 = 0 THEN 1.5 END,
               'weight', CASE WHEN bench.h(i, 6) % 2 = 0 THEN nums.v[1 + bench.h(i, 7) % 20] END,
               'filters', CASE WHEN bench.h(i, 8) % 3 = 0 THEN jsonb_build_object(
                                  'platforms', jsonb_build_array('windows10', 'macOS', 'iOS', 'windows10'),
                                  'min_os', 10.0,
                                  'scope_tags', jsonb_build_array(bench.h(i, 9) % 7, 0, bench.h(i, 10) % 7),
                                  'include_unassigned', bench.h(i, 11) % 2 = 0) END,
               'schedule', CASE WHEN bench.h(i, 12) % 4 = 0 THEN jsonb_build_object('cron', '17 * * * *', 'tz', 'Europe/Paris') END,
               CASE bench.h(i, 13) % 6 WHEN 0 THEN 'ümlaut' WHEN 1 THEN '𝒳tra' WHEN 2 THEN 'ﬀ' ELSE 'owner' END,
                 'ops@example.com',
               'tags', CASE WHEN bench.h(i, 14) % 5 = 0 THEN jsonb_build_array('b', 'a', '𝒳', 'ﬀ', 'a', jsonb_build_object('k', 1)) END))
    FROM generate_series(1, n) i, types, nums
$$;

-- Graph-like item meta: 10-30 keys, half of them whitelisted by
-- inventory.meta_keys (most with values of the right kind), the rest
-- ordinary Graph properties (strings, numbers, booleans, arrays, objects).
CREATE FUNCTION bench.make_meta(n integer) RETURNS TABLE (id integer, meta jsonb)
    LANGUAGE sql AS $$
    WITH allowed(k, v, pos) AS (VALUES
        ('odata_type', '"#microsoft.graph.windows10GeneralConfiguration"'::jsonb, 1),
        ('platform', '"windows10AndLater"', 2),
        ('technologies', '["mdm", "microsoftSense"]', 3),
        ('created_at', '"2024-03-01T10:15:30.1234567Z"', 4),
        ('last_modified_at', '"2025-01-17T08:00:00Z"', 5),
        ('version', '"7"', 6),
        ('scope_tag_ids', '["0", "12", "31"]', 7),
        ('is_assigned', 'true', 8),
        ('assignment_target_count', '4', 9),
        ('template_family', '"endpointSecurityAntivirus"', 10),
        ('template_id', '"804339ad-1553-4478-a742-138fb5807418_1"', 11),
        ('setting_count', '37', 12),
        ('state', '"active"', 13),
        ('priority', '"high"', 14),              -- wrong kind: dropped
        ('warnings', '["name_field_missing"]', 15)),
    other(k, v, pos) AS (VALUES
        ('id', '"0b6a1b9c-31f1-4a6e-9a4c-2f7d3c1e5a10"'::jsonb, 1),
        ('description', '"Baseline settings for corporate Windows devices, managed by the endpoint team."', 2),
        ('supports_scope_tags', 'true', 3),
        ('device_management_applicability_rule_os_edition', 'null', 4),
        ('password_required', 'true', 5),
        ('password_minimum_length', '14', 6),
        ('password_expiration_days', '365', 7),
        ('defender_block_end_user_access', 'false', 8),
        ('defender_scan_type', '"quick"', 9),
        ('defender_days_before_deleting_quarantined_malware', '30', 10),
        ('firewall_rules', '[{"name": "allow-rdp", "port": 3389, "action": "allow"}, {"name": "block-smb", "port": 445}]', 11),
        ('bit_locker_encrypt_device', 'true', 12),
        ('edge_home_button_configuration', '{"@odata.type": "#microsoft.graph.edgeHomeButtonHidden"}', 13),
        ('user_rights_access_credential_manager_as_trusted_caller', '{"state": "notConfigured", "localUsersOrGroups": []}', 14),
        ('assignments', '[{"target": {"groupId": "6f1c0a6e-2a5d-4c4d-8d8e-0c7e8f9a1b2c"}}]', 15),
        ('role_scope_tag_ids', '["0"]', 16))
    SELECT i, (SELECT jsonb_object_agg(x.k, x.v)
                 FROM (SELECT a.k, a.v FROM allowed a
                        WHERE (a.pos + bench.h(i, 21)) % 15 < 5 + bench.h(i, 20) % 11
                       UNION ALL
                       SELECT o.k, o.v FROM other o
                        WHERE (o.pos + bench.h(i, 22)) % 16 < (5 + bench.h(i, 20) % 11)) x)
      FROM generate_series(1, n) i
$$;
