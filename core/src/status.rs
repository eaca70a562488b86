//! Device status: who may move a device from which status to which.
//!
//! Three roles act on a device's status, each through its own entry point on both chains:
//!
//! | role      | from                 | to                   | while paused | entry point         |
//! |-----------|----------------------|----------------------|--------------|---------------------|
//! | authority | `Active`             | `Suspended`          | yes          | [`set_status`]      |
//! | authority | `Suspended`          | `Active`             | yes          | [`set_status`]      |
//! | authority | `SuspendedByAuditor` | `Active`, `Suspended`| yes          | [`set_status`]      |
//! | owner     | any but `Decommissioned` | `Decommissioned` | no           | [`set_status`]      |
//! | auditor   | `Active`             | `SuspendedByAuditor` | yes          | [`audit`]           |
//! | auditor   | `SuspendedByAuditor` | `Active`             | yes          | [`audit`]           |
//!
//! Everything else is refused, no-op changes included. `Decommissioned` is final. The
//! auditor's suspension is its own status so that the auditor can lift what it imposed and
//! nothing else: a suspension by the authority stands until the authority lifts it, while
//! the authority may reverse the auditor's suspension or take it over (`Suspended`).
//! Nobody sets `SuspendedByAuditor` through [`set_status`].
//!
//! Suspending is an incident tool, so the authority and the auditor act during a pause; the
//! owner's decommissioning is an ordinary state change and waits for the network to resume.
//!
//! The callers check identities (is the signer the authority, the owner, the auditor) and
//! pass what they found; this module decides what those roles may do, and in which order a
//! refusal is reported, so both chains refuse the same request with the same error.

use crate::error::CoreError;

/// Lifecycle of a device, as both chains store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceStatus {
    /// Serving and eligible for rewards.
    Active,
    /// Held by the network authority; only the authority reactivates it.
    Suspended,
    /// Retired by its owner. Final.
    Decommissioned,
    /// Held by the network's auditor; the auditor or the authority reactivates it.
    SuspendedByAuditor,
}

impl DeviceStatus {
    /// Every status, for exhaustive tables.
    pub const ALL: [DeviceStatus; 4] = [
        DeviceStatus::Active,
        DeviceStatus::Suspended,
        DeviceStatus::Decommissioned,
        DeviceStatus::SuspendedByAuditor,
    ];

    /// True while the device may serve and earn: only `Active`. Either kind of suspension
    /// stops a device from claiming rewards, bonding, taking deals or trading.
    pub fn is_active(self) -> bool {
        self == DeviceStatus::Active
    }
}

/// A role one account can hold towards one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The network's authority.
    Authority,
    /// The device's owner.
    Owner,
    /// The network's auditor.
    Auditor,
}

impl Role {
    /// Every role, for exhaustive tables.
    pub const ALL: [Role; 3] = [Role::Authority, Role::Owner, Role::Auditor];
}

/// The roles the caller of [`set_status`] holds towards the device; a caller can be both
/// the authority and the owner. The auditor has no say here: it acts through [`audit`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caller {
    /// The caller is the network's authority.
    pub authority: bool,
    /// The caller is the device's owner.
    pub owner: bool,
}

/// The table of the module doc: true if `role` may move a device from `from` to `to`,
/// pause aside (see [`allowed_while_paused`]).
pub fn may(role: Role, from: DeviceStatus, to: DeviceStatus) -> bool {
    use DeviceStatus::{Active, Decommissioned, Suspended, SuspendedByAuditor};
    match (role, from, to) {
        (_, Decommissioned, _) => false,
        (Role::Authority, Active, Suspended)
        | (Role::Authority, Suspended, Active)
        | (Role::Authority, SuspendedByAuditor, Active | Suspended) => true,
        (Role::Owner, _, Decommissioned) => true,
        (Role::Auditor, Active, SuspendedByAuditor)
        | (Role::Auditor, SuspendedByAuditor, Active) => true,
        _ => false,
    }
}

