--------------------------------------------------------------------------------
-- Privileges
--------------------------------------------------------------------------------

-- Nothing is granted to PUBLIC but the row-level security check itself: it
-- tells a role only whether it was granted a tenant, and a reader set up by
-- hand (GRANT SELECT ON ALL TABLES IN SCHEMA inventory) then sees exactly its
-- granted tenants instead of failing on the policy's function.
REVOKE ALL ON ALL TABLES IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON SCHEMA inventory FROM PUBLIC;
GRANT EXECUTE ON FUNCTION inventory.tenant_visible(uuid) TO PUBLIC;
