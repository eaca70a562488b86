-- Device registry: the network's auditor (a key the authority names) and the devices it
-- suspends or reinstates, each with the hash of its evidence. A device's status still
-- follows `registry_device_status_changed`, which `audit_device` emits beside its own event.
-- Key indexes carry the history order (slot, position), as V5 gave the other tables.

CREATE TABLE registry_auditor_set (
    network TEXT NOT NULL, previous TEXT, auditor TEXT
) INHERITS (events);
SELECT depin_event_table('registry_auditor_set');
CREATE INDEX ON registry_auditor_set (network, slot, tx_index, instruction_index, event_index);

CREATE TABLE registry_device_audited (
    device TEXT NOT NULL, network TEXT NOT NULL, auditor TEXT NOT NULL,
    previous_status TEXT NOT NULL, status TEXT NOT NULL, evidence BYTEA NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_device_audited');
CREATE INDEX ON registry_device_audited (device, slot, tx_index, instruction_index, event_index);
CREATE INDEX ON registry_device_audited (network, auditor);
