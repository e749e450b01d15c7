@rules
Feature: Rules stated around the tables, checked on every observation of the run
  HP 3PAR InForm OS 3.1.1 CIM API (QL226-96591), Replication Services Profile, prose around Tables 105-107.
  Each rule is evaluated against every observation the run made (not only at checkpoints); its verdict
  lists every violation with the observation it came from.

  Scenario Outline: <id> <rule>
    Given the run's observations so far
    Then rule <id> holds on every observation

    Examples:
      | id      | rule                                                                                                       |
      | RULE-01 | CopyState is FailedOver only on a role-reversed array while the link to the peer is down                    |
      | RULE-02 | RoleReversed is true exactly when the role is Primary-Rev or Secondary-Rev                                 |
      | RULE-03 | SystemElement is the current source and SyncedElement the current target                                   |
      | RULE-04 | An unresolvable remote end is a TPD_ReplicationEntity named by UndiscoveredElement, reachable only via Associators |
      | RULE-05 | RequestedCopyState is Not Applicable once reached, Synchronized while Broken or Skewed                     |
      | RULE-06 | WhenSynced is NULL for synchronous mode                                                                    |
      | RULE-07 | SyncType Mirror, ReplicaType Full Copy, Mode and CopyType match the group's mode                           |
      | RULE-08 | In normal operation the CIM values equal the Table 106 row of the SyncStatus showrcopy prints              |
      | RULE-09 | TPD_RemoteGroupSynchronized keeps the configured source group as SystemElement after failover              |
