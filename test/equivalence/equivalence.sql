-- Randomized equivalence of the extension's canonical_json, selection_hash,
-- filter_meta and filter_meta_counted with a reference build of the same
-- functions (schema equiv_ref). Run by test/equivalence/run.sh, which sets
-- :ref_module (path of the reference library) and :docs (documents per set).
-- Every comparison is byte for byte; any difference raises an error naming
-- an example document.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION tenant_inventory;
CREATE SCHEMA equiv_ref;
CREATE SCHEMA equiv;

CREATE FUNCTION equiv_ref.canonical_json(jsonb) RETURNS text
    LANGUAGE c IMMUTABLE STRICT AS :'ref_module', 'tinv_canonical_json';
CREATE FUNCTION equiv_ref.selection_hash(jsonb) RETURNS text
    LANGUAGE c IMMUTABLE STRICT AS :'ref_module', 'tinv_selection_hash';
CREATE FUNCTION equiv_ref.filter_meta(jsonb, jsonb) RETURNS jsonb
    LANGUAGE c IMMUTABLE AS :'ref_module', 'tinv_filter_meta';
CREATE FUNCTION equiv_ref.filter_meta_counted(meta jsonb, allowed jsonb, OUT meta jsonb, OUT dropped integer)
    LANGUAGE c IMMUTABLE AS :'ref_module', 'tinv_filter_meta_counted';

-- The stored bytes of a jsonb value (its data after the length word), so
-- results are compared byte for byte and not only as equal jsonb.
CREATE FUNCTION equiv.bytes(jsonb) RETURNS bytea
    LANGUAGE internal IMMUTABLE STRICT AS 'byteasend';

SET client_min_messages = notice;

--------------------------------------------------------------------------------
-- Generators (deterministic for a given setseed)
--------------------------------------------------------------------------------

CREATE FUNCTION equiv.pick(a text[]) RETURNS text
    LANGUAGE sql VOLATILE AS $$ SELECT a[1 + floor(random() * cardinality(a))::integer] $$;

-- Characters that matter to the canonical form: escapes, controls, DEL,
-- '/', two- and three-byte characters below and inside U+E000..U+FFFF
-- (which UTF-16 orders after the astral planes), astral characters.
CREATE FUNCTION equiv.special_chars() RETURNS text[]
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['"', '\', '/', ' ', chr(1), chr(8), chr(9), chr(10), chr(12), chr(13), chr(31), chr(127),
                 'é', 'ü', '€', '中', chr(55295), chr(57344), chr(63743), 'ﬀ', chr(65279), chr(65533), chr(65535),
                 '😀', '𝒳', chr(65536), chr(1114111), 'A', 'Z', '0', '9']
$$;

-- 4000 random characters, 60% ASCII letters, the rest special; strings are
-- cut out of it (a constant, so generating a string costs no query).
SELECT setseed(0.271828) \gset
DO $$
BEGIN
    EXECUTE format('CREATE FUNCTION equiv.char_pool() RETURNS text LANGUAGE sql IMMUTABLE AS %L',
                   format('SELECT %L::text',
                          (SELECT string_agg(CASE WHEN random() < 0.6 THEN chr(97 + floor(random() * 26)::integer)
                                                  ELSE equiv.pick(equiv.special_chars()) END, '')
                             FROM generate_series(1, 4000))));
END
$$;

-- A string of up to maxlen characters.
CREATE FUNCTION equiv.random_string(maxlen integer) RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT substr(equiv.char_pool(), 1 + floor(random() * (4000 - maxlen))::integer,
                  floor(random() * (maxlen + 1))::integer)
$$;

-- Keys shared by many objects (so that order between them is exercised)
-- plus random ones.
CREATE FUNCTION equiv.random_key() RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN random() < 0.7 THEN equiv.pick(ARRAY[
                  '', 'a', 'b', 'A', 'aa', 'ab', 'ba', 'é', 'e', 'ﬀ', chr(57344), chr(65533), chr(65535),
                  '😀', '𝒳', 'a😀', 'a' || chr(65535), 'a' || chr(57344), 'policy_types', 'label',
                  'key "quoted"', 'back\slash', 'ctl' || chr(1), 'a/b',
                  'longer_than_eight_bytes_1', 'longer_than_eight_bytes_2',
                  'longer_than_eight_bytes_😀', 'longer_than_eight_bytes_' || chr(65533)])
                ELSE equiv.random_string(12) END
$$;

