--------------------------------------------------------------------------------
-- History and trust (docs/design.md §12): verified deletions on item rows,
-- the guard's verdict and the verification counts on run types, the history,
-- the verification answers and the trust settings. Part of a fresh install
-- (after tables.sql) and of the update from 0.1.0, the same file in both.
--------------------------------------------------------------------------------

ALTER TABLE inventory.item_state ADD COLUMN deleted_at timestamptz, ADD COLUMN deleted_run_id bigint;
ALTER TABLE inventory.inventory_sync_run_types
    ADD COLUMN absent_marked integer NOT NULL DEFAULT 0 CHECK (absent_marked >= 0),
    ADD COLUMN present_before integer CHECK (present_before >= 0),
    ADD COLUMN verified_deleted integer NOT NULL DEFAULT 0 CHECK (verified_deleted >= 0),
    ADD COLUMN verified_present integer NOT NULL DEFAULT 0 CHECK (verified_present >= 0),
    ADD COLUMN mass_missing text CHECK (mass_missing IN ('held', 'accepted', 'confirmed')),
    ADD COLUMN mass_missing_resolved_at timestamptz,
    ADD COLUMN mass_missing_resolved_by text;

COMMENT ON COLUMN inventory.item_state.deleted_at IS 'When Graph answered 404 for the absent item (a verified deletion); NULL otherwise.';
COMMENT ON COLUMN inventory.item_state.deleted_run_id IS 'Run that verified the deletion.';

CREATE INDEX inventory_sync_run_types_held ON inventory.inventory_sync_run_types (tenant_id, policy_type)
    WHERE mass_missing = 'held';
COMMENT ON COLUMN inventory.inventory_sync_run_types.absent_marked IS 'Items this complete enumeration made absent.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.present_before IS 'Items of the type that were present when the enumeration ended, counted only when the guard was asked (at least its min_items would go absent); NULL otherwise.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.verified_deleted IS 'Absent items for which Graph answered 404 (verified deletions).';
COMMENT ON COLUMN inventory.inventory_sync_run_types.verified_present IS 'Items the listing left out but Graph answered 200 for (listing_inconsistent).';
COMMENT ON COLUMN inventory.inventory_sync_run_types.mass_missing IS 'held: the enumeration made more than the threshold of present items absent (inventory.trust_settings), and its absences are suspect; accepted (inventory.accept_mass_missing) or confirmed (a later complete enumeration that was not held); NULL when the guard did not trip.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.mass_missing_resolved_at IS 'When a held verdict was accepted or confirmed.';
COMMENT ON COLUMN inventory.inventory_sync_run_types.mass_missing_resolved_by IS 'Who resolved it: the accepting role, or "run N" for a confirming enumeration.';

-- One row per observed change of an item, written by the statements that
-- write the item rows. Append-only: only inventory.prune_history deletes.
CREATE SEQUENCE inventory.change_id_seq;
COMMENT ON SEQUENCE inventory.change_id_seq IS 'History row ids: increasing in write order.';
CREATE TABLE inventory.item_changes (
    tenant_id         uuid NOT NULL,
    id                bigint NOT NULL DEFAULT nextval('inventory.change_id_seq'),
    run_id            bigint NOT NULL,
    policy_type       text NOT NULL,
    external_id       text NOT NULL,
    item_id           bigint NOT NULL,
    changed_at        timestamptz NOT NULL,
    change            text NOT NULL CHECK (change IN ('new', 'changed', 'gone', 'back', 'deleted')),
    old_display_name  text,
    new_display_name  text,
    old_content_hash  text,
    new_content_hash  text,
    meta_changes      jsonb NOT NULL DEFAULT '{}',
    -- Led by the run: what a run changed (latest_run_changes, pruning) is
    -- one range of the key, a run's rows are appended at its end (a first
    -- sync's in item id order), and an item's new row is found by the run
    -- that first saw it.
    PRIMARY KEY (tenant_id, run_id, item_id, id)
);
-- An item's other changes by its id (inventory.item_history reaches them
-- from the item's key). New rows stay out: a first sync writes one index
-- entry per item, and a re-sync's few changes touch few pages of a small
-- index rather than pages all over one entry per item ever seen.
CREATE INDEX item_changes_item ON inventory.item_changes (tenant_id, item_id, id) WHERE change <> 'new';
COMMENT ON TABLE inventory.item_changes IS
'History: one row per observed change of an item (new, changed, gone, back, deleted), written in the same statements as the item rows; read it through inventory.item_history.';
COMMENT ON COLUMN inventory.item_changes.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.item_changes.id IS 'Row id, increasing in write order.';
COMMENT ON COLUMN inventory.item_changes.run_id IS 'Run that observed the change.';
COMMENT ON COLUMN inventory.item_changes.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.item_changes.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.item_changes.item_id IS 'Item id (inventory.inventory_items.id).';
COMMENT ON COLUMN inventory.item_changes.changed_at IS 'When the change was recorded.';
COMMENT ON COLUMN inventory.item_changes.change IS 'new (first observed), changed (name, whitelisted meta or content), gone (a complete enumeration no longer listed it), back (observed again after gone), deleted (gone, and Graph answered 404 for it).';
COMMENT ON COLUMN inventory.item_changes.old_display_name IS 'Name before the change (NULL for new).';
COMMENT ON COLUMN inventory.item_changes.new_display_name IS 'Name after the change (NULL for gone and deleted).';
COMMENT ON COLUMN inventory.item_changes.old_content_hash IS 'Content hash before the change.';
COMMENT ON COLUMN inventory.item_changes.new_content_hash IS 'Content hash after the change.';
COMMENT ON COLUMN inventory.item_changes.meta_changes IS 'Whitelisted meta keys whose values changed: {"key": {"old": v, "new": v}} (null for a key not set); for new, every key it was first observed with.';

