//! Solution 9's checks: the NEF's answers to the AFs, the notifications each AF received (in
//! full or anonymised), and the AF-established data channel's state at both UEs.

use super::Outcome;
use crate::run::play::{ExposureObserved, Observed};

fn seen(observed: &Observed) -> Result<&ExposureObserved, String> {
    observed
        .exposure
        .as_ref()
        .ok_or_else(|| "no solution 9 flow was played".to_owned())
}

/// The NEF answered request `step` with `want`.
pub(super) fn status(observed: &Observed, step: usize, want: u16) -> Outcome {
    let what = format!("the NEF answers the AF's request {} with {want}", step + 1);
    match seen(observed) {
        Ok(s) => {
            let got = s.statuses.get(step).copied().flatten();
            Outcome::new(
                what,
                got == Some(want),
                got.map_or("no answer".to_owned(), |c| format!("answered {c}")),
            )
        }
        Err(e) => Outcome::new(what, false, e),
    }
}

/// Whether a party field names a pseudonym (`anon-…`) or an IMPU (`sip:`/`tel:`).
fn pseudonym(party: &str) -> bool {
    party.starts_with("anon-")
}

/// `af` received `event` notifications, each naming the parties as `anonymised` says (and,
/// anonymised, with the application reduced to its id).
pub(super) fn notified(observed: &Observed, af: &str, event: &str, anonymised: bool) -> Outcome {
    let how = if anonymised {
        "anonymised (pseudonyms, application id only)"
    } else {
        "in full (IMPUs)"
    };
    let what = format!("{af} is notified of {event}, {how}");
    let s = match seen(observed) {
        Ok(s) => s,
        Err(e) => return Outcome::new(what, false, e),
    };
    let got: Vec<_> = s
        .notifications
        .get(af)
        .into_iter()
        .flatten()
        .filter(|n| n.event.as_str() == event)
        .collect();
    let shaped = |n: &&proto::wire::exposure::Notification| {
        let parties: Vec<&String> = n.caller.iter().chain(&n.callee).collect();
        let app_ok = !anonymised
            || n.app
                .as_ref()
                .is_none_or(|a| a.name.is_none() && a.url.is_none());
        !parties.is_empty()
            && parties
                .iter()
                .all(|p| pseudonym(p) == anonymised && (anonymised || p.contains(':')))
            && app_ok
    };
    let passed = !got.is_empty() && got.iter().all(shaped);
    let detail = match got.first() {
        Some(n) => format!(
            "{} notification(s); the first: caller {}, callee {}, app {}",
            got.len(),
            n.caller.as_deref().unwrap_or("-"),
            n.callee.as_deref().unwrap_or("-"),
            n.app.as_ref().map_or("-".to_owned(), |a| match &a.name {
                Some(name) => format!("{} ({name})", a.id),
                None => a.id.clone(),
            }),
        ),
        None => "none".to_owned(),
    };
    Outcome::new(what, passed, detail)
}

/// `af` received nothing.
pub(super) fn not_notified(observed: &Observed, af: &str) -> Outcome {
    let what = format!("{af} receives no notification");
    match seen(observed) {
        Ok(s) => {
            let n = s.notifications.get(af).map_or(0, Vec::len);
            Outcome::new(what, n == 0, format!("{n} notification(s)"))
        }
        Err(e) => Outcome::new(what, false, e),
    }
}

/// After request `after`, the ADC is open (and carried messages) or closed at both UEs.
pub(super) fn adc(observed: &Observed, after: usize, open: bool) -> Outcome {
    let state = if open { "open" } else { "closed" };
    let what = format!(
        "after request {}, the AF's application data channel is {state} at UE-A and UE-B",
        after + 1
    );
    let s = match seen(observed) {
        Ok(s) => s,
        Err(e) => return Outcome::new(what, false, e),
    };
    let describe = |o: Option<bool>| match o {
        Some(true) => "open",
        Some(false) => "closed",
        None => "none",
    };
    let Some(&(a, b)) = s.adc.get(after) else {
        return Outcome::new(what, false, "the request was not made");
    };
    let used = s.adc_used.range(..=after).next_back().map(|(_, r)| r);
    let carried = match used {
        Some(Ok(n)) => format!("; it carried {n} messages"),
        Some(Err(e)) => format!("; using it failed: {e}"),
        None => String::new(),
    };
    let used = !open || matches!(used, Some(Ok(n)) if *n > 0);
    Outcome::new(
        what,
        a == Some(open) && b == Some(open) && used,
        format!("UE-A {}, UE-B {}{carried}", describe(a), describe(b)),
    )
}

/// After request `after`, UE-A's bootstrap channel is open (or closed).
pub(super) fn bdc(observed: &Observed, after: usize, open: bool) -> Outcome {
    let state = if open { "open" } else { "closed" };
    let what = format!(
        "after request {}, UE-A's bootstrap data channel is {state}",
        after + 1
    );
    match seen(observed) {
        Ok(s) => {
            let got = s.bdc.get(after).copied().flatten();
            Outcome::new(
                what,
                got == Some(open),
                match got {
                    Some(true) => "open",
                    Some(false) => "closed",
                    None => "none",
                },
            )
        }
        Err(e) => Outcome::new(what, false, e),
    }
}

/// UE `ue` downloaded DC application `app` over its bootstrap channel (or did not).
pub(super) fn downloaded(observed: &Observed, ue: &str, app: &str, yes: bool) -> Outcome {
    let what = if yes {
        format!("{ue} downloads {app} over its bootstrap data channel")
    } else {
        format!("{ue} downloads nothing the network asked for")
    };
    match seen(observed) {
        Ok(s) => {
            let got = s.downloaded.get(ue).cloned().unwrap_or_default();
            Outcome::new(
                what,
                got.iter().any(|a| a == app) == yes && (yes || got.is_empty()),
                if got.is_empty() {
                    "none".to_owned()
                } else {
                    got.join(", ")
                },
            )
        }
        Err(e) => Outcome::new(what, false, e),
    }
}
