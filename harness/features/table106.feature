@table106
Feature: Table 106 - CopyState/SyncState/ProgressStatus in normal operation
  HP 3PAR InForm OS 3.1.1 CIM API (QL226-96591), Replication Services Profile, Table 106.
  "Normal" means the CLI target Status is "ready". Keyed by the volume SyncStatus that showrcopy prints;
  checked on every array of the pair.

  Scenario Outline: <id> volumes <SyncStatus> in normal operation
    Given the remote-copy pair is in normal operation with volumes "<SyncStatus>"
    Then every array shows SyncStatus "<SyncStatus>"
    And every array reports CopyState "<CopyState>", SyncState "<SyncState>", ProgressStatus "<ProgressStatus>"

    Examples:
      | id      | SyncStatus | CopyState      | SyncState        | ProgressStatus    |
      | T106-01 | New        | Initialized    | ResyncInProgress | Requires Activate |
      | T106-02 | Syncing    | Unsynchronized | ResyncInProgress | Synchronizing     |
      | T106-03 | Synced     | Synchronized   | Synchronized     | Completed         |
      | T106-04 | NotSynced  | Broken         | Broken           | Completed         |
      | T106-05 | Stale      | Skewed         | Broken           | Completed         |
      # E5: Table 105 does not list ProgressStatus Dormant (3), used by T106-06.
      | T106-06 | Stopped    | Inactive       | Frozen           | Dormant           |
