//! What the network functions of this crate make of the HTTPS answers of the next hop, and the
//! `Problem` answers they give (TR 33.790 §6.5 and §6.6 relays: XR AS → DCSF → MF, MF → BAR,
//! XR AS → DAC and MF). Pure.

use kit::Error;
use kit::http::Response;
use kit::node::json_response;
use proto::trace::Reason;
use proto::wire::avatar::Problem;

/// An HTTPS answer with a [`Problem`] body.
pub(crate) fn problem(status: u16, reason: Reason, detail: impl Into<String>) -> Response {
    json_response(
        status,
        &Problem {
            reason,
            detail: detail.into(),
        },
    )
}

/// Why the next hop could not be asked: no answer in time, or not reached.
pub(crate) fn transport_reason(e: &Error) -> Reason {
    match e {
        Error::Timeout { .. } => Reason::Timeout,
        _ => Reason::Unreachable,
    }
}

/// The [`Problem`] of a refusal answer, if the body is one.
pub(crate) fn read_problem(body: &[u8]) -> Option<Problem> {
    serde_json::from_slice(body).ok()
}

/// The next hop's answer passed back as it came: its status and JSON body.
pub(crate) fn pass_back(answer: &Response) -> Response {
    Response::json(answer.status, answer.body.clone())
}

/// The reason of a refusal answer: its [`Problem`]'s, else `Unreachable` (it did not answer
/// usefully).
pub(crate) fn refusal_reason(answer: &Response) -> Reason {
    read_problem(&answer.body).map_or(Reason::Unreachable, |p| p.reason)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn refusals_keep_the_problem_reason() {
        let answer = problem(403, Reason::NotEntitled, "not yours");
        assert_eq!(answer.status, 403);
        assert_eq!(refusal_reason(&answer), Reason::NotEntitled);
        assert_eq!(
            refusal_reason(&Response::text(500, "boom")),
            Reason::Unreachable
        );
        let back = pass_back(&answer);
        assert_eq!((back.status, &back.body), (403, &answer.body));
        assert_eq!(back.header_value("content-type"), Some("application/json"));
        assert_eq!(
            transport_reason(&Error::Timeout { ms: 3000 }),
            Reason::Timeout
        );
        assert_eq!(
            transport_reason(&Error::Http {
                detail: "reset".into()
            }),
            Reason::Unreachable
        );
    }
}