-- JSON number text: boundary values of the double/ECMAScript layout, equal
-- values spelled differently, integers, doubles of every magnitude and long
-- decimal expansions (all inside the finite double range; underflow is fine).
CREATE FUNCTION equiv.random_number() RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT CASE floor(random() * 6)::integer
             WHEN 0 THEN equiv.pick(ARRAY[
                    '0', '-0', '0.0', '-0.0', '1', '1.0', '1e0', '10e-1', '100', '1E+2', '-1', '4.35', '4.5',
                    '0.1', '0.30000000000000004', '1e21', '1e20', '1e23', '8.41e21', '123456789012345680000',
                    '295147905179352830000', '9007199254740993', '123456789012345678901234567890',
                    '1e-6', '1e-7', '0.000001', '-1.5e-9', '2e-3', '333333333.33333329',
                    '5e-324', '-5e-324', '2.4703282292062327e-324', '2.2250738585072014e-308',
                    '1.7976931348623157e308', '-1.7976931348623157e308', '1.7976931348623158e308',
                    '1e-400', '-1e-400', '3.14159265358979323846264338327950288'])
             WHEN 1 THEN (floor(random() * 2e6) - 1e6)::bigint::text
             WHEN 2 THEN ((random() * 2 - 1) * 10 ^ (floor(random() * 40) - 20))::float8::text
             WHEN 3 THEN (random() * 10 ^ (floor(random() * 600) - 300))::float8::text
             ELSE (CASE WHEN random() < 0.3 THEN '-' ELSE '' END)
                  || (1 + floor(random() * 9))::integer::text
                  || substr(floor(random() * 1e15)::bigint::text || floor(random() * 1e15)::bigint::text,
                            1, floor(random() * 25)::integer)
                  || CASE WHEN random() < 0.5 THEN '.' || floor(random() * 1e9)::bigint::text ELSE '' END
                  || CASE WHEN random() < 0.5 THEN 'e' || (floor(random() * 630) - 350)::integer::text ELSE '' END
           END
$$;

-- JSON text of a random value nested at most `depth` more levels. Arrays
-- repeat their elements (and equal numbers spelled differently) so that
-- deduplication is exercised; some containers have more than 32 children,
-- where jsonb stores offsets instead of lengths.
CREATE FUNCTION equiv.random_value(depth integer) RETURNS text
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r    double precision := random();
    n    integer;
    pool text[];
    out  text[];
BEGIN
    IF depth <= 0 OR r < 0.5 THEN
        r := random();
        IF r < 0.4 THEN RETURN to_jsonb(equiv.random_string(20))::text; END IF;
        IF r < 0.8 THEN RETURN equiv.random_number(); END IF;
        RETURN equiv.pick(ARRAY['true', 'false', 'null']);
    END IF;
    r := random();
    n := CASE WHEN r < 0.05 THEN 33 + floor(random() * 40)::integer
              WHEN r < 0.15 THEN 7 + floor(random() * 26)::integer
              ELSE floor(random() * 7)::integer END;
    r := random();
    IF r < 0.5 THEN
        pool := ARRAY(SELECT equiv.random_value(depth - 1) FROM generate_series(0, n / 2));
        out := ARRAY(SELECT pool[1 + floor(random() * cardinality(pool))::integer] FROM generate_series(1, n));
        RETURN '[' || array_to_string(out, ',') || ']';
    END IF;
    out := ARRAY(SELECT to_jsonb(equiv.random_key())::text || ':' || equiv.random_value(depth - 1)
                   FROM generate_series(1, n));
    RETURN '{' || array_to_string(out, ',') || '}';
END
$$;

-- A document: mostly an object like a selection, sometimes any value.
CREATE FUNCTION equiv.random_doc() RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN random() < 0.8
                THEN '{"policy_types":' || equiv.random_value(2) || ',' || to_jsonb(equiv.random_key())::text
                     || ':' || equiv.random_value(4) || ',"rest":' || equiv.random_value(3) || '}'
                ELSE equiv.random_value(floor(random() * 6)::integer) END
$$;

