//! Solution 8's checks: what the caller's 200 says of the callee's identity, and which avatar
//! each party was shown after fetching and checking it (step 21).

use proto::sipmsg::{self, NameAddr};
use proto::trace::Reason;
use proto::wire::avatar::Frame;

use super::{Outcome, Party};
use crate::run::play::{AosObserved, Observed};

fn seen(observed: &Observed) -> Result<&AosObserved, String> {
    observed
        .aos
        .as_ref()
        .ok_or_else(|| "no solution 8 call was played".to_owned())
}

/// The caller's 200 has P-Asserted-Identity with `verstat=want` (`None`: no P-Asserted-Identity).
pub(super) fn answer_verstat(observed: &Observed, want: Option<&str>) -> Outcome {
    let what = match want {
        Some(v) => format!("the caller's 200 asserts the callee with verstat={v}"),
        None => "the caller's 200 asserts no callee identity".to_owned(),
    };
    let answer = match seen(observed) {
        Ok(s) => s.answer.as_ref(),
        Err(e) => return Outcome::new(what, false, e),
    };
    let Some(answer) = answer else {
        return Outcome::new(what, false, "the call was not answered");
    };
    let pai = sipmsg::first(&answer.headers, "P-Asserted-Identity").and_then(NameAddr::parse);
    let got = pai
        .as_ref()
        .map(|p| p.uri_param("verstat").unwrap_or("(none)").to_owned());
    let detail = pai
        .as_ref()
        .map_or("no P-Asserted-Identity".to_owned(), |p| {
            format!("P-Asserted-Identity {}", p.render())
        });
    Outcome::new(what, got.as_deref() == want, detail)
}

/// What `saw` was: a frame's avatar, a refusal, nothing.
fn describe(saw: Option<&Result<Frame, Reason>>) -> String {
    match saw {
        Some(Ok(f)) => format!("shown {} ({}×{} px)", f.avatar_id, f.width, f.height),
        Some(Err(r)) => format!("fetch refused: {r}"),
        None => "no verified avatar to fetch".to_owned(),
    }
}

/// `party` is shown `want` (a non-empty picture of it), or nothing.
pub(super) fn peer(observed: &Observed, party: Party, want: Option<&str>) -> Outcome {
    let who = match party {
        Party::Callee => "UE-B is shown the caller's avatar",
        Party::Caller => "the caller is shown UE-B's avatar",
    };
    let what = match want {
        Some(id) => format!("{who} {id}"),
        None => format!("{}: none", who.trim_end_matches(" avatar")),
    };
    let s = match seen(observed) {
        Ok(s) => s,
        Err(e) => return Outcome::new(what, false, e),
    };
    let saw = match party {
        Party::Callee => s.callee_saw.as_ref(),
        Party::Caller => s.caller_saw.as_ref(),
    };
    let passed = match (want, saw) {
        (Some(id), Some(Ok(f))) => {
            f.avatar_id == id
                && f.rows
                    .iter()
                    .any(|r| r.chars().any(|c| c != '\u{2800}' && c != ' '))
        }
        (Some(_), _) => false,
        (None, Some(Ok(_))) => false,
        (None, _) => true,
    };
    Outcome::new(what, passed, describe(saw))
}

/// The extra fetch was refused for `reason`.
pub(super) fn extra_refused(observed: &Observed, reason: Reason) -> Outcome {
    let what = format!("the extra fetch is refused: {reason}");
    match seen(observed) {
        Ok(s) => Outcome::new(
            what,
            matches!(s.extra, Some(Err(r)) if r == reason),
            describe(s.extra.as_ref()),
        ),
        Err(e) => Outcome::new(what, false, e),
    }
}
