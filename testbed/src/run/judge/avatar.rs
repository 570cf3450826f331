//! The avatar solutions' checks (5 and 6): what the caller's network answered, what the callee
//! was shown, why a rendering UE rendered nothing, and whether two nodes derived the same key.

use proto::trace::{Note, Reason, Record};

use super::Outcome;
use crate::run::play::{AvatarObserved, Observed};

fn seen(observed: &Observed) -> Result<&AvatarObserved, String> {
    match &observed.avatar {
        Some(Ok(seen)) => Ok(seen),
        Some(Err(e)) => Err(format!("the avatar phase failed: {e}")),
        None => Err("the avatar phase did not run (the call was not answered)".into()),
    }
}

/// The XR AS's answer the caller got over its bootstrap channel has `want` as its status.
pub(super) fn answer(observed: &Observed, want: u16) -> Outcome {
    let what = format!("the XR AS's answer on UE-A's bootstrap data channel is {want}");
    match seen(observed) {
        Ok(s) => Outcome::new(
            what,
            s.answer == Some(want),
            match (s.answer, s.refusal) {
                (Some(code), Some(r)) => format!("answer {code} ({r})"),
                (Some(code), None) => format!("answer {code}"),
                (None, _) => "no answer".into(),
            },
        ),
        Err(e) => Outcome::new(what, false, e),
    }
}

/// UE-B is shown `frames` frames, all of `avatar_id`, each a non-empty picture, in sequence.
pub(super) fn shown(observed: &Observed, avatar_id: &str, frames: usize) -> Outcome {
    let what = format!("UE-B is shown {frames} frames of avatar {avatar_id}");
    let s = match seen(observed) {
        Ok(s) => s,
        Err(e) => return Outcome::new(what, false, e),
    };
    let got = &s.callee_frames;
    let right = got.len() == frames
        && got.iter().enumerate().all(|(i, f)| {
            f.avatar_id == avatar_id
                && usize::try_from(f.seq).is_ok_and(|seq| seq == i + 1)
                && f.rows
                    .iter()
                    .any(|r| r.chars().any(|c| c != '\u{2800}' && c != ' '))
        });
    let detail = if got.is_empty() {
        "nothing shown".to_owned()
    } else {
        got.iter()
            .map(|f| format!("{} #{} ({}×{} px)", f.avatar_id, f.seq, f.width, f.height))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Outcome::new(what, right, detail)
}

/// UE-B is shown nothing of any avatar.
pub(super) fn none_shown(observed: &Observed) -> Outcome {
    let what = "UE-B is shown no avatar";
    match seen(observed) {
        Ok(s) => Outcome::new(
            what,
            s.callee_frames.is_empty(),
            format!("{} frames shown", s.callee_frames.len()),
        ),
        Err(e) => Outcome::new(what, false, e),
    }
}

/// The rendering UE could not open the object, for `reason`, and rendered nothing.
pub(super) fn not_rendered(observed: &Observed, reason: Reason) -> Outcome {
    let what = format!("the rendering UE renders nothing: {reason}");
    match seen(observed) {
        Ok(s) => Outcome::new(
            what,
            s.not_rendered == Some(reason) && s.callee_frames.is_empty(),
            s.not_rendered
                .map_or("it rendered".into(), |r| format!("not rendered: {r}")),
        ),
        Err(e) => Outcome::new(what, false, e),
    }
}

/// The fingerprints of the keys `node` derived (key agreement notes), in order.
fn fingerprints<'a>(trace: &'a [Record], node: &'a str) -> Vec<&'a str> {
    super::notes(trace, node)
        .filter_map(|note| match note {
            Note::KeyAgreement {
                key_fingerprint, ..
            } => Some(key_fingerprint.as_str()),
            _ => None,
        })
        .collect()
}

/// `a` and `b` each derived a key, and the keys are (`same`) or are not the same.
pub(super) fn same_key(trace: &[Record], a: &str, b: &str, same: bool) -> Outcome {
    let what = if same {
        format!("{a} and {b} derive the same object key")
    } else {
        format!("{a} derives a key other than {b}'s")
    };
    let (ka, kb) = (fingerprints(trace, a), fingerprints(trace, b));
    let passed = match (ka.first(), kb.first()) {
        (Some(x), Some(y)) => (x == y) == same,
        _ => false,
    };
    let show = |k: &[&str]| k.first().map_or("no key".to_owned(), |s| (*s).to_owned());
    Outcome::new(
        what,
        passed,
        format!("{a}: {}; {b}: {}", show(&ka), show(&kb)),
    )
}