-- Whitelists for filter_meta: the seeded one, short ones, one of 40 keys,
-- non-text and unknown kinds, unicode keys, and non-objects.
CREATE TABLE equiv.whitelists (id integer PRIMARY KEY, allowed jsonb);
INSERT INTO equiv.whitelists VALUES
    (0, (SELECT jsonb_object_agg(key, kind) FROM inventory.meta_keys)),
    (1, '{"s": "string", "n": "number", "b": "boolean", "a": "string_array", "t": "timestamp"}'),
    (2, (SELECT jsonb_object_agg('k' || lpad(i::text, 2, '0'),
                                 (ARRAY['string', 'number', 'boolean', 'string_array', 'timestamp'])[1 + i % 5])
           FROM generate_series(1, 40) i)),
    (3, '{"s": 7, "n": ["number"], "b": null, "a": {"k": "string_array"}, "t": true}'),
    (4, '{"s": "blob", "n": "Number", "t": "timestamp ", "b": "boolean"}'),
    (5, '{"é": "string", "😀": "number", "ﬀ": "boolean", "": "string", "\ue000": "string_array", "a😀": "timestamp"}'),
    (6, '{}'),
    (7, '[]'),
    (8, '"string"'),
    (9, NULL);

CREATE TABLE equiv.whitelisted_keys AS
    SELECT array_agg(DISTINCT k) AS keys
      FROM equiv.whitelists w, LATERAL jsonb_object_keys(CASE jsonb_typeof(w.allowed) WHEN 'object' THEN w.allowed END) k;

CREATE FUNCTION equiv.meta_key() RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN random() < 0.6
                THEN equiv.pick((SELECT keys FROM equiv.whitelisted_keys))
                ELSE equiv.pick(ARRAY['id', 'description', 'x', 'stat', 'statf', 'statd', 'platforn', 'k41',
                                      'k1', 'k001', 'ss', 'versions', chr(65533), '𝒳', equiv.random_key()]) END
$$;

-- A value of a meta key: of every kind, on both sides of every limit.
CREATE FUNCTION equiv.meta_value() RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT CASE floor(random() * 9)::integer
             WHEN 0 THEN to_jsonb(equiv.random_string(30))::text
             WHEN 1 THEN to_jsonb(equiv.pick(ARRAY[repeat('x', 1024), repeat('x', 1025), repeat('é', 1024),
                                                   repeat('é', 1025), repeat('😀', 1024), repeat('😀', 1025),
                                                   repeat('x', 1023) || '😀']))::text
             WHEN 2 THEN to_jsonb(equiv.pick(ARRAY['2017-01-01T00:02:43.5775965-08:00', '2022-03-15T13:50:50Z',
                                                   '2022-03-15T13:50:50', '2024-02-29', '2023-02-29T00:00:00Z',
                                                   '2022-13-01T00:00:00Z', '2022-01-01T24:00:00Z',
                                                   '2022-01-01 10:00:00', '', '2022-01-01T10:00+15:00',
                                                   '2022-01-01T10:00:00.Z', '0000-01-01']))::text
             WHEN 3 THEN equiv.random_number()
             WHEN 4 THEN equiv.pick(ARRAY['true', 'false', 'null'])
             WHEN 5 THEN (SELECT coalesce(jsonb_agg(CASE WHEN random() < 0.97 OR valid THEN to_jsonb(e) ELSE '1'::jsonb END), '[]')::text
                            FROM (SELECT random() < 0.5 AS valid) v,
                                 LATERAL (SELECT CASE WHEN valid THEN equiv.pick(ARRAY['a', 'mdm', repeat('😀', 256), repeat('x', 256), '', chr(65533)])
                                                 ELSE equiv.pick(ARRAY['a', 'mdm', repeat('😀', 256), repeat('😀', 257),
                                                                       repeat('x', 256), repeat('x', 257), '', chr(65533)]) END AS e
                                            FROM generate_series(1, (ARRAY[0, 1, 2, 5, 40, 256, 257])[1 + floor(random() * 7)::integer])) s)
             WHEN 6 THEN '[["nested"], "x"]'
             ELSE equiv.random_value(3)
           END
$$;

-- Meta: an object of 0-12 keys (sometimes 33-70), rarely a non-object.
CREATE FUNCTION equiv.random_meta() RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN random() < 0.03 THEN equiv.pick(ARRAY['[1, 2]', '"text"', '7', 'null', 'true', '[]'])
                ELSE '{' || coalesce((SELECT string_agg(to_jsonb(equiv.meta_key())::text || ':' || equiv.meta_value(), ',')
                                        FROM generate_series(1, CASE WHEN random() < 0.08 THEN 33 + floor(random() * 38)::integer
                                                                     ELSE floor(random() * 13)::integer END)), '') || '}'
           END
$$;

--------------------------------------------------------------------------------
-- canonical_json and selection_hash
--------------------------------------------------------------------------------

SELECT setseed(0.314159) \gset
CREATE TABLE equiv.docs AS
    SELECT i, equiv.random_doc()::jsonb AS doc FROM generate_series(1, :docs) i;
