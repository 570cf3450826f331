//! Step 0a (option A) seen from the enterprise: its policy decides whether to ask, the NEF is
//! asked over mutual TLS, and its answer is checked ([`accept_allocation`], pure) before the
//! designated IMPU is remembered in the ledger.

use std::fmt;

use kit::Error;
use kit::http::{Request, Response};
use proto::trace::{Act, Note, Reason};
use proto::wire::authz::{ALLOCATE_PATH, Allocation, AllocationRequest};

use super::Inner;
use crate::authz::policy::{Denial, Designated};

/// Why an allocation (step 0a) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocationError {
    /// The enterprise's own policy: not an employee, revoked, 3P ID not allowed.
    Policy(Denial),
    /// The NEF could not be reached.
    Transport(Error),
    /// The NEF answered with an error.
    Refused {
        /// Its HTTP status.
        status: u16,
        /// Its answer's body.
        reason: String,
    },
    /// The NEF's answer is not an allocation.
    BadAnswer(String),
    /// The NEF allocated for another 3P ID than the one asked for.
    WrongId3p {
        /// The 3P ID asked for.
        asked: String,
        /// The 3P ID of the allocation.
        allocated: String,
    },
}

impl fmt::Display for AllocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocationError::Policy(d) => write!(f, "not requested: {d}"),
            AllocationError::Transport(e) => write!(f, "NEF unreachable: {e}"),
            AllocationError::Refused { status, reason } => {
                write!(f, "NEF refused ({status}): {reason}")
            }
            AllocationError::BadAnswer(detail) => write!(f, "NEF answer unusable: {detail}"),
            AllocationError::WrongId3p { asked, allocated } => write!(
                f,
                "NEF answer unusable: allocation is for {allocated}, asked for {asked}"
            ),
        }
    }
}

impl std::error::Error for AllocationError {}

impl AllocationError {
    /// The typed reason, for the trace: the enterprise's own [`Denial::reason`]; an unreachable
    /// NEF (or one answering with a server error) [`Reason::Unreachable`]; a NEF refusing this
    /// AF (401/403) [`Reason::NotAuthorised`]; an answer that does not decode, or a request it
    /// could not read (400), [`Reason::Malformed`]; an allocation for another 3P ID
    /// [`Reason::Mismatch`].
    pub fn reason(&self) -> Reason {
        match self {
            AllocationError::Policy(d) => d.reason(),
            AllocationError::Transport(_) => Reason::Unreachable,
            AllocationError::Refused {
                status: 401 | 403, ..
            } => Reason::NotAuthorised,
            AllocationError::Refused { status: 400, .. } | AllocationError::BadAnswer(_) => {
                Reason::Malformed
            }
            AllocationError::Refused { .. } => Reason::Unreachable,
            AllocationError::WrongId3p { .. } => Reason::Mismatch,
        }
    }
}

/// The allocation in the NEF's answer, if it is one for `id3p`.
fn accept_allocation(response: &Response, id3p: &str) -> Result<Allocation, AllocationError> {
    if response.status != 200 {
        return Err(AllocationError::Refused {
            status: response.status,
            reason: String::from_utf8_lossy(&response.body).into_owned(),
        });
    }
    let allocation: Allocation = serde_json::from_slice(&response.body)
        .map_err(|e| AllocationError::BadAnswer(e.to_string()))?;
    if allocation.id3p != id3p {
        return Err(AllocationError::WrongId3p {
            asked: id3p.to_owned(),
            allocated: allocation.id3p,
        });
    }
    Ok(allocation)
}

/// What the trace calls the check of the NEF's answer (step 0a).
const ALLOCATION_CHECK: &str = "designated IMPU allocated (step 0a)";

impl Inner {
    /// Step 0a: asks the NEF for a designated IMPU for one employee and 3P ID, and remembers
    /// it. Notes [`Act::RequestAllocation`] done when it asks (refused, with the reason, when
    /// the enterprise's own policy refuses to ask), then the check of the NEF's answer.
    pub(super) async fn allocate(
        &self,
        employee_impu: &str,
        id3p: &str,
    ) -> Result<Allocation, AllocationError> {
        self.may_request(employee_impu, id3p)?;
        let label = format!(
            "request a designated IMPU for {employee_impu} to present {id3p} (step 0a, option A)"
        );
        self.note(None, Note::done(Act::RequestAllocation, label));
        let response = self.ask_nef(employee_impu, id3p).await?;
        let accepted = accept_allocation(&response, id3p);
        self.settle_allocation(employee_impu, id3p, accepted)
    }

