-- docs/design.md §3: canonical JSON (RFC 8785 + arrays as sets) and the selection hash.

-- Key order by UTF-16 code units, no whitespace, arrays sorted and deduplicated.
SELECT inventory.canonical_json('{"b": 1, "a": [3, 1, 2, 1], "c": {"z": null, "y": true}}');
SELECT inventory.canonical_json('["b", "a", "a", "b"]');
SELECT inventory.canonical_json('[[2, 1], [1, 2], {"a": 1}, {"a": 1.0}]');
SELECT inventory.canonical_json('"scalar"'), inventory.canonical_json('42'), inventory.canonical_json('null');

-- The seed's determinism case: order, whitespace and duplicates do not matter.
SELECT inventory.selection_hash('{"policy_types":["b","a"]}')
     = inventory.selection_hash('{ "policy_types" : ["a","b","a"] }') AS equal_hashes;
SELECT inventory.selection_hash('{"policy_types":["a"]}')
     = inventory.selection_hash('{"policy_types":["a"], "scope": "all"}') AS other_keys_change_hash;
SELECT length(inventory.selection_hash('{}')) AS hex_length,
       inventory.selection_hash('{}') ~ '^[0-9a-f]{64}$' AS lowercase_hex;
-- The hash is the SHA-256 of the canonical text's UTF-8 bytes.
SELECT inventory.selection_hash(d) = encode(sha256(convert_to(inventory.canonical_json(d), 'UTF8')), 'hex') AS sha256_of_canonical
  FROM (VALUES ('{"policy_types":["deviceConfiguration"],"x":[1,2,{"é":"ü"}]}'::jsonb)) v(d);

-- Numbers: the nearest double, written as ECMAScript does.
SELECT n, inventory.canonical_json(n::jsonb) AS canonical
  FROM (VALUES ('0'), ('-0'), ('1.0'), ('4.50'), ('2e-3'), ('1e23'), ('1e21'), ('1e20'), ('123456789012345680000'),
               ('1e-7'), ('0.000001'), ('-1.5e-9'), ('9007199254740993'), ('333333333.33333329'),
               ('1.7976931348623157e308'), ('5e-324'), ('2.2250738585072014e-308'), ('1e-400'),
               ('0.1'), ('100'), ('295147905179352830000')) v(n);
-- Outside the finite double range: SQLSTATE 22003.
\set VERBOSITY sqlstate
SELECT inventory.canonical_json('{"n": 1e400}');
SELECT inventory.selection_hash('{"policy_types": ["a"], "n": -1.8e308}');
\set VERBOSITY default

-- Strings: only the RFC 8785 escapes; tabs, newlines, backslashes, quotes,
-- slashes and emoji otherwise survive verbatim.
SELECT inventory.canonical_json(jsonb_build_object('s', E'tab\there\nnew "q" back\\slash /x/ \u0001 \u001f \u007f 😀 é'));
SELECT inventory.canonical_json('{"\u00e9": 1, "e": 2, "\ud83d\ude00": 3, "\ufb33": 4}');

-- RFC 8785 test vectors (test/vectors/jcs). Their arrays are already in
-- canonical order except in values.json, whose expectation is normalized by hand.
\set arrays_in `cat test/vectors/jcs/input/arrays.json`
\set arrays_out `cat test/vectors/jcs/output/arrays.json`
\set french_in `cat test/vectors/jcs/input/french.json`
\set french_out `cat test/vectors/jcs/output/french.json`
\set structures_in `cat test/vectors/jcs/input/structures.json`
\set structures_out `cat test/vectors/jcs/output/structures.json`
\set unicode_in `cat test/vectors/jcs/input/unicode.json`
\set unicode_out `cat test/vectors/jcs/output/unicode.json`
\set weird_in `cat test/vectors/jcs/input/weird.json`
\set weird_out `cat test/vectors/jcs/output/weird.json`
\set values_in `cat test/vectors/jcs/input/values.json`
SELECT name, inventory.canonical_json(input::jsonb) = expected AS matches_rfc8785
  FROM (VALUES ('arrays', :'arrays_in', :'arrays_out'),
               ('french', :'french_in', :'french_out'),
               ('structures', :'structures_in', :'structures_out'),
               ('unicode', :'unicode_in', :'unicode_out'),
               ('weird', :'weird_in', :'weird_out')) v(name, input, expected);
SELECT inventory.canonical_json(:'values_in'::jsonb)
     = '{"literals":[false,null,true],"numbers":[0.002,1e+30,1e-27,333333333.3333333,4.5],"string":"€$\u000f\nA''B\"\\\\\"/"}' AS values_vector;

-- Canonical text is a fixed point and parses back to an equivalent document.
SELECT inventory.canonical_json(inventory.canonical_json(d)::jsonb) = inventory.canonical_json(d) AS idempotent
  FROM (VALUES (:'weird_in'::jsonb), (:'values_in'::jsonb), (:'structures_in'::jsonb)) v(d);

-- STRICT: NULL in, NULL out.
SELECT inventory.canonical_json(NULL) IS NULL AS strict_canonical, inventory.selection_hash(NULL) IS NULL AS strict_hash;

-- Volatility and parallel labels.
SELECT p.proname, p.provolatile, p.proparallel, p.proisstrict
  FROM pg_proc p WHERE p.pronamespace = 'inventory'::regnamespace
   AND p.proname IN ('canonical_json', 'selection_hash') ORDER BY 1;
