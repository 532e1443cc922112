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