    /// The enterprise's policy for step 0a; a refusal is noted.
    fn may_request(&self, employee_impu: &str, id3p: &str) -> Result<(), AllocationError> {
        let ledger = self.ledger();
        let Err(denial) = self.authority.entitled(&ledger, employee_impu, id3p) else {
            return Ok(());
        };
        drop(ledger);
        let label = format!(
            "refuse to request a designated IMPU for {employee_impu} to present {id3p}: {denial}"
        );
        self.note(
            None,
            Note::refused(Act::RequestAllocation, denial.reason(), label),
        );
        Err(AllocationError::Policy(denial))
    }

    /// Step 0a's exchange with the NEF (mutual TLS).
    async fn ask_nef(&self, employee_impu: &str, id3p: &str) -> Result<Response, AllocationError> {
        // Two strings always encode; the error arm only keeps this free of a panic.
        let body = serde_json::to_vec(&AllocationRequest {
            employee_impu: employee_impu.to_owned(),
            id3p: id3p.to_owned(),
        })
        .map_err(|e| AllocationError::BadAnswer(e.to_string()))?;
        let url = format!("https://{}{ALLOCATE_PATH}", self.config.nef_host);
        self.client
            .send(Request::post_json(url, body))
            .await
            .map_err(AllocationError::Transport)
    }

    /// Remembers an accepted allocation (so that option A calls from it are authorised), and
    /// notes the check of the NEF's answer either way.
    fn settle_allocation(
        &self,
        employee_impu: &str,
        id3p: &str,
        accepted: Result<Allocation, AllocationError>,
    ) -> Result<Allocation, AllocationError> {
        match accepted {
            Ok(allocation) => {
                self.ledger().allocations.insert(
                    allocation.impu.clone(),
                    Designated {
                        allocation: allocation.clone(),
                        employee_impu: employee_impu.to_owned(),
                    },
                );
                let detail = format!(
                    "remember designated IMPU {} for {employee_impu} ({id3p})",
                    allocation.impu
                );
                self.note(None, Note::pass(ALLOCATION_CHECK, detail));
                Ok(allocation)
            }
            Err(e) => {
                let note = Note::fail(ALLOCATION_CHECK, e.reason(), None, e.to_string());
                self.note(None, note);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const ID3P: &str = "tel:+12025550100";

    fn answer(status: u16, body: &str) -> Response {
        Response::json(status, body.as_bytes().to_vec())
    }

    #[test]
    fn allocation_answers() {
        let ok = r#"{"impu":"sip:d","tn":"+1","id3p":"tel:+12025550100","realm":"r"}"#;
        assert_eq!(
            accept_allocation(&answer(200, ok), ID3P).unwrap().impu,
            "sip:d"
        );
        let e = accept_allocation(&answer(200, ok), "tel:+1999").unwrap_err();
        assert_eq!(
            e.to_string(),
            "NEF answer unusable: allocation is for tel:+12025550100, asked for tel:+1999"
        );
        assert_eq!(e.reason(), Reason::Mismatch);
        let e = accept_allocation(&answer(200, "{"), ID3P).unwrap_err();
        assert_eq!(e.reason(), Reason::Malformed);
        let e = accept_allocation(&answer(403, "no"), ID3P).unwrap_err();
        assert_eq!(
            e,
            AllocationError::Refused {
                status: 403,
                reason: "no".into()
            }
        );
        assert_eq!(e.reason(), Reason::NotAuthorised);
        let e = accept_allocation(&answer(503, "pool exhausted"), ID3P).unwrap_err();
        assert_eq!(e.reason(), Reason::Unreachable);
        let e = AllocationError::Policy(Denial::NotAnEmployee { impu: UE_A.into() });
        assert_eq!(e.reason(), Reason::NoRecord);
        let e = AllocationError::Transport(Error::Timeout { ms: 10 });
        assert_eq!(e.reason(), Reason::Unreachable);
    }
}
