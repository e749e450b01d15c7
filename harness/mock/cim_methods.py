"""Extrinsic methods of the simulated provider: the replication service capabilities, as the HP 3PAR
InForm OS 3.1.1 CIM API manual documents them for remote copy.

Remote mirrors are read-only through CIM, so for Synchronous and Asynchronous Mirror Remote (4, 5):
GetSupportedOperations answers an empty SupportedOperations[]; GetSupportedCopyStates answers the
copy states a remote-copy pair can report with the parallel HostAccessible[] (true for each). Any other
ReplicationType answers "Not Supported" with the code the manual gives, 2 (DMTF's value map for these
methods has "Not Supported" at 1 and "Unknown" at 2: a client naming the code through the class's
value map reads "Unknown"), and no output parameters. Local replication (snapshots, clones), which
the manual also lists, is not simulated.
"""

from __future__ import annotations

from pywbem import CIM_ERR_INVALID_PARAMETER, CIMError, NocaseDict, Uint16, Uint32

from harness.mock.cim_values import REMOTE_MIRROR_TYPES, SUPPORTED_COPY_STATES

RC_SUCCESS = 0
RC_NOT_SUPPORTED = 2  # "Not Supported (2)" in the 3.1.1 manual
METHODS = ("GetSupportedOperations", "GetSupportedCopyStates")


def replication_type(method: str, args: NocaseDict) -> int:
    """The ReplicationType argument as an integer; CIM_ERR_INVALID_PARAMETER if missing or not one."""
    raw = args.get("ReplicationType")
    if raw is None:
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{method}: ReplicationType is required")
    try:
        return int(raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{method}: ReplicationType {raw!r} is no integer") from None


def capabilities_method(method: str, args: NocaseDict) -> tuple[Uint32, NocaseDict]:
    """Return value and output parameters of one of METHODS on the replication service capabilities."""
    rtype = replication_type(method, args)
    out = NocaseDict()
    if rtype not in REMOTE_MIRROR_TYPES:
        return Uint32(RC_NOT_SUPPORTED), out
    if method == "GetSupportedOperations":
        out["SupportedOperations"] = []
    else:
        out["SupportedCopyStates"] = [Uint16(state) for state in SUPPORTED_COPY_STATES]
        out["HostAccessible"] = [True for _ in SUPPORTED_COPY_STATES]
    return Uint32(RC_SUCCESS), out
