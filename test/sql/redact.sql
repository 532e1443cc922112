-- docs/design.md §8: inventory.redact_secrets masks secrets in any text.

SELECT input, inventory.redact_secrets(input) AS redacted
  FROM (VALUES
    ('Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJl'),
    ('authorization: Basic dXNlcjpwYXNz'),
    ('request failed: bearer abc123.def456'),
    ('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-part_x in text'),
    ('grant_type=client_credentials&client_id=abc&client_secret=S3cr3t~value&scope=x'),
    ('{"client_secret": "S3cr3t", "client_id": "visible"}'),
    ('client_assertion=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln&client_assertion_type=urn:x'),
    ('https://graph.example/v1.0/x?access_token=tok123&$top=5'),
    ('{"access_token":"tok123","token_type":"Bearer"}'),
    ('password=hunter2; next'),
    ('"password": "hunter2"'),
    ('https://acct.blob.core.windows.net/c/f?sv=2020-08-04&sig=AbC%2Bdef%3D&se=2030'),
    ('secret value Abc8Q~aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 in a log'),
    ('https://user:pa55@proxy.example:8080/path'),
    ('https://graph.microsoft.com/beta/deviceManagement/configurationPolicies?$skiptoken=LastItemId%253d42%2526x'),
    ('https://graph.microsoft.com/beta/x?%24skiptoken=abc&$top=10'),
    ('https://graph.microsoft.com/beta/x?$deltatoken=abc'),
    ('nothing secret here: deviceConfiguration 3ffd7cd0-7cd0-3ffd-d07c-fd3fd07cfd3f'),
    ('the password policy requires 12 characters'),
    ('ends with Bearer')
  ) v(input);

-- Canaries in every form never survive.
SELECT bool_and(strpos(inventory.redact_secrets(t), 'CANARY7Q~') = 0
            AND strpos(inventory.redact_secrets(t), 'canarysecret') = 0) AS no_canary_left
  FROM (VALUES
    ('client_secret=canarysecret'), ('CLIENT_SECRET=canarysecret'), ('{"client_secret":"canarysecret"}'),
    ('{ "client_secret" : "canarysecret" }'), ('Authorization: Bearer canarysecret'), ('Bearer canarysecret'),
    ('x sig=canarysecret&y=1'), ('access_token=canarysecret'), ('https://u:canarysecret@h/'),
    ('Abc7Q~CANARY7Q~aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), ('password: canarysecret')
  ) v(t);

-- Never raises, whatever the text; STRICT.
SELECT count(*) AS inputs, bool_and(inventory.redact_secrets(t) IS NOT NULL) AS all_returned
  FROM (SELECT string_agg(chr(32 + ((i * j * 7919) % 95)), '') AS t
          FROM generate_series(1, 300) i, generate_series(1, 40) j GROUP BY i) s;
SELECT inventory.redact_secrets(NULL) IS NULL AS strict;
SELECT inventory.redact_secrets(repeat('Bearer x ', 20000)) = repeat('Bearer [REDACTED] ', 20000) AS long_input_redacted;

-- The forms a review found passing through (each value is 'canarysecret' or
-- contains it): none survives, and the surrounding text does.
SELECT v.form, strpos(inventory.redact_secrets(v.t), 'canarysecret') = 0 AS masked,
       strpos(inventory.redact_secrets(v.t), 'kept') > 0 AS rest_kept
  FROM (VALUES
    ('jwt split after a dot', E'kept eyJhbGciOiJIUzI1NiJ9.\neyJzdWIiOiJjYW5hcnlzZWNyZXQifQ.\ncanarysecretSIGNATUREabc'),
    ('json key, newline, value', E'kept {"client_secret":\n "canarysecret"}'),
    ('url-encoded key', 'kept client%5Fsecret=canarysecret'),
    ('double-encoded key', 'kept client%255Fsecret=canarysecret'),
    ('encoded equals sign', 'kept client_secret%3Dcanarysecret'),
    ('encoded sig', 'kept %73ig=canarysecret'),
    ('json unicode escape in key', 'kept {"client\u005fsecret": "canarysecret"}'),
    ('password with a comma', 'kept password=ab,canarysecret'),
    ('quoted password with spaces', 'kept password="a b canarysecret"'),
    ('Pwd in a connection string', 'Server=x;Pwd=canarysecret;kept=1'),
    ('PEM private key', E'kept -----BEGIN PRIVATE KEY-----\nMIIEcanarysecret\n-----END PRIVATE KEY-----'),
    ('passphrase', 'kept passphrase=canarysecret'),
    ('OAuth code', 'kept https://login/cb?code=0.AXoAcanarysecret-DEF_1&state=1'),
    ('APIM subscription key', 'kept Ocp-Apim-Subscription-Key: canarysecret')
  ) v(form, t)
 ORDER BY 1;
-- And these stay readable.
SELECT inventory.redact_secrets('error_code=graph_forbidden statuscode=403 request-id: 8a1f0000-0000-4000-8000-000000000001') AS untouched;