/// True if `role` may change statuses while the network is paused: the authority and the
/// auditor (suspending is an incident tool), not the owner.
pub fn allowed_while_paused(role: Role) -> bool {
    match role {
        Role::Authority | Role::Auditor => true,
        Role::Owner => false,
    }
}

/// Checks the authority's or owner's request to move a device from `from` to `to` and
/// returns the status to store (`to`). A caller holding both roles may do what either
/// may; the owner's part is refused while `paused`.
///
/// # Errors
/// In this order: `DeviceDecommissioned` (`from` is final), `StatusChangeUnauthorized`
/// (the caller holds neither role), `NetworkPaused` (only the owner's role allows it and
/// the network is paused), `InvalidStatusTransition` (no role of the caller allows it).
pub fn set_status(
    caller: Caller,
    from: DeviceStatus,
    to: DeviceStatus,
    paused: bool,
) -> Result<DeviceStatus, CoreError> {
    if from == DeviceStatus::Decommissioned {
        return Err(CoreError::DeviceDecommissioned);
    }
    if !caller.authority && !caller.owner {
        return Err(CoreError::StatusChangeUnauthorized);
    }
    let mut refused_by_pause = false;
    for (held, role) in [
        (caller.authority, Role::Authority),
        (caller.owner, Role::Owner),
    ] {
        if held && may(role, from, to) {
            if !paused || allowed_while_paused(role) {
                return Ok(to);
            }
            refused_by_pause = true;
        }
    }
    Err(if refused_by_pause {
        CoreError::NetworkPaused
    } else {
        CoreError::InvalidStatusTransition
    })
}

