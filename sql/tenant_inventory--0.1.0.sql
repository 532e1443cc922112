-- tenant_inventory 0.1.0
-- A tenant-scoped "last observed" inventory of Microsoft Intune configuration objects.
\echo Use "CREATE EXTENSION tenant_inventory" to load this file. \quit

--------------------------------------------------------------------------------
-- C++ functions: canonical JSON, hashing, meta whitelist, redaction, lock keys
--------------------------------------------------------------------------------

CREATE FUNCTION inventory.canonical_json(doc jsonb) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_canonical_json';
COMMENT ON FUNCTION inventory.canonical_json(jsonb) IS
'Canonical text of a JSON document: RFC 8785 (JCS) with arrays treated as sets (sorted by canonical text, duplicates removed). Numbers outside the double range raise SQLSTATE 22003.';

CREATE FUNCTION inventory.selection_hash(selection jsonb) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_selection_hash';
COMMENT ON FUNCTION inventory.selection_hash(jsonb) IS
'Lowercase hex SHA-256 of inventory.canonical_json(selection): equal for selections that differ only in key order, whitespace, array order or duplicates.';

CREATE FUNCTION inventory.filter_meta(meta jsonb, allowed jsonb) RETURNS jsonb
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_filter_meta';
COMMENT ON FUNCTION inventory.filter_meta(jsonb, jsonb) IS
'Keeps the keys of meta that allowed (key -> kind: string, number, boolean, string_array, timestamp) lists and whose values have that kind and fit its limits. Never raises: NULL or a non-object gives {}.';

CREATE FUNCTION inventory.filter_meta_counted(meta jsonb, allowed jsonb, OUT meta jsonb, OUT dropped integer)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_filter_meta_counted';
COMMENT ON FUNCTION inventory.filter_meta_counted(jsonb, jsonb) IS
'inventory.filter_meta(meta, allowed) together with the number of top-level keys it dropped (a non-object meta counts as one).';

