-- Property tests over random jsonb (deterministic: setseed).
--  * filter_meta never raises, whatever the document and whatever the
--    whitelist (any jsonb, NULL, wrong kinds), and keeps only whitelisted
--    keys with the input's own values; it is idempotent.
--  * canonical_json is idempotent (its text, read back as jsonb, has the same
--    canonical form) and order-invariant (array elements shuffled and
--    repeated give the same text); selection_hash follows it; it raises
--    only 22003, and only for numbers outside the double range.
CREATE SCHEMA prop;

-- A random JSON value of at most `depth` levels.
CREATE FUNCTION prop.rand_string() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(string_agg((ARRAY['a', 'Z', '0', ' ', '"', '\', '/', E'\n', E'\t', E'\u0001', E'\u001f', E'\u007f',
                             'é', '€', '名', E'\U0001F600', E'\u2028', E'\uFEFF', E'\uE000', E'\uFFFF', '%', '~',
                             'platform', 'state', '2024-01-02T03:04:05Z'])[1 + floor(random() * 25)::int], ''), '')
      FROM generate_series(1, floor(random() * 6)::int)
$$;

CREATE FUNCTION prop.rand_number() RETURNS jsonb LANGUAGE sql VOLATILE AS $$
    SELECT (ARRAY[
        to_jsonb(floor(random() * 2000 - 1000)::int),
        to_jsonb(random() * 1e6 - 5e5),
        to_jsonb((random() - 0.5) * 10 ^ floor(random() * 600 - 300)),
        '0'::jsonb, '-0'::jsonb, '-0.0'::jsonb, '1e21'::jsonb, '1e-7'::jsonb, '123456789012345678901234567890'::jsonb,
        '0.1'::jsonb, '1.7976931348623157e308'::jsonb, '5e-324'::jsonb, '9007199254740993'::jsonb,
        '1e400'::jsonb, '-1e309'::jsonb, '1e-400'::jsonb])[1 + floor(random() * 16)::int]
$$;

CREATE FUNCTION prop.rand_json(depth integer) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    pick integer := floor(random() * CASE WHEN depth > 0 THEN 8 ELSE 5 END)::int;
    out jsonb;
BEGIN
    CASE pick
        WHEN 0 THEN RETURN 'null'::jsonb;
        WHEN 1 THEN RETURN to_jsonb(random() < 0.5);
        WHEN 2 THEN RETURN prop.rand_number();
        WHEN 3, 4 THEN RETURN to_jsonb(prop.rand_string());
        WHEN 5 THEN
            SELECT coalesce(jsonb_agg(prop.rand_json(depth - 1)), '[]') INTO out
              FROM generate_series(1, floor(random() * 5)::int);
            RETURN out;
        ELSE
            SELECT coalesce(jsonb_object_agg(k, prop.rand_json(depth - 1)), '{}') INTO out
              FROM (SELECT (ARRAY['odata_type', 'platform', 'technologies', 'created_at', 'version', 'is_assigned',
                                  'setting_count', 'priority', 'warnings', 'scope_tag_ids', 'x', '', 'é',
                                  E'\U0001F600', 'a b'])[1 + floor(random() * 15)::int] || CASE WHEN random() < 0.2 THEN prop.rand_string() ELSE '' END AS k
                      FROM generate_series(1, floor(random() * 6)::int)) keys;
            RETURN out;
    END CASE;
END
$$;

-- The same value with every array shuffled and some elements repeated.
CREATE FUNCTION prop.shuffled(doc jsonb) RETURNS jsonb LANGUAGE sql VOLATILE AS $$
    SELECT CASE jsonb_typeof(doc)
        WHEN 'array' THEN (SELECT coalesce(jsonb_agg(prop.shuffled(e) ORDER BY random()), '[]')
                             FROM (SELECT e FROM jsonb_array_elements(doc) e
                                   UNION ALL
                                   SELECT e FROM jsonb_array_elements(doc) e WHERE random() < 0.3) x)
        WHEN 'object' THEN (SELECT coalesce(jsonb_object_agg(key, prop.shuffled(value)), '{}') FROM jsonb_each(doc))
        ELSE doc END
$$;

