@sld
Feature: Synchronous Long Distance (SLD) backup link
  HP 3PAR InForm OS 3.1.1 CIM API (QL226-96591), "Synchronous Long Distance (SLD) Backup Link".
  A primary group with two targets, one synchronous and one asynchronous periodic. Between the two
  secondaries there is a backup link, inactive in normal operation.

  Scenario Outline: <id> <title>
    Given an SLD trio in normal operation
    Then <expectation>

    Examples:
      | id     | title                                                                 | expectation |
      # E5: Table 105 does not list ProgressStatus Dormant (3), used by SLD-01.
      | SLD-01 | the backup link's StorageSynchronized reports the inactive backup state | the backup link pairs report CopyState "Initialized", SyncState "Initialized", ProgressStatus "Dormant" |
      | SLD-02 | the backup link runs from the synchronous to the periodic secondary    | the backup link pairs have SystemElement on the sync_secondary and SyncedElement on the periodic_secondary |
      | SLD-03 | showrcopy on both secondaries shows the backup group                   | showrcopy on the sync_secondary and the periodic_secondary shows the backup group with Role "Secondary" and Status "Backup" |