-- Long strings and keys (escapes, multibyte characters), equal long
-- elements, lengths around 64 KiB.
INSERT INTO equiv.docs
    SELECT -100000 - k, jsonb_build_object(repeat('k"', 40000 + k), repeat(E'a\n"\\é😀' || chr(1), 30000 + k),
                                           'arr', jsonb_build_array(repeat('x', 70000), repeat('x', 70000),
                                                                    repeat('y', 65536 + k), repeat('y', 65535 + k), k))
      FROM generate_series(0, 4) k;
-- A few deeply nested documents.
INSERT INTO equiv.docs
    SELECT -d, (repeat('[{"b":2,"a":', d) || '[3,1,3]' || repeat('},2,2]', d))::jsonb FROM generate_series(1, 2000, 97) d;

DO $$
DECLARE
    total   bigint;
    bad_c   bigint;
    bad_h   bigint;
    example jsonb;
BEGIN
    SELECT count(*),
           count(*) FILTER (WHERE inventory.canonical_json(doc) IS DISTINCT FROM equiv_ref.canonical_json(doc)),
           count(*) FILTER (WHERE inventory.selection_hash(doc) IS DISTINCT FROM equiv_ref.selection_hash(doc))
      INTO total, bad_c, bad_h FROM equiv.docs;
    RAISE NOTICE 'canonical_json / selection_hash: % documents, % and % differ', total, bad_c, bad_h;
    IF bad_c + bad_h > 0 THEN
        SELECT doc INTO example FROM equiv.docs
         WHERE inventory.canonical_json(doc) IS DISTINCT FROM equiv_ref.canonical_json(doc)
            OR inventory.selection_hash(doc) IS DISTINCT FROM equiv_ref.selection_hash(doc) LIMIT 1;
        RAISE EXCEPTION 'canonical form differs from the reference, e.g. for %', example;
    END IF;
END
$$;

-- Numbers outside the double range: the same error from both.
CREATE TABLE equiv.bad_docs AS
    SELECT i, ('{"ok":' || equiv.random_value(2) || ',"deep":[' || equiv.random_value(2) || ',{"n":'
               || equiv.pick(ARRAY['1e309', '-2e308', '1.8e308', '1e1000', '-1797693134862315800000' || repeat('0', 290)])
               || '}]}')::jsonb AS doc
      FROM generate_series(1, greatest(:docs / 50, 20)) i;

DO $$
DECLARE
    d    record;
    mine text;
    ref  text;
    n    integer := 0;
BEGIN
    FOR d IN SELECT doc FROM equiv.bad_docs LOOP
        BEGIN
            mine := inventory.canonical_json(d.doc);
        EXCEPTION WHEN OTHERS THEN
            mine := 'error ' || SQLSTATE || ': ' || SQLERRM;
        END;
        BEGIN
            ref := equiv_ref.canonical_json(d.doc);
        EXCEPTION WHEN OTHERS THEN
            ref := 'error ' || SQLSTATE || ': ' || SQLERRM;
        END;
        IF mine IS DISTINCT FROM ref OR mine NOT LIKE 'error 22003:%' THEN
            RAISE EXCEPTION 'canonical_json(%): % against reference %', d.doc, mine, ref;
        END IF;
        BEGIN
            mine := inventory.selection_hash(d.doc);
        EXCEPTION WHEN OTHERS THEN
            mine := 'error ' || SQLSTATE || ': ' || SQLERRM;
        END;
        BEGIN
            ref := equiv_ref.selection_hash(d.doc);
        EXCEPTION WHEN OTHERS THEN
            ref := 'error ' || SQLSTATE || ': ' || SQLERRM;
        END;
        IF mine IS DISTINCT FROM ref THEN
            RAISE EXCEPTION 'selection_hash(%): % against reference %', d.doc, mine, ref;
        END IF;
        n := n + 1;
    END LOOP;
    RAISE NOTICE 'out-of-range numbers: % documents, same error from both', n;
END
$$;

--------------------------------------------------------------------------------
-- filter_meta and filter_meta_counted
--------------------------------------------------------------------------------

-- A meta for whitelist 2 (k01..k40) that keeps most of its keys, so that
-- results have more than 32 children (where offsets replace lengths).
CREATE FUNCTION equiv.dense_meta() RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT '{' || string_agg(to_jsonb(k)::text || ':' || CASE WHEN random() < 0.1 THEN equiv.meta_value() ELSE
                  CASE kind WHEN 'string' THEN to_jsonb(equiv.random_string(20))::text
                            WHEN 'number' THEN equiv.random_number()
                            WHEN 'boolean' THEN equiv.pick(ARRAY['true', 'false'])
                            WHEN 'string_array' THEN '["a", "b", "c"]'
                            ELSE '"2024-02-29T10:00:00Z"' END END, ',') || ',"zz":' || equiv.random_value(2) || '}'
      FROM jsonb_each_text((SELECT allowed FROM equiv.whitelists WHERE id = 2)) AS w(k, kind)
     WHERE random() < 0.9