-- The document holds a number beyond the double range.
CREATE FUNCTION prop.out_of_range(doc jsonb) RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM jsonb_path_query(doc, 'strict $.** ? (@.type() == "number")') v
                    WHERE abs((v #>> '{}')::numeric) > 1.8e308)
$$;

-- A random whitelist: anything from a proper key -> kind map to nonsense.
CREATE FUNCTION prop.rand_allowed() RETURNS jsonb LANGUAGE sql VOLATILE AS $$
    SELECT CASE floor(random() * 6)::int
        WHEN 0 THEN NULL
        WHEN 1 THEN prop.rand_json(2)
        ELSE (SELECT coalesce(jsonb_object_agg(k, v), '{}')
                FROM (SELECT (ARRAY['odata_type', 'platform', 'technologies', 'created_at', 'version', 'is_assigned',
                                    'setting_count', 'priority', 'warnings', 'x', 'é'])[1 + floor(random() * 11)::int] AS k,
                             (ARRAY['"string"', '"number"', '"boolean"', '"string_array"', '"timestamp"', '"nonsense"',
                                    '1', 'null', '["string"]', '{"kind":"string"}'])[1 + floor(random() * 10)::int]::jsonb AS v
                        FROM generate_series(1, floor(random() * 8)::int)) e)
        END
$$;

SELECT setseed(0.4242);
CREATE TABLE prop.docs AS
SELECT n, prop.rand_json(4) AS doc, prop.rand_allowed() AS allowed
  FROM generate_series(1, 1500) n;
-- Meta-like documents: objects of the whitelisted keys with values of any kind.
INSERT INTO prop.docs
SELECT 1500 + n, (SELECT coalesce(jsonb_object_agg(k, prop.rand_json(2)), '{}')
                   FROM unnest(ARRAY['odata_type', 'platform', 'technologies', 'created_at', 'last_modified_at',
                                     'version', 'scope_tag_ids', 'is_assigned', 'setting_count', 'priority',
                                     'warnings', 'state', 'unknown_key']) k WHERE random() < 0.5 AND n > 0),
       prop.rand_allowed()
  FROM generate_series(1, 1500) n;
SELECT count(*) AS documents,
       count(*) FILTER (WHERE jsonb_typeof(doc) = 'object') > 1500 AS many_objects,
       count(*) FILTER (WHERE jsonb_typeof(doc) = 'array') > 50 AS some_arrays,
       count(*) FILTER (WHERE prop.out_of_range(doc)) > 20 AS some_extreme_numbers
  FROM prop.docs;

-- filter_meta never raises.
CREATE FUNCTION prop.filter_meta_errors() RETURNS TABLE (calls bigint, errors bigint) LANGUAGE plpgsql AS $$
DECLARE
    d record;
    r jsonb;
BEGIN
    calls := 0;
    errors := 0;
    FOR d IN SELECT * FROM prop.docs ORDER BY n LOOP
        BEGIN
            r := inventory.filter_meta(d.doc, d.allowed);
            r := inventory.filter_meta(d.doc);
            r := (inventory.filter_meta_counted(d.doc, d.allowed)).meta;
            r := inventory.filter_meta(NULL, d.allowed);
            r := inventory.filter_meta(d.allowed, d.doc);
            calls := calls + 5;
        EXCEPTION WHEN OTHERS THEN
            errors := errors + 1;
            RAISE NOTICE 'filter_meta raised % for %', SQLERRM, d.n;
        END;
    END LOOP;
    RETURN NEXT;
END
$$;
SELECT * FROM prop.filter_meta_errors();

-- It keeps only whitelisted keys, with the input's values, always returns an
-- object, and is idempotent.
SELECT count(*) AS filter_meta_violations
  FROM prop.docs d, LATERAL (SELECT inventory.filter_meta(d.doc, d.allowed) AS f) x
 WHERE f IS NULL OR jsonb_typeof(f) <> 'object'
    OR EXISTS (SELECT 1 FROM jsonb_each(f) e
                WHERE jsonb_typeof(d.allowed) IS DISTINCT FROM 'object' OR NOT d.allowed ? e.key
                   OR d.doc->e.key IS DISTINCT FROM e.value)
    OR inventory.filter_meta(f, d.allowed) <> f;
-- The counted form counts exactly the dropped top-level keys.
SELECT count(*) AS counted_violations
  FROM prop.docs d, LATERAL inventory.filter_meta_counted(d.doc, d.allowed) c
 WHERE jsonb_typeof(d.doc) = 'object'
   AND c.dropped <> (SELECT count(*) FROM jsonb_object_keys(d.doc)) - (SELECT count(*) FROM jsonb_object_keys(c.meta));

-- canonical_json: raises only 22003, only for numbers beyond the double range;
-- otherwise idempotent, order-invariant, and the selection hash follows it.
CREATE FUNCTION prop.canonical_violations() RETURNS TABLE (tested bigint, out_of_range bigint, violations bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    d record;
    c text;
    c2 text;
    c3 text;
BEGIN
    tested := 0;
    out_of_range := 0;
    violations := 0;
    FOR d IN SELECT * FROM prop.docs ORDER BY n LOOP
        BEGIN
            c := inventory.canonical_json(d.doc);
        EXCEPTION WHEN numeric_value_out_of_range THEN
            out_of_range := out_of_range + 1;
            IF NOT prop.out_of_range(d.doc) THEN
                violations := violations + 1;
                RAISE NOTICE 'canonical_json raised 22003 for % without an extreme number', d.n;
            END IF;
            CONTINUE;
        END;
        tested := tested + 1;
        c2 := inventory.canonical_json(c::jsonb);
        c3 := inventory.canonical_json(prop.shuffled(d.doc));
        IF c2 <> c OR c3 <> c
           OR inventory.selection_hash(prop.shuffled(d.doc)) <> encode(sha256(convert_to(c, 'UTF8')), 'hex') THEN
            violations := violations + 1;
            RAISE NOTICE 'canonical_json property broken for %: % / % / %', d.n, c, c2, c3;
        END IF;
    END LOOP;
    RETURN NEXT;
END
$$;
SELECT tested > 2500 AS enough_tested, out_of_range > 10 AS some_out_of_range, violations
  FROM prop.canonical_violations();

-- Numbers: the canonical text of a double reads back as the same double.
SELECT count(*) AS number_round_trip_violations
  FROM (SELECT (random() - 0.5) * 10 ^ floor(random() * 600 - 300) AS x FROM generate_series(1, 2000)) s
 WHERE inventory.canonical_json(to_jsonb(x))::float8 <> x;

SET client_min_messages = warning;
DROP SCHEMA prop CASCADE;
RESET client_min_messages;
