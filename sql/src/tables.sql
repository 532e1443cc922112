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
    row_fp               text,
    PRIMARY KEY (tenant_id, policy_type, external_id)
)
-- Room on every page for a changed row's new version (a HOT update: no new
-- index entry, no index page logged after a checkpoint); a re-sync changes
-- few rows, spread over the whole table.
WITH (fillfactor = 90);
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
COMMENT ON COLUMN inventory.item_state.row_fp IS 'Fingerprint the client gave the staged row this row was last written from (NULL when it gave none); inventory.sync_manifest hands it back so that unchanged items can be staged as keys.';

--------------------------------------------------------------------------------
-- pg_dump keeps the data (builtin registry rows come with the extension)
--------------------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('inventory.policy_types', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('inventory.meta_keys', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('inventory.inventory_sync_runs', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.inventory_sync_run_types', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.type_watermarks', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.item_state', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.write_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.item_id_seq', '');