/// Checks the auditor's request and returns the status to store. The auditor asks for
/// `Suspended` (an `Active` device becomes `SuspendedByAuditor`) or `Active` (a device it
/// suspended is reinstated); `evidence` is the hash of what the action rests on and is
/// never all zeros. The caller has already checked that the auditor is the network's.
///
/// # Errors
/// In this order: `DeviceDecommissioned` (`from` is final), `MissingEvidence` (all-zero
/// evidence), `InvalidStatusTransition` (any other request, e.g. reinstating a device the
/// authority suspended, or a no-op), `NetworkPaused` (never as the table stands: the
/// auditor acts during a pause).
pub fn audit(
    from: DeviceStatus,
    requested: DeviceStatus,
    evidence: &[u8; 32],
    paused: bool,
) -> Result<DeviceStatus, CoreError> {
    if from == DeviceStatus::Decommissioned {
        return Err(CoreError::DeviceDecommissioned);
    }
    if evidence == &[0; 32] {
        return Err(CoreError::MissingEvidence);
    }
    let to = match requested {
        DeviceStatus::Suspended => DeviceStatus::SuspendedByAuditor,
        DeviceStatus::Active => DeviceStatus::Active,
        DeviceStatus::Decommissioned | DeviceStatus::SuspendedByAuditor => {
            return Err(CoreError::InvalidStatusTransition)
        }
    };
    if !may(Role::Auditor, from, to) {
        return Err(CoreError::InvalidStatusTransition);
    }
    if paused && !allowed_while_paused(Role::Auditor) {
        return Err(CoreError::NetworkPaused);
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::DeviceStatus::{Active, Decommissioned, Suspended, SuspendedByAuditor};
    use super::*;

    /// The module doc's table, written out row by row: every (role, from, to) not listed
    /// here must be refused.
    const ALLOWED: [(Role, DeviceStatus, DeviceStatus); 9] = [
        (Role::Authority, Active, Suspended),
        (Role::Authority, Suspended, Active),
        (Role::Authority, SuspendedByAuditor, Active),
        (Role::Authority, SuspendedByAuditor, Suspended),
        (Role::Owner, Active, Decommissioned),
        (Role::Owner, Suspended, Decommissioned),
        (Role::Owner, SuspendedByAuditor, Decommissioned),
        (Role::Auditor, Active, SuspendedByAuditor),
        (Role::Auditor, SuspendedByAuditor, Active),
    ];

    #[test]
    fn the_table_is_exactly_the_documented_one() {
        let mut checked = 0;
        for role in Role::ALL {
            for from in DeviceStatus::ALL {
                for to in DeviceStatus::ALL {
                    let listed = ALLOWED.contains(&(role, from, to));
                    assert_eq!(may(role, from, to), listed, "{role:?}: {from:?} -> {to:?}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 3 * 4 * 4);
    }

    #[test]
    fn nothing_leaves_decommissioned_and_no_change_is_a_no_op() {
        for role in Role::ALL {
            for status in DeviceStatus::ALL {
                assert!(!may(role, Decommissioned, status));
                assert!(!may(role, status, status));
            }
        }
    }

    #[test]
    fn only_the_auditor_suspends_by_auditor_and_only_the_owner_decommissions() {
        for from in DeviceStatus::ALL {
            assert!(!may(Role::Authority, from, SuspendedByAuditor));
            assert!(!may(Role::Owner, from, SuspendedByAuditor));
            assert!(!may(Role::Authority, from, Decommissioned));
            assert!(!may(Role::Auditor, from, Decommissioned));
        }
    }

    #[test]
    fn the_pause_holds_the_owner_only() {
        assert!(allowed_while_paused(Role::Authority));
        assert!(allowed_while_paused(Role::Auditor));
        assert!(!allowed_while_paused(Role::Owner));
    }

    const NOBODY: Caller = Caller {
        authority: false,
        owner: false,
    };
    const AUTHORITY: Caller = Caller {
        authority: true,
        owner: false,
    };
    const OWNER: Caller = Caller {
        authority: false,
        owner: true,
    };
    const BOTH: Caller = Caller {
        authority: true,
        owner: true,
    };

    /// `set_status` for every caller × from × to × pause: allowed exactly when one of the
    /// caller's roles allows it (and, paused, that role acts during a pause), refused with
    /// the documented error otherwise.
    #[test]
    fn set_status_follows_the_table_for_every_caller() {
        for caller in [NOBODY, AUTHORITY, OWNER, BOTH] {
            let roles = [
                (caller.authority, Role::Authority),
                (caller.owner, Role::Owner),
            ];
            for from in DeviceStatus::ALL {
                for to in DeviceStatus::ALL {
                    for paused in [false, true] {
                        let got = set_status(caller, from, to, paused);
                        let by_table = roles.iter().any(|(held, r)| *held && may(*r, from, to));
                        let by_table_now = roles.iter().any(|(held, r)| {
                            *held && may(*r, from, to) && (!paused || allowed_while_paused(*r))
                        });
                        let want = if from == Decommissioned {
                            Err(CoreError::DeviceDecommissioned)
                        } else if caller == NOBODY {
                            Err(CoreError::StatusChangeUnauthorized)
                        } else if by_table_now {
                            Ok(to)
                        } else if by_table {
                            Err(CoreError::NetworkPaused)
                        } else {
                            Err(CoreError::InvalidStatusTransition)
                        };
                        assert_eq!(got, want, "{caller:?} {from:?} -> {to:?} paused {paused}");
                    }
                }
            }
        }
    }

    #[test]
    fn set_status_examples() {
        // the authority suspends and lifts its suspension, paused or not
        assert_eq!(
            set_status(AUTHORITY, Active, Suspended, true),
            Ok(Suspended)
        );
        assert_eq!(set_status(AUTHORITY, Suspended, Active, true), Ok(Active));
        // it reverses or takes over the auditor's suspension
        assert_eq!(
            set_status(AUTHORITY, SuspendedByAuditor, Active, false),
            Ok(Active)
        );
        assert_eq!(
            set_status(AUTHORITY, SuspendedByAuditor, Suspended, false),
            Ok(Suspended)
        );
        // but never suspends in the auditor's name, nor decommissions
        assert_eq!(
            set_status(AUTHORITY, Active, SuspendedByAuditor, false),
            Err(CoreError::InvalidStatusTransition)
        );
        assert_eq!(
            set_status(AUTHORITY, Active, Decommissioned, false),
            Err(CoreError::InvalidStatusTransition)
        );
        // the owner decommissions from any live status, not while paused
        assert_eq!(
            set_status(OWNER, SuspendedByAuditor, Decommissioned, false),
            Ok(Decommissioned)
        );
        assert_eq!(
            set_status(OWNER, Active, Decommissioned, true),
            Err(CoreError::NetworkPaused)
        );
        assert_eq!(
            set_status(BOTH, Active, Decommissioned, true),
            Err(CoreError::NetworkPaused)
        );
        // the owner cannot lift a suspension; the authority holding the device can
        assert_eq!(
            set_status(OWNER, Suspended, Active, false),
            Err(CoreError::InvalidStatusTransition)
        );
        assert_eq!(set_status(BOTH, Suspended, Active, true), Ok(Active));
        // a no-op is refused; a stranger first of all
        assert_eq!(
            set_status(AUTHORITY, Active, Active, false),
            Err(CoreError::InvalidStatusTransition)
        );
        assert_eq!(
            set_status(NOBODY, Active, Suspended, false),
            Err(CoreError::StatusChangeUnauthorized)
        );
        assert_eq!(
            set_status(NOBODY, Decommissioned, Active, false),
            Err(CoreError::DeviceDecommissioned)
        );
    }

    /// `audit` for every from × requested × evidence × pause.
    #[test]
    fn audit_follows_the_table_for_every_request() {
        for from in DeviceStatus::ALL {
            for requested in DeviceStatus::ALL {
                for evidence in [[0; 32], [7; 32]] {
                    for paused in [false, true] {
                        let got = audit(from, requested, &evidence, paused);
                        let target = match requested {
                            Suspended => Some(SuspendedByAuditor),
                            Active => Some(Active),
                            _ => None,
                        };
                        let want = if from == Decommissioned {
                            Err(CoreError::DeviceDecommissioned)
                        } else if evidence == [0; 32] {
                            Err(CoreError::MissingEvidence)
                        } else {
                            match target {
                                Some(to) if may(Role::Auditor, from, to) => Ok(to),
                                _ => Err(CoreError::InvalidStatusTransition),
                            }
                        };
                        assert_eq!(got, want, "{from:?} asked {requested:?} paused {paused}");
                    }
                }
            }
        }
    }

    #[test]
    fn audit_examples() {
        let e = [1; 32];
        assert_eq!(audit(Active, Suspended, &e, true), Ok(SuspendedByAuditor));
        assert_eq!(audit(SuspendedByAuditor, Active, &e, false), Ok(Active));
        // the authority's suspension is not the auditor's to lift or repeat
        assert_eq!(
            audit(Suspended, Active, &e, false),
            Err(CoreError::InvalidStatusTransition)
        );
        assert_eq!(
            audit(Suspended, Suspended, &e, false),
            Err(CoreError::InvalidStatusTransition)
        );
        // no-ops and statuses the auditor cannot ask for
        assert_eq!(
            audit(SuspendedByAuditor, Suspended, &e, false),
            Err(CoreError::InvalidStatusTransition)
        );
        assert_eq!(
            audit(Active, SuspendedByAuditor, &e, false),
            Err(CoreError::InvalidStatusTransition)
        );
        assert_eq!(
            audit(Active, Decommissioned, &e, false),
            Err(CoreError::InvalidStatusTransition)
        );
        assert_eq!(
            audit(Active, Suspended, &[0; 32], false),
            Err(CoreError::MissingEvidence)
        );
        assert_eq!(
            audit(Decommissioned, Suspended, &[0; 32], false),
            Err(CoreError::DeviceDecommissioned)
        );
    }

    #[test]
    fn only_active_is_active() {
        for status in DeviceStatus::ALL {
            assert_eq!(status.is_active(), status == Active);
        }
    }
}
