@table107
Feature: Table 107 - CopyState/SyncState/ProgressStatus transitions during disaster recovery
  HP 3PAR InForm OS 3.1.1 CIM API (QL226-96591, July 2012), Replication Services Profile, Table 107
  (identical rows in QL226-97015 Table 109 and QL226-97722 Table 113). "Primary" is the array configured
  as primary before the disaster, "secondary" the array configured as secondary. failover, recover and
  restore are `setrcopygroup <command> -f <group>` issued on the original secondary.
  Columns as printed in the manual; `stage` and `when` tell the harness where in the sequence to look:
  `in_progress` rows are observed while the command runs, the others once the stage has settled.

  Scenario Outline: <id> <sequence of events>
    Given the remote-copy pair has reached stage "<stage>" (<when>)
    Then the <array> array shows Role/SyncStatus "<Role/SyncStatus>"
    And the <array> array reports CopyState "<CopyState>", SyncState "<SyncState>", ProgressStatus "<ProgressStatus>"

    Examples:
      | id       | sequence of events                                                                                   | array     | Role/SyncStatus       | CopyState      | SyncState         | ProgressStatus | stage        | when        |
      | T107-01  | State of Secondary 3PAR array after Primary 3PAR array goes down                                     | secondary | Secondary/Stopped     | Broken         | Broken            | Completed      | primary_down | after       |
      # E1: the manual prints ProgressStatus "FailedOver" (a CopyState value); read as "Failing Over" (11). A provider returning 10 ("Splitting") is wrong.
      | T107-02  | After setrcopygroup failover is issued on Secondary 3PAR array                                       | secondary | Primary-Rev/Stopped   | FailedOver     | Broken            | Failing Over   | failover     | in_progress |
      # E2: the manual stacks two value sets in this row; the first (link to the original primary still down) is T107-03.
      | T107-03  | State of Secondary 3PAR array after setrcopygroup failover is done                                   | secondary | Primary-Rev/Stopped   | FailedOver     | Broken            | Completed      | failover     | done        |
      # E2: the second stacked value set, split out: the original primary reachable again, before recover (interpretation, not literal text).
      | T107-03b | State of Secondary 3PAR array after setrcopygroup failover is done (original primary reachable again) | secondary | Primary-Rev/Stopped   | Broken         | Broken            | Completed      | primary_up   | after       |
      | T107-04  | State of Primary 3PAR array after it is brought back up                                              | primary   | Secondary-Rev/Stopped | Broken         | Broken            | Completed      | primary_up   | after       |
      # E3: SyncState RestoreInProgress (10) is not listed for this class in Table 105; the DMTF value map has it.
      | T107-05  | State of Secondary 3PAR array after setrcopygroup recover is issued on it                            | secondary | Primary-Rev/Syncing   | Unsynchronized | RestoreInProgress | Restoring      | recover      | in_progress |
      # E3: as T107-05.
      | T107-06  | State of Primary 3PAR array after setrcopygroup recover is issued on the secondary 3PAR array        | primary   | Secondary-Rev/Syncing | Unsynchronized | RestoreInProgress | Restoring      | recover      | in_progress |
      | T107-07  | State of Secondary 3PAR array after setrcopygroup recover is done                                    | secondary | Primary-Rev/Synced    | Synchronized   | Synchronized      | Completed      | recover      | done        |
      | T107-08  | State of Secondary 3PAR array if setrcopygroup recover fails                                         | secondary | Primary-Rev/Stopped   | FailedOver     | Broken            | Completed      | recover      | failed      |
      | T107-09  | State of Primary 3PAR array after setrcopygroup recover is done                                      | primary   | Secondary-Rev/Synced  | Synchronized   | Synchronized      | Completed      | recover      | done        |
      | T107-10  | State of Primary 3PAR array if setrcopygroup recover fails                                           | primary   | Secondary-Rev/Stopped | FailedOver     | Broken            | Completed      | recover      | failed      |
      | T107-11  | State of Secondary 3PAR array after setrcopygroup restore is issued on it                            | secondary | Primary-Rev/Synced    | Synchronized   | Synchronized      | Failing Back   | restore      | in_progress |
      | T107-12  | State of Secondary 3PAR array after setrcopygroup restore is done                                    | secondary | Secondary/Synced      | Synchronized   | Synchronized      | Completed      | restore      | done        |
      | T107-13  | State of Secondary 3PAR array if setrcopygroup restore failed                                        | secondary | Primary-Rev/Synced    | Synchronized   | Synchronized      | Completed      | restore      | failed      |
      # E4: the manual's event text says "after setrcopygroup recover is issued on the secondary"; values and position show it is the restore-in-progress row.
      | T107-14  | State of Primary 3PAR array after setrcopygroup restore is issued on the secondary 3PAR array        | primary   | Secondary-Rev/Synced  | Synchronized   | Synchronized      | Failing Back   | restore      | in_progress |
      | T107-15  | State of Primary 3PAR array if setrcopygroup restore is done                                         | primary   | Primary/Synced        | Synchronized   | Synchronized      | Completed      | restore      | done        |
      | T107-16  | State of Primary 3PAR array if setrcopygroup restore failed                                          | primary   | Secondary-Rev/Synced  | Synchronized   | Synchronized      | Completed      | restore      | failed      |