-- What Graph answered when asked for items a complete listing left out.
CREATE TABLE inventory.item_verifications (
    tenant_id    uuid NOT NULL,
    run_id       bigint NOT NULL,
    policy_type  text NOT NULL,
    external_id  text NOT NULL,
    http_status  integer NOT NULL CHECK (http_status BETWEEN 0 AND 999),
    checked_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, run_id, policy_type, external_id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES inventory.inventory_sync_runs (tenant_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE inventory.item_verifications IS
'Answers of Graph to GET <graph_path>/{id} for items a complete listing left out (inventory.record_verifications): 404 verifies a deletion, 200 shows the listing was wrong.';
COMMENT ON COLUMN inventory.item_verifications.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.item_verifications.run_id IS 'The run.';
COMMENT ON COLUMN inventory.item_verifications.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.item_verifications.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.item_verifications.http_status IS 'HTTP status of the answer (0: no answer).';
COMMENT ON COLUMN inventory.item_verifications.checked_at IS 'When it was recorded.';

-- Per tenant and policy type settings of the trust rules; a NULL tenant or
-- type applies to every one, a NULL setting defers to the next row.
CREATE TABLE inventory.trust_settings (
    tenant_id              uuid,
    policy_type            text,
    mass_missing_fraction  numeric CHECK (mass_missing_fraction > 0 AND mass_missing_fraction <= 1),
    mass_missing_min_items integer CHECK (mass_missing_min_items >= 1),
    max_age                interval CHECK (max_age > interval '0'),
    UNIQUE NULLS NOT DISTINCT (tenant_id, policy_type)
);
COMMENT ON TABLE inventory.trust_settings IS
'Settings of the mass-missing guard and of freshness, per tenant and policy type. For each setting the most specific row that sets it wins: tenant and type, tenant, type, then the row for all (NULL, NULL); without any, the defaults 0.5, 10 and 26 hours (inventory.trust_settings_for shows what applies).';
COMMENT ON COLUMN inventory.trust_settings.tenant_id IS 'Tenant the row applies to (NULL: every tenant).';
COMMENT ON COLUMN inventory.trust_settings.policy_type IS 'Policy type the row applies to (NULL: every type).';
COMMENT ON COLUMN inventory.trust_settings.mass_missing_fraction IS 'A complete enumeration that would make more than this fraction of the present items absent is held (1 turns the guard off).';
COMMENT ON COLUMN inventory.trust_settings.mass_missing_min_items IS '... and at least this many.';
COMMENT ON COLUMN inventory.trust_settings.max_age IS 'inventory.stale_inventory lists a type whose last complete enumeration is older.';

SELECT pg_catalog.pg_extension_config_dump('inventory.item_changes', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.change_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.item_verifications', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.trust_settings', '');
