--------------------------------------------------------------------------------
-- Privileges
--------------------------------------------------------------------------------

-- Nothing is granted to PUBLIC but what tells a role about its own tenant
-- grants: the row-level security check, and the tenant role names (which
-- pg_roles shows everyone anyway) behind the tenant_access view. A reader set
-- up by hand (GRANT SELECT ON ALL TABLES IN SCHEMA inventory) then sees
-- exactly its granted tenants in every table and view instead of failing on
-- a function.
REVOKE ALL ON ALL TABLES IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON SCHEMA inventory FROM PUBLIC;
GRANT EXECUTE ON FUNCTION inventory.tenant_visible(uuid), inventory.tenant_role(uuid), inventory._tenant_roles() TO PUBLIC;
-- The shared rules are pure expressions over their arguments; the views that
-- use them run as their reader (and on Citus, on the workers).
GRANT EXECUTE ON FUNCTION
    inventory._watermark_covers(bigint, bigint, bigint, bigint, bigint),
    inventory._last_seen_run(bigint, bigint, bigint, bigint, bigint),
    inventory._last_seen_at(bigint, bigint, bigint, timestamptz, bigint, bigint, timestamptz),
    inventory._needs_write(bigint, bigint, bigint, bigint, bigint, bigint, text, jsonb, text, text, text, jsonb, text, text),
    inventory._staged_row_problem(text, text, text, text, text[], text[]),
    inventory._rejected_sample(text, text, text),
    inventory.limits(), inventory._limit(text),
    inventory._is_change(text, jsonb, text, text, jsonb, text),
    inventory._meta_changes(jsonb, jsonb),
    inventory._mass_missing(bigint, bigint, numeric, integer),
    inventory._setting_rank(uuid, text, uuid, text),
    inventory.trust_defaults()
    TO PUBLIC;