CREATE FUNCTION inventory.redact_secrets(message text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_redact_secrets';
COMMENT ON FUNCTION inventory.redact_secrets(text) IS
'Masks secrets in a text: Authorization headers, bearer tokens, JWTs, client_secret/client_assertion/access_token/password/sig values (form, query and JSON forms), Entra client-secret shapes, URL user info and paging tokens.';

CREATE FUNCTION inventory.sync_lock_key(tenant_id uuid, selection_hash text) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_sync_lock_key';
COMMENT ON FUNCTION inventory.sync_lock_key(uuid, text) IS
'Key of the session-level advisory lock (bigint key space) held by the session that owns the running run of (tenant, selection hash). In pg_locks: locktype advisory, objsubid 1, (classid << 32) | objid = key.';

CREATE FUNCTION inventory._holds_sync_lock(key bigint) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_holds_sync_lock';
COMMENT ON FUNCTION inventory._holds_sync_lock(bigint) IS
'Internal: true when this session holds the run lock with this key.';

CREATE FUNCTION inventory._lock_policy_type(tenant_id uuid, policy_type text, exclusive boolean) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_lock_policy_type';
COMMENT ON FUNCTION inventory._lock_policy_type(uuid, text, boolean) IS
'Internal: transaction-level lock on (tenant, policy type), SHARE for writers of items, EXCLUSIVE for the completion of an enumeration (advisory lock, objsubid 3).';

CREATE FUNCTION inventory._outer_user() RETURNS name
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_outer_user';
COMMENT ON FUNCTION inventory._outer_user() IS
'Internal: the role that called into the extension (current_user outside any SECURITY DEFINER function).';

--------------------------------------------------------------------------------
-- Registry and configuration
--------------------------------------------------------------------------------

CREATE TABLE inventory.policy_types (
    policy_type  text PRIMARY KEY
                 CHECK (policy_type ~ '^[A-Za-z][A-Za-z0-9_]{0,99}$'),
    graph_path   text NOT NULL
                 CHECK (graph_path ~ '^[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*$'),
    api_version  text NOT NULL CHECK (api_version IN ('v1.0', 'beta')),
    name_field   text NOT NULL DEFAULT 'displayName'
                 CHECK (name_field ~ '^[A-Za-z@][A-Za-z0-9_.]*$'),
    enabled      boolean NOT NULL DEFAULT true,
    description  text,
    builtin      boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE inventory.policy_types IS
'Registry of the Microsoft Graph collections the fetcher enumerates, one row per policy type. Adding a type is an INSERT.';
COMMENT ON COLUMN inventory.policy_types.policy_type IS 'Name used in selections and on items, e.g. deviceConfiguration.';
COMMENT ON COLUMN inventory.policy_types.graph_path IS 'Collection path below the API version, e.g. deviceManagement/deviceConfigurations.';
COMMENT ON COLUMN inventory.policy_types.api_version IS 'Graph API version: v1.0 or beta.';
COMMENT ON COLUMN inventory.policy_types.name_field IS 'Property holding the display name (displayName, name, ...).';
COMMENT ON COLUMN inventory.policy_types.enabled IS 'Disabled types are rejected in new selections.';
COMMENT ON COLUMN inventory.policy_types.description IS 'What the type is, for people.';
COMMENT ON COLUMN inventory.policy_types.builtin IS 'Row seeded by the extension (not dumped by pg_dump; user rows are).';

INSERT INTO inventory.policy_types (policy_type, graph_path, api_version, name_field, description, builtin) VALUES
 ('deviceConfiguration', 'deviceManagement/deviceConfigurations', 'beta', 'displayName', 'Device configuration profiles (templates)', true),
 ('deviceCompliancePolicy', 'deviceManagement/deviceCompliancePolicies', 'beta', 'displayName', 'Device compliance policies', true),
 ('configurationPolicy', 'deviceManagement/configurationPolicies', 'beta', 'name', 'Settings catalog policies (incl. endpoint security on the unified platform)', true),
 ('compliancePolicy', 'deviceManagement/compliancePolicies', 'beta', 'name', 'Settings-based compliance policies', true),
 ('intent', 'deviceManagement/intents', 'beta', 'displayName', 'Endpoint security intents (template-based)', true),
 ('groupPolicyConfiguration', 'deviceManagement/groupPolicyConfigurations', 'beta', 'displayName', 'Administrative templates (ADMX)', true),
 ('deviceManagementScript', 'deviceManagement/deviceManagementScripts', 'beta', 'displayName', 'Windows platform scripts (PowerShell)', true),
 ('deviceShellScript', 'deviceManagement/deviceShellScripts', 'beta', 'displayName', 'macOS shell scripts', true),
 ('deviceHealthScript', 'deviceManagement/deviceHealthScripts', 'beta', 'displayName', 'Remediations (proactive remediation scripts)', true),
 ('windowsAutopilotDeploymentProfile', 'deviceManagement/windowsAutopilotDeploymentProfiles', 'beta', 'displayName', 'Windows Autopilot deployment profiles', true),
 ('deviceEnrollmentConfiguration', 'deviceManagement/deviceEnrollmentConfigurations', 'beta', 'displayName', 'Enrollment configurations (restrictions, ESP, Windows Hello)', true),
 ('mobileApp', 'deviceAppManagement/mobileApps', 'beta', 'displayName', 'Apps', true),
 ('managedAppPolicy', 'deviceAppManagement/managedAppPolicies', 'beta', 'displayName', 'App protection policies', true),
 ('mobileAppConfiguration', 'deviceAppManagement/mobileAppConfigurations', 'beta', 'displayName', 'App configuration policies for managed devices', true),
 ('targetedManagedAppConfiguration', 'deviceAppManagement/targetedManagedAppConfigurations', 'beta', 'displayName', 'App configuration policies for managed apps', true),
 ('windowsFeatureUpdateProfile', 'deviceManagement/windowsFeatureUpdateProfiles', 'beta', 'displayName', 'Windows feature update profiles', true),
 ('assignmentFilter', 'deviceManagement/assignmentFilters', 'beta', 'displayName', 'Assignment filters', true),
 ('roleScopeTag', 'deviceManagement/roleScopeTags', 'beta', 'displayName', 'Scope tags', true),
 ('roleDefinition', 'deviceManagement/roleDefinitions', 'beta', 'displayName', 'Intune role definitions', true),
 ('notificationMessageTemplate', 'deviceManagement/notificationMessageTemplates', 'beta', 'displayName', 'Compliance notification templates', true),
 ('termsAndConditions', 'deviceManagement/termsAndConditions', 'beta', 'displayName', 'Terms and conditions', true),
 ('conditionalAccessPolicy', 'identity/conditionalAccess/policies', 'v1.0', 'displayName', 'Entra conditional access policies', true);

CREATE TABLE inventory.meta_keys (
    key      text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    kind     text NOT NULL CHECK (kind IN ('string', 'number', 'boolean', 'string_array', 'timestamp')),
    builtin  boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE inventory.meta_keys IS
'Whitelist of item meta keys and their kinds; inventory.filter_meta(meta) drops every other key.';
COMMENT ON COLUMN inventory.meta_keys.key IS 'Meta key kept on items.';
COMMENT ON COLUMN inventory.meta_keys.kind IS 'string (<= 1024 chars), number, boolean, string_array (<= 256 strings of <= 256 chars) or timestamp (ISO 8601).';
COMMENT ON COLUMN inventory.meta_keys.builtin IS 'Row seeded by the extension.';

INSERT INTO inventory.meta_keys (key, kind, builtin) VALUES
 ('odata_type', 'string', true),
 ('platform', 'string', true),
 ('technologies', 'string_array', true),
 ('created_at', 'timestamp', true),
 ('last_modified_at', 'timestamp', true),
 ('version', 'string', true),
 ('scope_tag_ids', 'string_array', true),
 ('is_assigned', 'boolean', true),
 ('assignment_target_count', 'number', true),
 ('template_family', 'string', true),
 ('template_id', 'string', true),
 ('setting_count', 'number', true),
 ('state', 'string', true),
 ('priority', 'number', true),
 ('warnings', 'string_array', true);

CREATE FUNCTION inventory.filter_meta(meta jsonb) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    SELECT inventory.filter_meta(meta,
        (SELECT coalesce(jsonb_object_agg(k.key, k.kind), '{}'::jsonb) FROM inventory.meta_keys k))
$$;
COMMENT ON FUNCTION inventory.filter_meta(jsonb) IS
'inventory.filter_meta(meta, allowed) with the whitelist of table inventory.meta_keys.';

CREATE TABLE inventory.tenant_access (
    role       name NOT NULL,
    tenant_id  uuid NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, role)
);
CREATE INDEX tenant_access_role_idx ON inventory.tenant_access (role);
COMMENT ON TABLE inventory.tenant_access IS
'Which roles may see (and, for sync roles, sync) which tenants. A role sees a tenant when it is a member of a role listed here for it; the owner and superusers see all.';
COMMENT ON COLUMN inventory.tenant_access.role IS 'Role granted the tenant (members inherit it).';
COMMENT ON COLUMN inventory.tenant_access.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.tenant_access.granted_at IS 'When the grant was made.';

--------------------------------------------------------------------------------
-- Runs, per-type outcomes, items
--------------------------------------------------------------------------------

CREATE SEQUENCE inventory.run_id_seq;
COMMENT ON SEQUENCE inventory.run_id_seq IS 'Run ids: increasing in start order.';

CREATE TABLE inventory.inventory_sync_runs (
    id                 bigint NOT NULL DEFAULT nextval('inventory.run_id_seq'),
    tenant_id          uuid NOT NULL,
    selection_hash     text NOT NULL CHECK (selection_hash ~ '^[0-9a-f]{64}$'),
    selection_payload  jsonb NOT NULL,
    policy_types       text[] NOT NULL,
    status             text NOT NULL DEFAULT 'running'
                       CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    had_errors         boolean NOT NULL DEFAULT false,
    started_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at        timestamptz,
    items_observed     bigint NOT NULL DEFAULT 0,
    items_created      bigint NOT NULL DEFAULT 0,
    items_updated      bigint NOT NULL DEFAULT 0,
    items_unchanged    bigint NOT NULL DEFAULT 0,
    items_rejected     bigint NOT NULL DEFAULT 0,
    meta_keys_dropped  bigint NOT NULL DEFAULT 0,
    error_codes        text[] NOT NULL DEFAULT '{}',
    errors             jsonb NOT NULL DEFAULT '[]',
    correlation_id     uuid,
    owner_role         name,
    owner_pid          integer,
    PRIMARY KEY (tenant_id, id),
    CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE UNIQUE INDEX inventory_sync_runs_one_running
    ON inventory.inventory_sync_runs (tenant_id, selection_hash) WHERE status = 'running';
CREATE INDEX inventory_sync_runs_id ON inventory.inventory_sync_runs (id);
CREATE INDEX inventory_sync_runs_latest
    ON inventory.inventory_sync_runs (tenant_id, selection_hash, id DESC) WHERE status <> 'running';
COMMENT ON TABLE inventory.inventory_sync_runs IS
'One row per sync run of a tenant and selection; written only by the run lifecycle functions.';
COMMENT ON COLUMN inventory.inventory_sync_runs.id IS 'Run id, increasing in start order.';
COMMENT ON COLUMN inventory.inventory_sync_runs.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.inventory_sync_runs.selection_hash IS 'inventory.selection_hash(selection).';
COMMENT ON COLUMN inventory.inventory_sync_runs.selection_payload IS 'The selection in canonical form (arrays sorted and deduplicated).';
COMMENT ON COLUMN inventory.inventory_sync_runs.policy_types IS 'The selection''s policy types, sorted.';
COMMENT ON COLUMN inventory.inventory_sync_runs.status IS 'running, succeeded (every type complete), partial (some types not complete) or failed (none complete, fatal error, cancelled or abandoned).';
COMMENT ON COLUMN inventory.inventory_sync_runs.had_errors IS 'True when the run recorded any error or rejected any staged row.';
COMMENT ON COLUMN inventory.inventory_sync_runs.started_at IS 'When begin_sync_run created the run.';
COMMENT ON COLUMN inventory.inventory_sync_runs.finished_at IS 'When the run finished (NULL while running).';
COMMENT ON COLUMN inventory.inventory_sync_runs.items_observed IS 'Staged rows applied (duplicates within a batch count once).';
COMMENT ON COLUMN inventory.inventory_sync_runs.items_created IS 'Items seen for the first time.';
COMMENT ON COLUMN inventory.inventory_sync_runs.items_updated IS 'Items whose name, meta or content changed, or that came back after being absent.';
COMMENT ON COLUMN inventory.inventory_sync_runs.items_unchanged IS 'Items observed without a change.';
COMMENT ON COLUMN inventory.inventory_sync_runs.items_rejected IS 'Staged rows not applied (bad_staged_row): empty external_id, type outside the selection or already completed, malformed content hash.';
COMMENT ON COLUMN inventory.inventory_sync_runs.meta_keys_dropped IS 'Meta keys removed by the whitelist over all applied rows.';
COMMENT ON COLUMN inventory.inventory_sync_runs.error_codes IS 'Distinct error codes of the run, sorted.';
COMMENT ON COLUMN inventory.inventory_sync_runs.errors IS 'Error details (bounded, every string redacted, messages <= 512 chars).';
COMMENT ON COLUMN inventory.inventory_sync_runs.correlation_id IS 'Caller-supplied id tying the run to logs.';
COMMENT ON COLUMN inventory.inventory_sync_runs.owner_role IS 'Role that started the run.';
COMMENT ON COLUMN inventory.inventory_sync_runs.owner_pid IS 'Backend pid of the session that started the run.';

CREATE TABLE inventory.inventory_sync_run_types (
    tenant_id     uuid NOT NULL,
    run_id        bigint NOT NULL,
    policy_type   text NOT NULL,
    status        text NOT NULL CHECK (status IN ('complete', 'incomplete', 'failed')),
    pages         integer NOT NULL DEFAULT 0 CHECK (pages >= 0),
    items_seen    integer NOT NULL DEFAULT 0 CHECK (items_seen >= 0),
    error_code    text,
    completed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, run_id, policy_type),
    FOREIGN KEY (tenant_id, run_id) REFERENCES inventory.inventory_sync_runs (tenant_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE inventory.inventory_sync_run_types IS
'Outcome of each policy type of a run.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.run_id IS 'The run.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.policy_type IS 'The policy type.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.status IS 'complete (every page read), incomplete (stopped part way) or failed (nothing usable).';
COMMENT ON COLUMN inventory.inventory_sync_run_types.pages IS 'Pages read.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.items_seen IS 'Items the fetcher read for this type.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.error_code IS 'Error code when not complete.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.completed_at IS 'When the outcome was recorded.';

-- The latest complete enumeration of each (tenant, policy type): every item
-- of that type that was present when it completed and has not been written
-- since was observed by it. This is what lets a re-sync that finds nothing
-- changed write no item rows at all.
CREATE TABLE inventory.type_watermarks (
    tenant_id     uuid NOT NULL,
    policy_type   text NOT NULL,
    run_id        bigint NOT NULL,
    observed_at   timestamptz NOT NULL,
    seq           bigint NOT NULL,
    PRIMARY KEY (tenant_id, policy_type),
    FOREIGN KEY (tenant_id, run_id) REFERENCES inventory.inventory_sync_runs (tenant_id, id)
);
COMMENT ON TABLE inventory.type_watermarks IS
'Internal: newest run that enumerated a (tenant, policy type) completely, and the write sequence value at that moment. Items written before it and not absent were observed by it.';
COMMENT ON COLUMN inventory.type_watermarks.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.type_watermarks.policy_type IS 'The policy type.';
COMMENT ON COLUMN inventory.type_watermarks.run_id IS 'Newest run with a complete enumeration of the type.';
COMMENT ON COLUMN inventory.type_watermarks.observed_at IS 'When that enumeration completed (the last_seen_at it gives its items).';
COMMENT ON COLUMN inventory.type_watermarks.seq IS 'Value of inventory.write_seq when that enumeration completed.';

CREATE SEQUENCE inventory.write_seq;
COMMENT ON SEQUENCE inventory.write_seq IS 'Internal: orders item writes against type watermarks.';
CREATE SEQUENCE inventory.item_id_seq;
COMMENT ON SEQUENCE inventory.item_id_seq IS 'Item ids.';

CREATE TABLE inventory.item_state (
    tenant_id            uuid NOT NULL,
    policy_type          text NOT NULL,
    external_id          text NOT NULL CHECK (external_id <> ''),
    id                   bigint NOT NULL DEFAULT nextval('inventory.item_id_seq'),
    display_name         text,
    meta_jsonb           jsonb NOT NULL DEFAULT '{}',
    content_hash         text,
    first_seen_at        timestamptz NOT NULL,
    first_seen_run_id    bigint NOT NULL,
    seen_at              timestamptz NOT NULL,
    seen_run_id          bigint NOT NULL,
    content_changed_at   timestamptz NOT NULL,
    content_changed_run_id bigint NOT NULL,
    write_seq            bigint NOT NULL,
    absent_since_run_id  bigint,
    PRIMARY KEY (tenant_id, policy_type, external_id)
);
CREATE INDEX item_state_absent ON inventory.item_state (tenant_id, policy_type)
    WHERE absent_since_run_id IS NOT NULL;
COMMENT ON TABLE inventory.item_state IS
'Stored item rows. Read them through inventory.inventory_items: last_seen_* are derived from these columns and inventory.type_watermarks, so unchanged items are never rewritten.';
COMMENT ON COLUMN inventory.item_state.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.item_state.policy_type IS 'Policy type (inventory.policy_types).';
COMMENT ON COLUMN inventory.item_state.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.item_state.id IS 'Item id.';
COMMENT ON COLUMN inventory.item_state.display_name IS 'Name as last observed.';
COMMENT ON COLUMN inventory.item_state.meta_jsonb IS 'Whitelisted meta as last observed.';
COMMENT ON COLUMN inventory.item_state.content_hash IS 'SHA-256 of the canonical object without volatile keys, as last observed.';
COMMENT ON COLUMN inventory.item_state.first_seen_at IS 'When the item was first observed.';
COMMENT ON COLUMN inventory.item_state.first_seen_run_id IS 'Run that first observed the item.';
COMMENT ON COLUMN inventory.item_state.seen_at IS 'Time of the newest observation written to this row.';
COMMENT ON COLUMN inventory.item_state.seen_run_id IS 'Run of the newest observation written to this row.';
COMMENT ON COLUMN inventory.item_state.content_changed_at IS 'When content_hash last changed (or first_seen_at).';
COMMENT ON COLUMN inventory.item_state.content_changed_run_id IS 'Run that observed the current content_hash first.';
COMMENT ON COLUMN inventory.item_state.write_seq IS 'Value of inventory.write_seq when the row was last written.';
COMMENT ON COLUMN inventory.item_state.absent_since_run_id IS 'First run with a complete enumeration of the type that did not list the item (NULL while present).';

--------------------------------------------------------------------------------
-- Row-level security
--------------------------------------------------------------------------------

CREATE FUNCTION inventory._is_member_of(role_name name) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                    WHERE r.rolname = role_name AND pg_catalog.pg_has_role(r.oid, 'MEMBER'))
$$;
COMMENT ON FUNCTION inventory._is_member_of(name) IS
'Internal: true when current_user is a member of the named role (false for a role that no longer exists).';

CREATE FUNCTION inventory.visible_tenants() RETURNS uuid[]
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    SELECT coalesce(array_agg(DISTINCT a.tenant_id), '{}')
      FROM inventory.tenant_access a
     WHERE inventory._is_member_of(a.role)
$$;
COMMENT ON FUNCTION inventory.visible_tenants() IS
'Tenants current_user may see through inventory.tenant_access (owners and superusers see every tenant regardless).';

ALTER TABLE inventory.tenant_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_access_own ON inventory.tenant_access
    FOR SELECT USING (inventory._is_member_of(role));

ALTER TABLE inventory.inventory_sync_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY runs_by_tenant ON inventory.inventory_sync_runs
    FOR SELECT USING (tenant_id = ANY ((SELECT inventory.visible_tenants())::uuid[]));

ALTER TABLE inventory.inventory_sync_run_types ENABLE ROW LEVEL SECURITY;
CREATE POLICY run_types_by_tenant ON inventory.inventory_sync_run_types
    FOR SELECT USING (tenant_id = ANY ((SELECT inventory.visible_tenants())::uuid[]));

ALTER TABLE inventory.type_watermarks ENABLE ROW LEVEL SECURITY;
CREATE POLICY watermarks_by_tenant ON inventory.type_watermarks
    FOR SELECT USING (tenant_id = ANY ((SELECT inventory.visible_tenants())::uuid[]));

ALTER TABLE inventory.item_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY items_by_tenant ON inventory.item_state
    FOR SELECT USING (tenant_id = ANY ((SELECT inventory.visible_tenants())::uuid[]));

-- Row-level security does not cover planner statistics: PostgreSQL uses them
-- for any leakproof operator (uuid and text '=' are), so EXPLAIN would show a
-- reader how many rows another tenant has, or that a name or id exists
-- elsewhere. No statistics are gathered on the columns that identify a tenant
-- or describe its items; every query of the extension reaches item rows
-- through an index on tenant_id and needs none.
ALTER TABLE inventory.item_state ALTER COLUMN tenant_id SET STATISTICS 0,
                                 ALTER COLUMN external_id SET STATISTICS 0,
                                 ALTER COLUMN display_name SET STATISTICS 0,
                                 ALTER COLUMN meta_jsonb SET STATISTICS 0,
                                 ALTER COLUMN content_hash SET STATISTICS 0;
ALTER TABLE inventory.inventory_sync_runs ALTER COLUMN tenant_id SET STATISTICS 0;
ALTER TABLE inventory.inventory_sync_run_types ALTER COLUMN tenant_id SET STATISTICS 0;
ALTER TABLE inventory.type_watermarks ALTER COLUMN tenant_id SET STATISTICS 0;
ALTER TABLE inventory.tenant_access ALTER COLUMN tenant_id SET STATISTICS 0;

--------------------------------------------------------------------------------
-- Views
--------------------------------------------------------------------------------

CREATE VIEW inventory.inventory_items WITH (security_invoker = true) AS
SELECT i.id,
       i.tenant_id,
       i.policy_type,
       i.external_id,
       i.display_name,
       i.meta_jsonb,
       i.content_hash,
       i.first_seen_at,
       i.first_seen_run_id,
       CASE WHEN i.absent_since_run_id IS NULL AND w.seq > i.write_seq AND w.run_id > i.seen_run_id
            THEN w.observed_at ELSE i.seen_at END AS last_seen_at,
       CASE WHEN i.absent_since_run_id IS NULL AND w.seq > i.write_seq AND w.run_id > i.seen_run_id
            THEN w.run_id ELSE i.seen_run_id END AS last_seen_run_id,
       i.content_changed_at,
       i.content_changed_run_id,
       i.absent_since_run_id IS NULL AS present
  FROM inventory.item_state i
  LEFT JOIN inventory.type_watermarks w
         ON w.tenant_id = i.tenant_id AND w.policy_type = i.policy_type;
COMMENT ON VIEW inventory.inventory_items IS
'Every item ever observed per tenant, policy type and Graph id, as last observed.';
COMMENT ON COLUMN inventory.inventory_items.id IS 'Item id.';
COMMENT ON COLUMN inventory.inventory_items.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.inventory_items.policy_type IS 'Policy type (inventory.policy_types).';
COMMENT ON COLUMN inventory.inventory_items.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.inventory_items.display_name IS 'Name as last observed.';
COMMENT ON COLUMN inventory.inventory_items.meta_jsonb IS 'Whitelisted meta as last observed (inventory.meta_keys).';
COMMENT ON COLUMN inventory.inventory_items.content_hash IS 'SHA-256 of the canonical object without volatile keys, as last observed.';
COMMENT ON COLUMN inventory.inventory_items.first_seen_at IS 'When the item was first observed.';
COMMENT ON COLUMN inventory.inventory_items.first_seen_run_id IS 'Run that first observed the item.';
COMMENT ON COLUMN inventory.inventory_items.last_seen_at IS 'When the newest run that observed the item observed it.';
COMMENT ON COLUMN inventory.inventory_items.last_seen_run_id IS 'Newest run that observed the item (never moves back to an older run).';
COMMENT ON COLUMN inventory.inventory_items.content_changed_at IS 'When the content hash last changed (first_seen_at if never).';
COMMENT ON COLUMN inventory.inventory_items.content_changed_run_id IS 'Run that observed the current content first.';
COMMENT ON COLUMN inventory.inventory_items.present IS 'False once a complete enumeration of the type no longer listed the item (until it is observed again).';

CREATE VIEW inventory.latest_sync_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (r.tenant_id, r.selection_hash)
       r.tenant_id,
       r.selection_hash,
       r.id AS run_id,
       r.status,
       r.had_errors,
       r.started_at,
       r.finished_at,
       r.finished_at - r.started_at AS duration,
       r.selection_payload,
       r.policy_types,
       r.items_observed,
       r.items_created,
       r.items_updated,
       r.items_unchanged,
       r.items_rejected,
       r.meta_keys_dropped,
       r.error_codes,
       r.correlation_id
  FROM inventory.inventory_sync_runs r
 WHERE r.status <> 'running'
 ORDER BY r.tenant_id, r.selection_hash, r.id DESC;
COMMENT ON VIEW inventory.latest_sync_runs IS
'The latest finished run (succeeded, partial or failed) of each tenant and selection.';
COMMENT ON COLUMN inventory.latest_sync_runs.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.latest_sync_runs.selection_hash IS 'Selection hash.';
COMMENT ON COLUMN inventory.latest_sync_runs.run_id IS 'The latest finished run.';
COMMENT ON COLUMN inventory.latest_sync_runs.status IS 'succeeded, partial or failed.';
COMMENT ON COLUMN inventory.latest_sync_runs.had_errors IS 'Whether the run recorded errors.';
COMMENT ON COLUMN inventory.latest_sync_runs.started_at IS 'Start of the run.';
COMMENT ON COLUMN inventory.latest_sync_runs.finished_at IS 'End of the run.';
COMMENT ON COLUMN inventory.latest_sync_runs.duration IS 'finished_at - started_at.';
COMMENT ON COLUMN inventory.latest_sync_runs.selection_payload IS 'Canonical selection.';
COMMENT ON COLUMN inventory.latest_sync_runs.policy_types IS 'Policy types of the selection.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_observed IS 'Staged rows applied.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_created IS 'New items.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_updated IS 'Changed or returned items.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_unchanged IS 'Unchanged items.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_rejected IS 'Rejected staged rows.';
COMMENT ON COLUMN inventory.latest_sync_runs.meta_keys_dropped IS 'Meta keys dropped by the whitelist.';
COMMENT ON COLUMN inventory.latest_sync_runs.error_codes IS 'Distinct error codes.';
COMMENT ON COLUMN inventory.latest_sync_runs.correlation_id IS 'Caller-supplied correlation id.';

CREATE VIEW inventory.missing_items WITH (security_invoker = true) AS
SELECT l.tenant_id,
       l.selection_hash,
       i.policy_type,
       i.external_id,
       i.display_name,
       i.id AS item_id,
       'missing'::text AS state,
       i.last_seen_at,
       i.last_seen_run_id,
       l.run_id AS latest_run_id,
       l.status AS latest_run_status,
       CASE WHEN reasons.r = '{}' THEN 'high' ELSE 'low' END AS confidence,
       reasons.r AS low_confidence_reasons
  FROM inventory.latest_sync_runs l
  JOIN inventory.inventory_items i
    ON i.tenant_id = l.tenant_id
   AND i.policy_type = ANY (l.policy_types)
  LEFT JOIN inventory.inventory_sync_run_types rt
    ON rt.tenant_id = l.tenant_id AND rt.run_id = l.run_id AND rt.policy_type = i.policy_type
 CROSS JOIN LATERAL (
       SELECT array_remove(ARRAY[
                CASE WHEN l.status = 'partial' THEN 'run_partial' END,
                CASE WHEN l.status = 'failed' THEN 'run_failed' END,
                CASE WHEN l.had_errors THEN 'run_had_errors' END,
                CASE WHEN rt.status IS DISTINCT FROM 'complete' THEN 'policy_type_incomplete' END
              ], NULL) AS r) reasons
 WHERE i.last_seen_run_id < l.run_id;
COMMENT ON VIEW inventory.missing_items IS
'Items that the latest finished run of a tenant and selection did not observe (neither did any run started after it), for the policy types of that selection. confidence is high only when that run succeeded without errors and enumerated the type completely.';
COMMENT ON COLUMN inventory.missing_items.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.missing_items.selection_hash IS 'Selection the item is missing for.';
COMMENT ON COLUMN inventory.missing_items.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.missing_items.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.missing_items.display_name IS 'Name as last observed.';
COMMENT ON COLUMN inventory.missing_items.item_id IS 'Item id (inventory.inventory_items.id).';
COMMENT ON COLUMN inventory.missing_items.state IS 'Always missing; the state deleted is reserved and not produced.';
COMMENT ON COLUMN inventory.missing_items.last_seen_at IS 'When the item was last observed.';
COMMENT ON COLUMN inventory.missing_items.last_seen_run_id IS 'Run that last observed the item.';
COMMENT ON COLUMN inventory.missing_items.latest_run_id IS 'Latest finished run of the tenant and selection.';
COMMENT ON COLUMN inventory.missing_items.latest_run_status IS 'Its status.';
COMMENT ON COLUMN inventory.missing_items.confidence IS 'high or low.';
COMMENT ON COLUMN inventory.missing_items.low_confidence_reasons IS 'Why confidence is low: run_partial, run_failed, run_had_errors, policy_type_incomplete (empty when high).';

CREATE FUNCTION inventory.missing_items(tenant_id uuid, selection jsonb)
    RETURNS SETOF inventory.missing_items
    LANGUAGE sql STABLE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    SELECT m.* FROM inventory.missing_items m
     WHERE m.tenant_id = missing_items.tenant_id
       AND m.selection_hash = inventory.selection_hash(missing_items.selection)
$$;
COMMENT ON FUNCTION inventory.missing_items(uuid, jsonb) IS
'inventory.missing_items for one tenant and selection (given as JSON; any equivalent spelling works).';

CREATE VIEW inventory.tenant_sync_health WITH (security_invoker = true) AS
WITH finished AS (
    SELECT r.* FROM inventory.inventory_sync_runs r WHERE r.status <> 'running'
), per_tenant AS (
    SELECT f.tenant_id,
           max(f.finished_at) FILTER (WHERE f.status = 'succeeded') AS last_success_at,
           max(f.id) FILTER (WHERE f.status = 'succeeded') AS last_success_run_id,
           max(f.finished_at) FILTER (WHERE f.status = 'failed') AS last_failure_at,
           max(f.id) FILTER (WHERE f.status = 'failed') AS last_failure_run_id,
           max(f.id) FILTER (WHERE f.status <> 'failed') AS last_non_failed_run_id,
           max(f.finished_at) AS last_finished_at,
           count(*) AS finished_runs
      FROM finished f
     GROUP BY f.tenant_id
)
SELECT p.tenant_id,
       p.last_success_at,
       p.last_success_run_id,
       p.last_failure_at,
       p.last_failure_run_id,
       p.last_finished_at,
       (SELECT count(*) FROM finished f
         WHERE f.tenant_id = p.tenant_id AND f.status = 'failed'
           AND f.id > coalesce(p.last_non_failed_run_id, 0)) AS consecutive_failures,
       (SELECT coalesce(array_agg(DISTINCT c ORDER BY c), '{}')
          FROM inventory.latest_sync_runs l, unnest(l.error_codes) c
         WHERE l.tenant_id = p.tenant_id) AS current_error_codes,
       (SELECT count(*) FROM inventory.inventory_sync_runs r
         WHERE r.tenant_id = p.tenant_id AND r.status = 'running') AS running_runs,
       p.finished_runs
  FROM per_tenant p;
COMMENT ON VIEW inventory.tenant_sync_health IS
'Sync health per tenant: last success, last failure, consecutive failures and the error codes of the latest run of each selection.';
COMMENT ON COLUMN inventory.tenant_sync_health.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.tenant_sync_health.last_success_at IS 'End of the last succeeded run (any selection).';
COMMENT ON COLUMN inventory.tenant_sync_health.last_success_run_id IS 'Last succeeded run.';
COMMENT ON COLUMN inventory.tenant_sync_health.last_failure_at IS 'End of the last failed run.';
COMMENT ON COLUMN inventory.tenant_sync_health.last_failure_run_id IS 'Last failed run.';
COMMENT ON COLUMN inventory.tenant_sync_health.last_finished_at IS 'End of the last finished run.';
COMMENT ON COLUMN inventory.tenant_sync_health.consecutive_failures IS 'Failed runs since the last run that did not fail.';
COMMENT ON COLUMN inventory.tenant_sync_health.current_error_codes IS 'Error codes of the latest finished run of each selection.';
COMMENT ON COLUMN inventory.tenant_sync_health.running_runs IS 'Runs currently marked running.';
COMMENT ON COLUMN inventory.tenant_sync_health.finished_runs IS 'Finished runs recorded.';

CREATE VIEW inventory.item_counts WITH (security_invoker = true) AS
SELECT i.tenant_id,
       i.policy_type,
       count(*) AS items,
       count(*) FILTER (WHERE i.present) AS present,
       count(*) FILTER (WHERE NOT i.present) AS absent,
       max(i.last_seen_at) AS last_seen_at,
       max(i.content_changed_at) AS last_content_change_at
  FROM inventory.inventory_items i
 GROUP BY i.tenant_id, i.policy_type;
COMMENT ON VIEW inventory.item_counts IS
'Items per tenant and policy type: ever observed, present (listed by the latest complete enumeration or seen since) and absent.';
COMMENT ON COLUMN inventory.item_counts.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.item_counts.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.item_counts.items IS 'Items ever observed.';
COMMENT ON COLUMN inventory.item_counts.present IS 'Items not absent.';
COMMENT ON COLUMN inventory.item_counts.absent IS 'Items a complete enumeration no longer listed.';
COMMENT ON COLUMN inventory.item_counts.last_seen_at IS 'Newest observation of any item of the type.';
COMMENT ON COLUMN inventory.item_counts.last_content_change_at IS 'Newest content change of any item of the type.';

CREATE VIEW inventory.latest_run_changes WITH (security_invoker = true) AS
SELECT l.tenant_id,
       l.selection_hash,
       l.run_id,
       c.change,
       i.policy_type,
       i.external_id,
       i.display_name,
       i.id AS item_id,
       CASE c.change WHEN 'gone' THEN l.finished_at ELSE i.content_changed_at END AS changed_at
  FROM inventory.latest_sync_runs l
  JOIN inventory.item_state i
    ON i.tenant_id = l.tenant_id AND i.policy_type = ANY (l.policy_types)
 CROSS JOIN LATERAL (
       SELECT CASE WHEN i.first_seen_run_id = l.run_id THEN 'new'
                   WHEN i.absent_since_run_id = l.run_id THEN 'gone'
                   WHEN i.content_changed_run_id = l.run_id THEN 'changed' END AS change) c
 WHERE c.change IS NOT NULL;
COMMENT ON VIEW inventory.latest_run_changes IS
'What the latest finished run of each tenant and selection changed: items it saw first (new), whose content it saw change (changed) and that its complete enumerations no longer listed (gone).';
COMMENT ON COLUMN inventory.latest_run_changes.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.latest_run_changes.selection_hash IS 'Selection of the run.';
COMMENT ON COLUMN inventory.latest_run_changes.run_id IS 'The latest finished run.';
COMMENT ON COLUMN inventory.latest_run_changes.change IS 'new, changed or gone.';
COMMENT ON COLUMN inventory.latest_run_changes.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.latest_run_changes.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.latest_run_changes.display_name IS 'Name as last observed.';
COMMENT ON COLUMN inventory.latest_run_changes.item_id IS 'Item id.';
COMMENT ON COLUMN inventory.latest_run_changes.changed_at IS 'When the change was recorded.';

--------------------------------------------------------------------------------
-- Run lifecycle (internal helpers)
--------------------------------------------------------------------------------

-- Validates a selection and returns its policy types (sorted, distinct).
CREATE FUNCTION inventory._selection_policy_types(selection jsonb) RETURNS text[]
    LANGUAGE plpgsql STABLE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_types text[];
    v_bad   text;
    v_row   inventory.policy_types;
BEGIN
    IF selection IS NULL THEN
        RAISE EXCEPTION 'selection must not be null' USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(selection) <> 'object' THEN
        RAISE EXCEPTION 'selection must be a JSON object, not %', jsonb_typeof(selection)
            USING ERRCODE = '22023',
                  HINT = 'Example: {"policy_types": ["deviceConfiguration", "configurationPolicy"]}';
    END IF;
    IF NOT selection ? 'policy_types' THEN
        RAISE EXCEPTION 'selection has no policy_types'
            USING ERRCODE = '22023',
                  HINT = 'Example: {"policy_types": ["deviceConfiguration", "configurationPolicy"]}';
    END IF;
    IF jsonb_typeof(selection->'policy_types') <> 'array' THEN
        RAISE EXCEPTION 'selection policy_types must be an array, not %', jsonb_typeof(selection->'policy_types')
            USING ERRCODE = '22023';
    END IF;
    IF jsonb_array_length(selection->'policy_types') = 0 THEN
        RAISE EXCEPTION 'selection policy_types must not be empty' USING ERRCODE = '22023';
    END IF;
    SELECT e::text INTO v_bad
      FROM jsonb_array_elements(selection->'policy_types') e
     WHERE jsonb_typeof(e) <> 'string' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'selection policy_types must contain only strings, found %', v_bad
            USING ERRCODE = '22023';
    END IF;
    SELECT array_agg(DISTINCT t ORDER BY t) INTO v_types
      FROM jsonb_array_elements_text(selection->'policy_types') t;
    FOR i IN 1 .. array_length(v_types, 1) LOOP
        SELECT * INTO v_row FROM inventory.policy_types p WHERE p.policy_type = v_types[i];
        IF NOT FOUND THEN
            RAISE EXCEPTION 'selection names unknown policy type "%"', v_types[i]
                USING ERRCODE = '22023',
                      HINT = 'Registered types are listed in inventory.policy_types; adding one is an INSERT.';
        END IF;
        IF NOT v_row.enabled THEN
            RAISE EXCEPTION 'selection names disabled policy type "%"', v_types[i]
                USING ERRCODE = '22023';
        END IF;
    END LOOP;
    RETURN v_types;
END
$$;
COMMENT ON FUNCTION inventory._selection_policy_types(jsonb) IS
'Internal: validates a selection (SQLSTATE 22023 naming the problem) and returns its policy types, sorted and distinct.';

-- True when `who` may sync or see `tenant`: superuser, member of the
-- extension owner, or member of a role granted the tenant in tenant_access.
CREATE FUNCTION inventory._may_access_tenant(who name, tenant uuid) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                    WHERE r.rolname = who AND r.rolsuper)
        OR pg_catalog.pg_has_role(who,
               (SELECT c.relowner FROM pg_catalog.pg_class c
                 WHERE c.oid = 'inventory.inventory_sync_runs'::regclass), 'MEMBER')
        OR EXISTS (SELECT 1 FROM inventory.tenant_access a
                     JOIN pg_catalog.pg_roles r ON r.rolname = a.role
                    WHERE a.tenant_id = tenant
                      AND pg_catalog.pg_has_role(who, r.oid, 'MEMBER'))
$$;
COMMENT ON FUNCTION inventory._may_access_tenant(name, uuid) IS
'Internal: whether a role may sync a tenant (superusers, the owner, and members of roles granted the tenant).';

-- The run, when this session owns it and it is running; SQLSTATE 55000 otherwise.
CREATE FUNCTION inventory._owned_run(p_run_id bigint) RETURNS inventory.inventory_sync_runs
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run inventory.inventory_sync_runs;
BEGIN
    IF p_run_id IS NULL THEN
        RAISE EXCEPTION 'run id must not be null' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO v_run FROM inventory.inventory_sync_runs r WHERE r.id = p_run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sync run % does not exist', p_run_id USING ERRCODE = '55000';
    END IF;
    IF v_run.status <> 'running' THEN
        RAISE EXCEPTION 'sync run % is not running (status %)', p_run_id, v_run.status
            USING ERRCODE = '55000',
                  DETAIL = CASE WHEN 'run_abandoned' = ANY (v_run.error_codes)
                                THEN 'The run was marked abandoned because its session no longer held the run lock.'
                                ELSE format('The run finished at %s.', v_run.finished_at) END;
    END IF;
    IF NOT inventory._holds_sync_lock(inventory.sync_lock_key(v_run.tenant_id, v_run.selection_hash))
       OR coalesce(current_setting('inventory.session_run', true), '') <> p_run_id::text THEN
        RAISE EXCEPTION 'this session does not own sync run %', p_run_id
            USING ERRCODE = '55000',
                  -- No tenant or selection here: the caller may not be
                  -- allowed to know whose run this is.
                  DETAIL = 'The run lock is held by another session or by none.',
                  HINT = 'Only the session that called begin_sync_run may write to a run.';
    END IF;
    RETURN v_run;
END
$$;
COMMENT ON FUNCTION inventory._owned_run(bigint) IS
'Internal fencing: returns the run when this session holds its lock and it is running; raises SQLSTATE 55000 otherwise.';

CREATE FUNCTION inventory._run_lock_key(r inventory.inventory_sync_runs) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$ SELECT inventory.sync_lock_key(r.tenant_id, r.selection_hash) $$;
COMMENT ON FUNCTION inventory._run_lock_key(inventory.inventory_sync_runs) IS
'Internal: the run lock key of a run.';

-- Creates (once per session) and empties the session's staging tables.
-- They are owned by the extension owner; the calling role gets INSERT on
-- staged_items only, so a caller cannot attach triggers or rules to them.
CREATE FUNCTION inventory._prepare_staging(caller name) RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_foreign text;
BEGIN
    -- Tables of these names that someone else created in this session's
    -- temporary schema would let them see or change what a run writes.
    SELECT string_agg(c.relname, ', ') INTO v_foreign
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = pg_catalog.pg_my_temp_schema()
       AND c.relname IN ('staged_items', 'inventory_run_seen', 'inventory_pending')
       AND c.relowner <> (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user);
    IF v_foreign IS NOT NULL THEN
        RAISE EXCEPTION 'temporary table(s) % exist and are not owned by the inventory owner', v_foreign
            USING ERRCODE = '42501',
                  HINT = 'Drop them; begin_sync_run creates the staging tables itself.';
    END IF;
    IF pg_catalog.to_regclass('pg_temp.staged_items') IS NULL THEN
        CREATE TEMP TABLE staged_items (
            policy_type  text,
            external_id  text,
            display_name text,
            meta_jsonb   jsonb,
            content_hash text
        );
    END IF;
    IF pg_catalog.to_regclass('pg_temp.inventory_run_seen') IS NULL THEN
        CREATE TEMP TABLE inventory_run_seen (
            policy_type  text NOT NULL,
            item_id      bigint NOT NULL
        );
    END IF;
    IF pg_catalog.to_regclass('pg_temp.inventory_pending') IS NULL THEN
        CREATE TEMP TABLE inventory_pending (
            policy_type  text NOT NULL,
            external_id  text NOT NULL,
            display_name text,
            meta_jsonb   jsonb NOT NULL,
            content_hash text
        );
    END IF;
    TRUNCATE pg_temp.staged_items, pg_temp.inventory_run_seen, pg_temp.inventory_pending;
    IF caller <> current_user
       AND NOT pg_catalog.has_table_privilege(caller, 'pg_temp.staged_items', 'INSERT') THEN
        EXECUTE format('GRANT INSERT ON pg_temp.staged_items TO %I', caller);
    END IF;
END
$$;
COMMENT ON FUNCTION inventory._prepare_staging(name) IS
'Internal: creates or empties pg_temp.staged_items (the COPY target) and the run''s private bookkeeping tables.';

CREATE FUNCTION inventory._staged_row_problem(policy_type text, external_id text, content_hash text,
                                             run_types text[], done_types text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
             WHEN external_id IS NULL OR external_id = '' THEN 'empty external_id'
             -- A key a B-tree cannot hold would fail the whole batch (54000).
             WHEN octet_length(external_id) > 1024 THEN 'external_id longer than 1024 bytes'
             WHEN policy_type IS NULL OR NOT policy_type = ANY (run_types)
               THEN 'policy type not in the run''s selection'
             WHEN policy_type = ANY (done_types) THEN 'policy type already completed in this run'
             WHEN content_hash IS NOT NULL
                  AND (length(content_hash) <> 64 OR content_hash ~ '[^0-9a-fA-F]')
               THEN 'content_hash is not 64 hex digits'
           END
$$;
COMMENT ON FUNCTION inventory._staged_row_problem(text, text, text, text[], text[]) IS
'Internal: why a staged row cannot be applied (NULL when it can): empty or over-long (> 1024 bytes) external_id, a policy type outside the run''s selection or already completed, a malformed content hash.';

-- Applies every row of pg_temp.staged_items to the run. One set-based
-- statement classifies the rows; only new, changed, returning or late-seen
-- items are written. Returns the number of staged rows consumed.
CREATE FUNCTION inventory._apply_staged(v_run inventory.inventory_sync_runs) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    -- Plans are made for the batch at hand (a generic plan would be made for
    -- a guessed tenant size); the statements below are written so that item
    -- rows are only ever reached through their primary key.
    SET plan_cache_mode = force_custom_plan
    AS $$
DECLARE
    -- Plain variables: record fields would be fetched again for every row.
    v_tenant   uuid := v_run.tenant_id;
    v_run_id   bigint := v_run.id;
    v_types    text[] := v_run.policy_types;
    v_allowed  jsonb;
    v_done     text[];
    v_type     text;
    v_seq      bigint;
    v_now      timestamptz := clock_timestamp();
    v_rows     bigint;
    v_count    bigint;
    v_observed bigint;
    v_created  bigint;
    v_pending  bigint;
    v_updated  bigint;
    v_written  bigint;
    v_dropped  bigint;
    v_rejected bigint;
    v_samples  jsonb;
    v_tids     tid[];
BEGIN
    SELECT coalesce(array_agg(t.policy_type), '{}') INTO v_done
      FROM inventory.inventory_sync_run_types t
     WHERE t.tenant_id = v_tenant AND t.run_id = v_run_id;

    -- One pass over the batch counts its rows and finds its types (hashed:
    -- a batch is mostly one type). Writers of a (tenant, type) share its
    -- lock; a completing enumeration takes it exclusively. Taken in sorted
    -- order.
    v_rows := 0;
    FOR v_type, v_count IN
        SELECT x.policy_type, x.n
          FROM (SELECT s.policy_type, count(*) AS n FROM pg_temp.staged_items s GROUP BY s.policy_type) x
         ORDER BY x.policy_type
    LOOP
        v_rows := v_rows + v_count;
        IF v_type = ANY (v_types) AND NOT v_type = ANY (v_done) THEN
            PERFORM inventory._lock_policy_type(v_tenant, v_type, false);
        END IF;
    END LOOP;
    IF v_rows = 0 THEN
        RETURN 0;
    END IF;
    SELECT coalesce(jsonb_object_agg(k.key, k.kind), '{}'::jsonb) INTO v_allowed FROM inventory.meta_keys k;
    v_seq := nextval('inventory.write_seq');

    WITH wm AS MATERIALIZED (
        SELECT w.policy_type, w.run_id, w.seq FROM inventory.type_watermarks w WHERE w.tenant_id = v_tenant
    ), good AS (
        -- The last row of a key wins; DISTINCT ON keeps filter_meta_counted
        -- to one call per row.
        -- Byte order: keys are only compared for equality here, and a sort
        -- in "C" uses abbreviated keys (a sort in a libc locale does not).
        SELECT DISTINCT ON (g.policy_type COLLATE "C", g.external_id COLLATE "C")
               g.policy_type, g.external_id, g.display_name, lower(g.content_hash COLLATE "C") AS content_hash,
               inventory.filter_meta_counted(g.meta_jsonb, v_allowed) AS fm
          FROM pg_temp.staged_items g
         WHERE inventory._staged_row_problem(g.policy_type, g.external_id, g.content_hash, v_types, v_done) IS NULL
         ORDER BY g.policy_type COLLATE "C", g.external_id COLLATE "C", g.ctid DESC
    ), cls AS (
        SELECT g.policy_type, g.external_id, g.display_name, (g.fm).meta, (g.fm).dropped, g.content_hash,
               i.id AS item_id,
               (i.id IS NOT NULL AND (
                   (i.absent_since_run_id IS NOT NULL
                     AND (i.absent_since_run_id < v_run_id OR i.seen_run_id < v_run_id))
                OR (i.absent_since_run_id IS NULL
                     AND CASE WHEN w.seq > i.write_seq AND w.run_id > i.seen_run_id
                              THEN w.run_id ELSE i.seen_run_id END <= v_run_id
                     AND (i.display_name IS DISTINCT FROM g.display_name
                          OR i.meta_jsonb IS DISTINCT FROM (g.fm).meta
                          OR i.content_hash IS DISTINCT FROM g.content_hash))
               )) AS needs_write
          FROM good g
          -- One primary-key probe per staged row, whatever the statistics say.
          LEFT JOIN LATERAL (SELECT i.* FROM inventory.item_state i
                              WHERE i.tenant_id = v_tenant AND i.policy_type = g.policy_type
                                AND i.external_id = g.external_id OFFSET 0) i ON true
          LEFT JOIN wm w ON w.policy_type = g.policy_type
    ), ins AS (
        INSERT INTO inventory.item_state AS i
               (tenant_id, policy_type, external_id, display_name, meta_jsonb, content_hash,
                first_seen_at, first_seen_run_id, seen_at, seen_run_id, content_changed_at,
                content_changed_run_id, write_seq)
        SELECT v_tenant, c.policy_type, c.external_id, c.display_name, c.meta, c.content_hash,
               v_now, v_run_id, v_now, v_run_id, v_now, v_run_id, v_seq
          FROM cls c
         WHERE c.item_id IS NULL
         ORDER BY c.policy_type, c.external_id
        -- Another run of the tenant inserted the item since this statement
        -- started: record this observation when it is the newer one.
        ON CONFLICT (tenant_id, policy_type, external_id) DO UPDATE
           SET display_name = excluded.display_name,
               meta_jsonb = excluded.meta_jsonb,
               content_hash = excluded.content_hash,
               content_changed_at = CASE WHEN i.content_hash IS DISTINCT FROM excluded.content_hash
                                         THEN excluded.content_changed_at ELSE i.content_changed_at END,
               content_changed_run_id = CASE WHEN i.content_hash IS DISTINCT FROM excluded.content_hash
                                             THEN excluded.content_changed_run_id ELSE i.content_changed_run_id END,
               seen_at = excluded.seen_at,
               seen_run_id = excluded.seen_run_id,
               write_seq = excluded.write_seq
         WHERE i.seen_run_id < excluded.seen_run_id AND i.absent_since_run_id IS NULL
        RETURNING (i.xmax = 0) AS inserted
    ), seen AS (
        INSERT INTO pg_temp.inventory_run_seen (policy_type, item_id)
        SELECT c.policy_type, c.item_id FROM cls c WHERE c.item_id IS NOT NULL
    ), pend AS (
        INSERT INTO pg_temp.inventory_pending (policy_type, external_id, display_name, meta_jsonb, content_hash)
        SELECT c.policy_type, c.external_id, c.display_name, c.meta, c.content_hash
          FROM cls c WHERE c.needs_write
    )
    SELECT (SELECT count(*) FROM cls),
           (SELECT count(*) FROM ins WHERE inserted),
           (SELECT count(*) FROM cls WHERE needs_write) + (SELECT count(*) FROM ins WHERE NOT inserted),
           (SELECT coalesce(sum(dropped), 0) FROM cls)
      INTO v_observed, v_created, v_updated, v_dropped;
    SELECT count(*) INTO v_pending FROM pg_temp.inventory_pending;

    -- Rows that cannot be applied are counted and sampled into the run's
    -- errors. Only a batch with fewer good keys than rows (bad rows or
    -- repeated keys) needs the second look.
    v_rejected := 0;
    IF v_observed < v_rows THEN
        SELECT count(*) INTO v_rejected FROM pg_temp.staged_items s
         WHERE inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash, v_types, v_done) IS NOT NULL;
    END IF;
    IF v_rejected > 0 THEN
        SELECT jsonb_agg(jsonb_build_object('code', 'bad_staged_row', 'policy_type', left(x.policy_type, 100),
                                            'external_id', left(x.external_id, 200), 'message', x.problem))
          INTO v_samples
          FROM (SELECT s.policy_type, s.external_id,
                       inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash, v_types, v_done) AS problem
                  FROM pg_temp.staged_items s) x
         WHERE x.problem IS NOT NULL LIMIT 5;
    END IF;

    IF v_pending > 0 THEN
        -- Lock the rows to write in key order (concurrent runs of a tenant
        -- cannot deadlock), then write them; the conditions are re-checked
        -- on the current row versions.
        SELECT array_agg(l.tid) INTO v_tids
          FROM (SELECT p.policy_type, p.external_id FROM pg_temp.inventory_pending p
                 ORDER BY p.policy_type, p.external_id OFFSET 0) p
         CROSS JOIN LATERAL (SELECT i.ctid AS tid FROM inventory.item_state i
                              WHERE i.tenant_id = v_tenant AND i.policy_type = p.policy_type
                                AND i.external_id = p.external_id
                                FOR UPDATE) l;

        UPDATE inventory.item_state i
           SET display_name = p.display_name,
               meta_jsonb = p.meta_jsonb,
               content_hash = p.content_hash,
               content_changed_at = CASE WHEN i.content_hash IS DISTINCT FROM p.content_hash
                                         THEN v_now ELSE i.content_changed_at END,
               content_changed_run_id = CASE WHEN i.content_hash IS DISTINCT FROM p.content_hash
                                             THEN v_run_id ELSE i.content_changed_run_id END,
               seen_at = v_now,
               seen_run_id = v_run_id,
               absent_since_run_id = CASE WHEN i.absent_since_run_id < v_run_id
                                          THEN NULL ELSE i.absent_since_run_id END,
               write_seq = v_seq
          FROM pg_temp.inventory_pending p
          LEFT JOIN inventory.type_watermarks w
                 ON w.tenant_id = v_tenant AND w.policy_type = p.policy_type
         WHERE i.ctid = ANY (v_tids)
           AND i.tenant_id = v_tenant AND i.policy_type = p.policy_type
           AND i.external_id = p.external_id
           AND ((i.absent_since_run_id IS NOT NULL
                  AND (i.absent_since_run_id < v_run_id OR i.seen_run_id < v_run_id))
             OR (i.absent_since_run_id IS NULL
                  AND CASE WHEN w.seq > i.write_seq AND w.run_id > i.seen_run_id
                           THEN w.run_id ELSE i.seen_run_id END <= v_run_id
                  AND (i.display_name IS DISTINCT FROM p.display_name
                       OR i.meta_jsonb IS DISTINCT FROM p.meta_jsonb
                       OR i.content_hash IS DISTINCT FROM p.content_hash)));
        GET DIAGNOSTICS v_written = ROW_COUNT;
        -- Rows found not to need the write after all (a concurrent run
        -- wrote them first) count as unchanged.
        v_updated := v_updated - (v_pending - v_written);
        TRUNCATE pg_temp.inventory_pending;
    END IF;

    TRUNCATE pg_temp.staged_items;

    UPDATE inventory.inventory_sync_runs r
       SET items_observed = r.items_observed + v_observed,
           items_created = r.items_created + v_created,
           items_updated = r.items_updated + v_updated,
           items_unchanged = r.items_unchanged + (v_observed - v_created - v_updated),
           meta_keys_dropped = r.meta_keys_dropped + v_dropped,
           items_rejected = r.items_rejected + v_rejected,
           errors = CASE WHEN v_rejected > 0 AND jsonb_array_length(r.errors) < 20
                         THEN r.errors || inventory._sanitize_errors(v_samples) ELSE r.errors END,
           error_codes = CASE WHEN v_rejected > 0 AND NOT 'bad_staged_row' = ANY (r.error_codes)
                              THEN r.error_codes || 'bad_staged_row'::text ELSE r.error_codes END
     WHERE r.tenant_id = v_tenant AND r.id = v_run_id;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION inventory._apply_staged(inventory.inventory_sync_runs) IS
'Internal: the set-based upsert of pg_temp.staged_items into the run.';

-- Records what run `v_run` observed of one policy type when its enumeration
-- ends (complete, incomplete or failed).
CREATE FUNCTION inventory._settle_policy_type(v_run inventory.inventory_sync_runs, v_type text, v_complete boolean)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    -- Bulk set operations over a whole policy type: a nested loop chosen on a
    -- stale row estimate (fresh temp tables have no statistics) would be
    -- quadratic; hash joins are always right here.
    SET enable_nestloop = off
    AS $$
DECLARE
    v_now  timestamptz := clock_timestamp();
    v_w    inventory.type_watermarks;
    v_seq  bigint;
BEGIN
    -- No item of this type is written by anyone else until commit.
    PERFORM inventory._lock_policy_type(v_run.tenant_id, v_type, true);
    SELECT * INTO v_w FROM inventory.type_watermarks w
     WHERE w.tenant_id = v_run.tenant_id AND w.policy_type = v_type;
    v_seq := nextval('inventory.write_seq');

    IF v_complete THEN
        -- Present items that neither this run nor a newer one observed are
        -- absent from now on; their last observation is written down.
        UPDATE inventory.item_state i
           SET absent_since_run_id = v_run.id,
               seen_run_id = CASE WHEN v_w.seq > i.write_seq AND v_w.run_id > i.seen_run_id
                                  THEN v_w.run_id ELSE i.seen_run_id END,
               seen_at = CASE WHEN v_w.seq > i.write_seq AND v_w.run_id > i.seen_run_id
                              THEN v_w.observed_at ELSE i.seen_at END,
               write_seq = v_seq
         WHERE i.tenant_id = v_run.tenant_id AND i.policy_type = v_type
           AND i.absent_since_run_id IS NULL
           AND CASE WHEN v_w.seq > i.write_seq AND v_w.run_id > i.seen_run_id
                    THEN v_w.run_id ELSE i.seen_run_id END < v_run.id
           AND NOT EXISTS (SELECT 1 FROM pg_temp.inventory_run_seen s
                            WHERE s.policy_type = v_type AND s.item_id = i.id);
    END IF;

    -- Items this run observed whose rows do not say so yet: absent ones
    -- (marked by a newer run, or come back), and, when this run's
    -- observation will not be the type's watermark, present ones too.
    UPDATE inventory.item_state i
       SET seen_run_id = v_run.id,
           seen_at = v_now,
           absent_since_run_id = CASE WHEN i.absent_since_run_id < v_run.id
                                      THEN NULL ELSE i.absent_since_run_id END,
           write_seq = v_seq
      FROM (SELECT DISTINCT s.item_id FROM pg_temp.inventory_run_seen s WHERE s.policy_type = v_type) s
     WHERE i.tenant_id = v_run.tenant_id AND i.policy_type = v_type AND i.id = s.item_id
       AND CASE WHEN i.absent_since_run_id IS NULL AND v_w.seq > i.write_seq AND v_w.run_id > i.seen_run_id
                THEN v_w.run_id ELSE i.seen_run_id END < v_run.id
       AND (i.absent_since_run_id IS NOT NULL
            OR NOT v_complete
            OR v_w.run_id > v_run.id);

    IF v_complete AND (v_w.run_id IS NULL OR v_w.run_id < v_run.id) THEN
        INSERT INTO inventory.type_watermarks AS w (tenant_id, policy_type, run_id, observed_at, seq)
        VALUES (v_run.tenant_id, v_type, v_run.id, v_now, nextval('inventory.write_seq'))
        ON CONFLICT (tenant_id, policy_type) DO UPDATE
           SET run_id = excluded.run_id, observed_at = excluded.observed_at, seq = excluded.seq;
    END IF;

    DELETE FROM pg_temp.inventory_run_seen s WHERE s.policy_type = v_type;
END
$$;
COMMENT ON FUNCTION inventory._settle_policy_type(inventory.inventory_sync_runs, text, boolean) IS
'Internal: when a run''s enumeration of a policy type ends, marks unobserved items absent (complete enumerations only), writes observations the rows do not carry yet, and moves the type watermark.';

--------------------------------------------------------------------------------
-- Run lifecycle (public)
--------------------------------------------------------------------------------

CREATE FUNCTION inventory.begin_sync_run(tenant_id uuid, selection jsonb, correlation_id uuid DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_caller  name := inventory._outer_user();
    v_tenant  uuid := begin_sync_run.tenant_id;
    v_types   text[];
    v_canon   text;
    v_hash    text;
    v_key     bigint;
    v_current text;
    v_other   inventory.inventory_sync_runs;
    v_run     bigint;
    v_fresh   boolean := false;
BEGIN
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'tenant_id must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT inventory._may_access_tenant(v_caller, v_tenant) THEN
        RAISE EXCEPTION 'role "%" may not sync tenant %', v_caller, v_tenant
            USING ERRCODE = '42501',
                  HINT = 'Grant the tenant with inventory.grant_tenant_access(role, tenant_id).';
    END IF;
    v_types := inventory._selection_policy_types(selection);
    v_canon := inventory.canonical_json(selection);
    v_hash := inventory.selection_hash(selection);

    v_current := coalesce(current_setting('inventory.session_run', true), '');
    IF v_current <> '' THEN
        SELECT * INTO v_other FROM inventory.inventory_sync_runs r WHERE r.id = v_current::bigint;
        IF FOUND AND v_other.status = 'running'
           AND inventory._holds_sync_lock(inventory._run_lock_key(v_other)) THEN
            RAISE EXCEPTION 'this session already owns running sync run %', v_other.id
                USING ERRCODE = '55000',
                      DETAIL = format('Tenant %s, selection %s.', v_other.tenant_id, v_other.selection_hash),
                      HINT = 'Finish it with inventory.finish_sync_run() first; a session owns at most one running run.';
        END IF;
    END IF;

    v_key := inventory.sync_lock_key(v_tenant, v_hash);
    IF NOT inventory._holds_sync_lock(v_key) THEN
        IF NOT pg_catalog.pg_try_advisory_lock(v_key) THEN
            SELECT * INTO v_other FROM inventory.inventory_sync_runs r
             WHERE r.tenant_id = v_tenant AND r.selection_hash = v_hash AND r.status = 'running'
             ORDER BY r.id DESC LIMIT 1;
            RAISE EXCEPTION 'sync of tenant % with selection % is already running (run %)',
                  v_tenant, v_hash, coalesce(v_other.id::text, 'not yet recorded')
                USING ERRCODE = '55P03',
                      DETAIL = format('The run lock %s is held by backend %s.', v_key,
                                      coalesce(v_other.owner_pid::text, 'unknown')),
                      HINT = 'Wait for it to finish; a run whose session dies is taken over by the next begin_sync_run.';
        END IF;
        v_fresh := true;
    END IF;

    BEGIN
        -- Runs of this key still marked running have no live owner: this
        -- session now holds their lock.
        INSERT INTO inventory.inventory_sync_run_types AS t
               (tenant_id, run_id, policy_type, status, error_code)
        SELECT r.tenant_id, r.id, pt, 'failed', 'run_abandoned'
          FROM inventory.inventory_sync_runs r, unnest(r.policy_types) pt
         WHERE r.tenant_id = v_tenant AND r.selection_hash = v_hash AND r.status = 'running'
        ON CONFLICT DO NOTHING;
        UPDATE inventory.inventory_sync_runs r
           SET status = 'failed',
               had_errors = true,
               finished_at = clock_timestamp(),
               error_codes = ARRAY(SELECT DISTINCT c FROM unnest(r.error_codes || 'run_abandoned'::text) c ORDER BY c),
               errors = r.errors || jsonb_build_array(jsonb_build_object(
                   'code', 'run_abandoned',
                   'message', 'the session that owned the run ended before finishing it',
                   'at', to_jsonb(clock_timestamp())))
         WHERE r.tenant_id = v_tenant AND r.selection_hash = v_hash AND r.status = 'running';

        INSERT INTO inventory.inventory_sync_runs
               (tenant_id, selection_hash, selection_payload, policy_types, correlation_id, owner_role, owner_pid)
        VALUES (v_tenant, v_hash, v_canon::jsonb, v_types, correlation_id, v_caller, pg_catalog.pg_backend_pid())
        RETURNING id INTO v_run;

        PERFORM inventory._prepare_staging(v_caller);
        PERFORM pg_catalog.set_config('inventory.session_run', v_run::text, false);
    EXCEPTION WHEN OTHERS THEN
        IF v_fresh THEN
            PERFORM pg_catalog.pg_advisory_unlock(v_key);
        END IF;
        RAISE;
    END;
    RETURN v_run;
END
$$;
COMMENT ON FUNCTION inventory.begin_sync_run(uuid, jsonb, uuid) IS
'Starts a sync run of a tenant and selection: validates the selection (22023), takes the run lock (55P03 when another live session runs the same tenant and selection), marks runs of dead sessions failed (run_abandoned), gives the session an empty pg_temp.staged_items and returns the run id.';

CREATE PROCEDURE inventory.apply_staged(run_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM inventory._apply_staged(inventory._owned_run(run_id));
END
$$;
COMMENT ON PROCEDURE inventory.apply_staged(bigint) IS
'Applies the rows COPYed into pg_temp.staged_items to the run in one set-based pass: idempotent, duplicates collapse (last row wins), meta filtered by the whitelist, bad rows counted as bad_staged_row, only new/changed items written; staging is emptied. Call as often as you like.';

CREATE FUNCTION inventory.complete_policy_type(run_id bigint, policy_type text, status text,
                                               pages integer, items_seen integer, error_code text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run   inventory.inventory_sync_runs := inventory._owned_run(complete_policy_type.run_id);
    v_prev  inventory.inventory_sync_run_types;
    v_type  text := complete_policy_type.policy_type;
BEGIN
    IF v_type IS NULL OR NOT v_type = ANY (v_run.policy_types) THEN
        RAISE EXCEPTION 'policy type "%" is not part of the selection of run %', v_type, v_run.id
            USING ERRCODE = '22023',
                  DETAIL = format('The run''s policy types are %s.', array_to_string(v_run.policy_types, ', '));
    END IF;
    IF status IS NULL OR status NOT IN ('complete', 'incomplete', 'failed') THEN
        RAISE EXCEPTION 'invalid policy type status "%"', status
            USING ERRCODE = '22023', HINT = 'Use complete, incomplete or failed.';
    END IF;
    IF coalesce(pages, 0) < 0 OR coalesce(items_seen, 0) < 0 THEN
        RAISE EXCEPTION 'pages and items_seen must not be negative' USING ERRCODE = '22023';
    END IF;
    IF error_code IS NOT NULL AND error_code !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid error code "%"', left(inventory.redact_secrets(error_code), 80)
            USING ERRCODE = '22023', HINT = 'Error codes are lower-case identifiers such as graph_forbidden.';
    END IF;
    SELECT * INTO v_prev FROM inventory.inventory_sync_run_types t
     WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id AND t.policy_type = v_type;
    IF FOUND THEN
        IF v_prev.status = status THEN
            RETURN;  -- repeated call: nothing to do
        END IF;
        RAISE EXCEPTION 'policy type "%" of run % was already recorded as %', v_type, v_run.id, v_prev.status
            USING ERRCODE = '55000';
    END IF;

    -- Rows of this type still in staging belong to the enumeration.
    PERFORM inventory._apply_staged(v_run);
    PERFORM inventory._settle_policy_type(v_run, v_type, status = 'complete');

    INSERT INTO inventory.inventory_sync_run_types
           (tenant_id, run_id, policy_type, status, pages, items_seen, error_code)
    VALUES (v_run.tenant_id, v_run.id, v_type, status, coalesce(pages, 0), coalesce(items_seen, 0),
            CASE WHEN status = 'complete' THEN error_code
                 ELSE coalesce(error_code, 'policy_type_' || status) END);
END
$$;
COMMENT ON FUNCTION inventory.complete_policy_type(bigint, text, text, integer, integer, text) IS
'Records the outcome of one policy type of a run: complete (every page read: items not listed become absent), incomplete or failed. Applies any rows still staged first. Repeating the same call is a no-op.';

-- Normalizes, redacts and bounds an errors document (at most 100 entries,
-- messages of at most 512 characters).
CREATE FUNCTION inventory._sanitize_errors(errors jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_in    jsonb := coalesce(errors, '[]'::jsonb);
    v_out   jsonb := '[]'::jsonb;
    v_e     jsonb;
    v_clean jsonb;
    v_key   text;
    v_val   jsonb;
    v_n     integer := 0;
    v_total integer;
BEGIN
    IF jsonb_typeof(v_in) <> 'array' THEN
        v_in := jsonb_build_array(v_in);
    END IF;
    v_total := jsonb_array_length(v_in);
    FOR v_e IN SELECT e FROM jsonb_array_elements(v_in) e LOOP
        v_n := v_n + 1;
        EXIT WHEN v_n > 100;
        IF jsonb_typeof(v_e) <> 'object' THEN
            v_e := jsonb_build_object('message', CASE WHEN jsonb_typeof(v_e) = 'string'
                                                      THEN v_e #>> '{}' ELSE v_e::text END);
        END IF;
        v_clean := '{}'::jsonb;
        FOR v_key, v_val IN SELECT key, value FROM jsonb_each(v_e) LOOP
            CONTINUE WHEN v_key NOT IN ('code', 'policy_type', 'http_status', 'graph_error_code', 'request_id',
                                        'client_request_id', 'message', 'attempts', 'at', 'external_id', 'count');
            IF jsonb_typeof(v_val) = 'string' THEN
                v_val := to_jsonb(left(inventory.redact_secrets(v_val #>> '{}'),
                                       CASE WHEN v_key = 'message' THEN 512 ELSE 200 END));
            ELSIF jsonb_typeof(v_val) IN ('object', 'array') THEN
                v_val := to_jsonb(left(inventory.redact_secrets(v_val::text), 512));
            END IF;
            v_clean := v_clean || jsonb_build_object(v_key, v_val);
        END LOOP;
        IF NOT (v_clean ? 'code') OR jsonb_typeof(v_clean->'code') <> 'string'
           OR (v_clean->>'code') !~ '^[a-z][a-z0-9_]{0,62}$' THEN
            v_clean := v_clean || jsonb_build_object('code', 'unspecified');
        END IF;
        v_out := v_out || jsonb_build_array(v_clean);
    END LOOP;
    IF v_total > 100 THEN
        v_out := v_out || jsonb_build_array(jsonb_build_object(
            'code', 'errors_truncated', 'count', v_total - 100,
            'message', format('%s more errors were not stored', v_total - 100)));
    END IF;
    RETURN v_out;
END
$$;
COMMENT ON FUNCTION inventory._sanitize_errors(jsonb) IS
'Internal: the errors a run stores: known keys only, every string through inventory.redact_secrets, messages cut to 512 characters, at most 100 entries.';

CREATE FUNCTION inventory.finish_sync_run(run_id bigint, status text, errors jsonb DEFAULT '[]')
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run      inventory.inventory_sync_runs := inventory._owned_run(finish_sync_run.run_id);
    v_errors   jsonb;
    v_type     text;
    v_complete integer;
    v_total    integer;
    v_derived  text;
    v_final    text;
    v_codes    text[];
    v_key      bigint;
BEGIN
    IF status IS NULL OR status NOT IN ('succeeded', 'partial', 'failed') THEN
        RAISE EXCEPTION 'invalid run status "%"', status
            USING ERRCODE = '22023', HINT = 'Use succeeded, partial or failed.';
    END IF;
    v_errors := inventory._sanitize_errors(errors);

    -- Rows still staged are applied; types never reported are recorded as
    -- failed, and what the run observed of them is kept.
    PERFORM inventory._apply_staged(v_run);
    FOR v_type IN
        SELECT pt FROM unnest(v_run.policy_types) pt
         WHERE NOT EXISTS (SELECT 1 FROM inventory.inventory_sync_run_types t
                            WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id AND t.policy_type = pt)
         ORDER BY 1
    LOOP
        PERFORM inventory._settle_policy_type(v_run, v_type, false);
        INSERT INTO inventory.inventory_sync_run_types (tenant_id, run_id, policy_type, status, error_code)
        VALUES (v_run.tenant_id, v_run.id, v_type, 'failed', 'policy_type_not_reported');
    END LOOP;

    SELECT count(*) FILTER (WHERE t.status = 'complete'), count(*) INTO v_complete, v_total
      FROM inventory.inventory_sync_run_types t
     WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id;
    v_derived := CASE WHEN v_complete = v_total THEN 'succeeded'
                      WHEN v_complete > 0 THEN 'partial' ELSE 'failed' END;
    -- The caller may report worse than the types show (a fatal error), never better.
    v_final := CASE WHEN 'failed' IN (status, v_derived) THEN 'failed'
                    WHEN 'partial' IN (status, v_derived) THEN 'partial'
                    ELSE 'succeeded' END;

    SELECT r.errors || v_errors INTO v_errors
      FROM inventory.inventory_sync_runs r WHERE r.tenant_id = v_run.tenant_id AND r.id = v_run.id;
    SELECT coalesce(array_agg(DISTINCT c ORDER BY c), '{}') INTO v_codes
      FROM (SELECT e->>'code' AS c FROM jsonb_array_elements(v_errors) e
            UNION ALL
            SELECT t.error_code FROM inventory.inventory_sync_run_types t
             WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id AND t.error_code IS NOT NULL) x
     WHERE c IS NOT NULL;

    UPDATE inventory.inventory_sync_runs r
       SET status = v_final,
           finished_at = clock_timestamp(),
           errors = v_errors,
           error_codes = v_codes,
           had_errors = cardinality(v_codes) > 0 OR r.items_rejected > 0
     WHERE r.tenant_id = v_run.tenant_id AND r.id = v_run.id;

    TRUNCATE pg_temp.staged_items, pg_temp.inventory_run_seen, pg_temp.inventory_pending;
    PERFORM pg_catalog.set_config('inventory.session_run', '', false);
    v_key := inventory._run_lock_key(v_run);
    WHILE inventory._holds_sync_lock(v_key) LOOP
        PERFORM pg_catalog.pg_advisory_unlock(v_key);
    END LOOP;
    RETURN v_final;
END
$$;
COMMENT ON FUNCTION inventory.finish_sync_run(bigint, text, jsonb) IS
'Finishes a run: applies rows still staged, records unreported types as failed, sets the final status (never better than its policy types show), had_errors, error_codes and finished_at, stores the errors redacted and bounded, and releases the run lock. Returns the final status.';

CREATE FUNCTION inventory.reap_abandoned_runs() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run  inventory.inventory_sync_runs;
    v_key  bigint;
    v_n    integer := 0;
BEGIN
    FOR v_run IN SELECT * FROM inventory.inventory_sync_runs r WHERE r.status = 'running'
                  AND (r.tenant_id = ANY (inventory.visible_tenants())
                       OR inventory._may_access_tenant(inventory._outer_user(), r.tenant_id))
                  ORDER BY r.id LOOP
        v_key := inventory._run_lock_key(v_run);
        CONTINUE WHEN inventory._holds_sync_lock(v_key);
        CONTINUE WHEN NOT pg_catalog.pg_try_advisory_lock(v_key);
        INSERT INTO inventory.inventory_sync_run_types (tenant_id, run_id, policy_type, status, error_code)
        SELECT v_run.tenant_id, v_run.id, pt, 'failed', 'run_abandoned'
          FROM unnest(v_run.policy_types) pt
        ON CONFLICT DO NOTHING;
        UPDATE inventory.inventory_sync_runs r
           SET status = 'failed', had_errors = true, finished_at = clock_timestamp(),
               error_codes = ARRAY(SELECT DISTINCT c FROM unnest(r.error_codes || 'run_abandoned'::text) c ORDER BY c),
               errors = r.errors || jsonb_build_array(jsonb_build_object(
                   'code', 'run_abandoned',
                   'message', 'the session that owned the run ended before finishing it',
                   'at', to_jsonb(clock_timestamp())))
         WHERE r.tenant_id = v_run.tenant_id AND r.id = v_run.id AND r.status = 'running';
        PERFORM pg_catalog.pg_advisory_unlock(v_key);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION inventory.reap_abandoned_runs() IS
'Marks running runs whose owning session is gone (nobody holds their run lock) as failed with run_abandoned; returns how many. begin_sync_run does the same for its own tenant and selection.';

--------------------------------------------------------------------------------
-- Roles
--------------------------------------------------------------------------------

CREATE FUNCTION inventory.grant_tenant_access(role name, tenant_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = grant_tenant_access.role) THEN
        RAISE EXCEPTION 'role "%" does not exist', grant_tenant_access.role USING ERRCODE = '42704';
    END IF;
    INSERT INTO inventory.tenant_access (role, tenant_id)
    VALUES (grant_tenant_access.role, grant_tenant_access.tenant_id)
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION inventory.grant_tenant_access(name, uuid) IS
'Lets a role (and its members) see a tenant''s inventory and, if it is a sync role, sync it.';

CREATE FUNCTION inventory.revoke_tenant_access(role name, tenant_id uuid) RETURNS boolean
    LANGUAGE sql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    WITH d AS (DELETE FROM inventory.tenant_access a
                WHERE a.role = revoke_tenant_access.role AND a.tenant_id = revoke_tenant_access.tenant_id
               RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM d)
$$;
COMMENT ON FUNCTION inventory.revoke_tenant_access(name, uuid) IS
'Removes a tenant grant; returns whether one existed.';

CREATE FUNCTION inventory.grant_sync_role(role name) RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA inventory TO %I', role);
    EXECUTE format('GRANT SELECT ON inventory.policy_types TO %I', role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION inventory.begin_sync_run(uuid, jsonb, uuid), '
                   'inventory.complete_policy_type(bigint, text, text, integer, integer, text), '
                   'inventory.finish_sync_run(bigint, text, jsonb), '
                   'inventory.canonical_json(jsonb), inventory.selection_hash(jsonb), '
                   'inventory.sync_lock_key(uuid, text), inventory.redact_secrets(text) TO %I', role);
    EXECUTE format('GRANT EXECUTE ON PROCEDURE inventory.apply_staged(bigint) TO %I', role);
END
$$;
COMMENT ON FUNCTION inventory.grant_sync_role(name) IS
'Gives a role what inventory-fetch needs and nothing more: EXECUTE on the run lifecycle and hashing functions and SELECT on the policy type registry. INSERT on its session''s staging table comes with begin_sync_run. Grant it tenants with grant_tenant_access.';

CREATE FUNCTION inventory.grant_reader_role(role name) RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA inventory TO %I', role);
    EXECUTE format('GRANT SELECT ON inventory.inventory_items, inventory.missing_items, '
                   'inventory.latest_sync_runs, inventory.tenant_sync_health, '
                   'inventory.item_counts, inventory.latest_run_changes, '
                   'inventory.item_state, inventory.type_watermarks, '
                   'inventory.inventory_sync_runs, inventory.inventory_sync_run_types, '
                   'inventory.policy_types, inventory.meta_keys, inventory.tenant_access TO %I', role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION inventory.missing_items(uuid, jsonb), '
                   'inventory.visible_tenants(), inventory._is_member_of(name), '
                   'inventory.canonical_json(jsonb), inventory.selection_hash(jsonb), '
                   'inventory.filter_meta(jsonb), inventory.filter_meta(jsonb, jsonb) TO %I', role);
END
$$;
COMMENT ON FUNCTION inventory.grant_reader_role(name) IS
'Gives a role read access to the inventory views and tables; row-level security limits it to the tenants granted with grant_tenant_access.';

--------------------------------------------------------------------------------
-- Privileges and pg_dump
--------------------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA inventory FROM PUBLIC;
REVOKE ALL ON SCHEMA inventory FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('inventory.policy_types', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('inventory.meta_keys', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('inventory.tenant_access', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.inventory_sync_runs', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.inventory_sync_run_types', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.type_watermarks', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.item_state', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.write_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.item_id_seq', '');