$$;

CREATE TABLE equiv.metas AS
    SELECT i, CASE WHEN i % 211 = 0 THEN NULL
                   WHEN i % 10 = 2 AND random() < 0.5 THEN equiv.dense_meta()::jsonb
                   ELSE equiv.random_meta()::jsonb END AS meta
      FROM generate_series(1, :docs) i;

-- The whitelist changes from row to row (each call site re-reads it) ...
DO $$
DECLARE
    total   bigint;
    bad     bigint;
    dropped bigint;
    example text;
BEGIN
    SELECT count(*),
           count(*) FILTER (WHERE equiv.bytes(inventory.filter_meta(m.meta, w.allowed))
                                  IS DISTINCT FROM equiv.bytes(equiv_ref.filter_meta(m.meta, w.allowed))
                               OR equiv.bytes((inventory.filter_meta_counted(m.meta, w.allowed)).meta)
                                  IS DISTINCT FROM equiv.bytes((equiv_ref.filter_meta_counted(m.meta, w.allowed)).meta)
                               OR (inventory.filter_meta_counted(m.meta, w.allowed)).dropped
                                  IS DISTINCT FROM (equiv_ref.filter_meta_counted(m.meta, w.allowed)).dropped),
           sum((equiv_ref.filter_meta_counted(m.meta, w.allowed)).dropped)
      INTO total, bad, dropped
      FROM equiv.metas m JOIN equiv.whitelists w ON w.id = m.i % 10;
    RAISE NOTICE 'filter_meta, whitelist varying by row: % documents (% keys dropped), % differ', total, dropped, bad;
    IF bad > 0 THEN
        SELECT format('meta %s, allowed %s', m.meta, w.allowed) INTO example
          FROM equiv.metas m JOIN equiv.whitelists w ON w.id = m.i % 10
         WHERE equiv.bytes(inventory.filter_meta(m.meta, w.allowed))
               IS DISTINCT FROM equiv.bytes(equiv_ref.filter_meta(m.meta, w.allowed))
            OR (inventory.filter_meta_counted(m.meta, w.allowed)).dropped
               IS DISTINCT FROM (equiv_ref.filter_meta_counted(m.meta, w.allowed)).dropped
         LIMIT 1;
        RAISE EXCEPTION 'filter_meta differs from the reference, e.g. for %', example;
    END IF;
END
$$;

-- ... and is one constant for the whole query.
DO $$
DECLARE
    w   record;
    bad bigint;
BEGIN
    FOR w IN SELECT id, allowed FROM equiv.whitelists ORDER BY id LOOP
        EXECUTE format($q$
            SELECT count(*) FILTER (WHERE equiv.bytes(inventory.filter_meta(meta, %1$L::jsonb))
                                          IS DISTINCT FROM equiv.bytes(equiv_ref.filter_meta(meta, %1$L::jsonb))
                                       OR (inventory.filter_meta_counted(meta, %1$L::jsonb)).dropped
                                          IS DISTINCT FROM (equiv_ref.filter_meta_counted(meta, %1$L::jsonb)).dropped)
              FROM equiv.metas$q$, w.allowed) INTO bad;
        IF bad > 0 THEN
            RAISE EXCEPTION 'filter_meta differs from the reference on % documents with whitelist %', bad, w.allowed;
        END IF;
    END LOOP;
    RAISE NOTICE 'filter_meta, each whitelist constant: no difference';
END
$$;

-- The one-argument form (whitelist from inventory.meta_keys).
DO $$
DECLARE
    bad bigint;
BEGIN
    SELECT count(*) FILTER (WHERE equiv.bytes(inventory.filter_meta(meta))
                                  IS DISTINCT FROM equiv.bytes(equiv_ref.filter_meta(meta,
                                      (SELECT jsonb_object_agg(key, kind) FROM inventory.meta_keys))))
      INTO bad FROM equiv.metas;
    IF bad > 0 THEN
        RAISE EXCEPTION 'filter_meta(meta) differs from the reference on % documents', bad;
    END IF;
    RAISE NOTICE 'filter_meta(meta): no difference';
END
$$;
