-- docs/design.md §4: meta whitelist. Unknown keys and values of the wrong kind or over
-- the limits are dropped; no input ever raises.

\set allowed '{"s": "string", "n": "number", "b": "boolean", "a": "string_array", "t": "timestamp"}'

-- Keeps what fits, drops the rest.
SELECT inventory.filter_meta('{"s": "x", "n": 1.5, "b": true, "a": ["p", "q"], "t": "2024-02-29T10:00:00Z", "junk": 1}', :'allowed');
-- Wrong kinds are dropped key by key.
SELECT inventory.filter_meta('{"s": 1, "n": "1", "b": "true", "a": "p", "t": "yesterday"}', :'allowed');
SELECT inventory.filter_meta('{"a": ["ok", 1]}', :'allowed') AS mixed_array,
       inventory.filter_meta('{"a": [["nested"]]}', :'allowed') AS nested_array,
       inventory.filter_meta('{"a": {"k": "v"}}', :'allowed') AS object_for_array,
       inventory.filter_meta('{"s": null, "n": null}', :'allowed') AS nulls;
-- Limits: string <= 1024 characters (not bytes), string_array <= 256 strings of <= 256 characters.
SELECT inventory.filter_meta(jsonb_build_object('s', repeat('é', 1024)), :'allowed') ? 's' AS s_1024_kept,
       inventory.filter_meta(jsonb_build_object('s', repeat('x', 1025)), :'allowed') ? 's' AS s_1025_kept,
       inventory.filter_meta(jsonb_build_object('a', (SELECT jsonb_agg('v' || i) FROM generate_series(1, 256) i)), :'allowed') ? 'a' AS a_256_kept,
       inventory.filter_meta(jsonb_build_object('a', (SELECT jsonb_agg('v' || i) FROM generate_series(1, 257) i)), :'allowed') ? 'a' AS a_257_kept,
       inventory.filter_meta(jsonb_build_object('a', jsonb_build_array(repeat('😀', 256))), :'allowed') ? 'a' AS item_256_kept,
       inventory.filter_meta(jsonb_build_object('a', jsonb_build_array(repeat('x', 257))), :'allowed') ? 'a' AS item_257_kept;
-- Timestamps: ISO 8601 as Graph writes them; impossible dates are dropped.
SELECT t, inventory.filter_meta(jsonb_build_object('t', t), :'allowed') ? 't' AS kept
  FROM (VALUES ('2017-01-01T00:02:43.5775965-08:00'), ('2022-03-15T13:50:50Z'), ('2022-03-15T13:50:50'),
               ('2024-02-29'), ('2023-02-29T00:00:00Z'), ('2022-13-01T00:00:00Z'), ('2022-01-01T24:00:00Z'),
               ('2022-01-01 10:00:00'), (''), ('Mon, 01 Jan 2024 00:00:00 GMT')) v(t);

-- Never raises: NULL and non-objects give {}; unknown kinds keep nothing.
SELECT inventory.filter_meta(NULL, :'allowed') AS null_meta,
       inventory.filter_meta('[1, 2]', :'allowed') AS array_meta,
       inventory.filter_meta('"text"', :'allowed') AS scalar_meta,
       inventory.filter_meta('{"s": "x"}', NULL) AS null_allowed,
       inventory.filter_meta('{"s": "x"}', '[]') AS array_allowed,
       inventory.filter_meta('{"s": "x"}', '{"s": "blob"}') AS unknown_kind,
       inventory.filter_meta('{"s": "x"}', '{"s": 7}') AS non_text_kind;
-- Random documents of every shape never raise and only keep whitelisted keys.
SELECT count(*) AS documents,
       bool_and(f IS NOT NULL AND jsonb_typeof(f) = 'object') AS all_objects,
       bool_and(NOT EXISTS (SELECT 1 FROM jsonb_object_keys(f) k WHERE NOT (:'allowed'::jsonb) ? k)) AS only_allowed_keys
  FROM (SELECT inventory.filter_meta(doc, :'allowed') AS f
          FROM (SELECT CASE i % 7
                         WHEN 0 THEN jsonb_build_object('s', i, 'n', i::text, 'x', i)
                         WHEN 1 THEN jsonb_build_array(i, 's')
                         WHEN 2 THEN to_jsonb(i)
                         WHEN 3 THEN jsonb_build_object('a', jsonb_build_array(i, NULL, 'z'), 't', 'bogus')
                         WHEN 4 THEN jsonb_build_object('b', i % 2 = 0, 'n', i * 1.5, 's', repeat('q', i))
                         WHEN 5 THEN jsonb_build_object('t', '2020-01-0' || (i % 9 + 1) || 'T00:00:00Z', 'a', '[]'::jsonb)
                         ELSE 'null'::jsonb END AS doc
                  FROM generate_series(1, 2000) i) d) r;

-- Nothing dropped: the same document comes back.
SELECT inventory.filter_meta('{"s": "x", "n": 2}', :'allowed') = '{"s": "x", "n": 2}' AS unchanged;

-- The counting form reports how many keys were dropped.
SELECT * FROM inventory.filter_meta_counted('{"s": "x", "n": "wrong", "junk": 1, "more": 2}', :'allowed');
SELECT * FROM inventory.filter_meta_counted('[1]', :'allowed');
SELECT * FROM inventory.filter_meta_counted(NULL, :'allowed');

-- The one-argument form uses inventory.meta_keys with its seeded defaults.
SELECT key, kind FROM inventory.meta_keys ORDER BY key;
SELECT inventory.filter_meta('{"odata_type": "#microsoft.graph.windows10GeneralConfiguration", "platform": "windows10",
                               "technologies": ["mdm", "microsoftSense"], "created_at": "2017-01-01T00:02:43.5775965-08:00",
                               "version": "7", "scope_tag_ids": ["0"], "is_assigned": true, "setting_count": 12,
                               "description": "free text is not kept", "secret": "nope", "version_number": 7}');
-- Adding a key to the whitelist is an INSERT.
INSERT INTO inventory.meta_keys (key, kind) VALUES ('owner_team', 'string');
SELECT inventory.filter_meta('{"owner_team": "desktop", "other": 1}');
DELETE FROM inventory.meta_keys WHERE key = 'owner_team';
-- Kinds are checked.
\set VERBOSITY sqlstate
INSERT INTO inventory.meta_keys (key, kind) VALUES ('bad', 'blob');
\set VERBOSITY default
