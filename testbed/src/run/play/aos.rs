//! Playing an avatar call of solution 8 (TR 33.790 §6.8.2): the caller (naming its Avatar ID or
//! not) calls UE-B, which answers naming its own; then step 21, each UE fetching the other's
//! avatar object from the AOS its verified message points to, and what an attacker tries
//! afterwards; the caller hangs up. The UEs note what they do; the harness only sequences them.

use proto::sip::{Request, Response};
use proto::trace::Reason;
use proto::wire::avatar::Frame;
use ue::{PeerAvatar, peer_avatar};

use super::{BOUND, Observed, QUIET, Timing, dial};
use crate::node::UE_B;
use crate::world::World;

/// What the users do in a solution 8 call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AosPlan {
    /// Who calls UE-B.
    pub caller: &'static str,
    /// The Request-URI dialled (UE-B's IMPU).
    pub target: &'static str,
    /// The Avatar ID the caller names in its INVITE (step 1), if any.
    pub caller_avatar: Option<&'static str>,
    /// The Avatar ID UE-B names in its 200 (step 11), if any.
    pub callee_avatar: Option<&'static str>,
    /// What else is tried at step 21.
    pub then: AosAfter,
}

/// A fetch beyond the two parties' own (step 21's threats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AosAfter {
    /// Nothing.
    Nothing,
    /// This UE (not in the call) fetches the caller's avatar object, as UE-B was pointed to it.
    Stranger(&'static str),
    /// The caller fetches the callee's avatar object a second time.
    FetchAgain,
}

/// What the users of a solution 8 call saw.
#[derive(Debug, Default)]
pub struct AosObserved {
    /// The 200 as the caller got it (step 20).
    pub answer: Option<Response>,
    /// What UE-B was shown of the caller's avatar: a frame, or the refusal's reason; `None`
    /// when its INVITE pointed to no verified avatar.
    pub callee_saw: Option<Result<Frame, Reason>>,
    /// What the caller was shown of UE-B's avatar (the same way).
    pub caller_saw: Option<Result<Frame, Reason>>,
    /// The extra fetch's outcome ([`AosAfter`]).
    pub extra: Option<Result<Frame, Reason>>,
}

/// Plays `plan`.
pub(super) async fn play(
    world: &World,
    plan: &AosPlan,
    timing: &mut Timing,
) -> anyhow::Result<Observed> {
    let callee = world.ue(UE_B)?;
    let caller = world.ue(plan.caller)?;
    for (ue, id) in [(callee, UE_B), (caller, plan.caller)] {
        let code = ue.register().await?;
        anyhow::ensure!(code == 200, "{id} could not register ({code})");
        world.settle(QUIET, BOUND).await;
    }
    caller.use_avatar_id(plan.caller_avatar);
    callee.use_avatar_id(plan.callee_avatar);
    let began = std::time::Instant::now();
    let call = dial(world, caller, callee, plan.target, None).await?;
    timing.call_setup = began.elapsed();
    world.settle(QUIET, BOUND).await;
    let mut observed = Observed {
        answered: Some(call.code),
        callee_got: callee.received().last().cloned(),
        ..Observed::default()
    };
    let mut seen = AosObserved {
        answer: call.ok().cloned(),
        ..AosObserved::default()
    };
    if call.answered() {
        let call_id = call_id(&call.invite);
        let callee_sees = observed
            .callee_got
            .as_ref()
            .and_then(|r| peer_avatar(&r.headers));
        seen.callee_saw = fetch(
            world,
            callee,
            callee_sees.as_ref(),
            &call_id,
            "the caller's",
        )
        .await;
        let caller_sees = seen.answer.as_ref().and_then(|r| peer_avatar(&r.headers));
        seen.caller_saw = fetch(
            world,
            caller,
            caller_sees.as_ref(),
            &call_id,
            "the callee's",
        )
        .await;
        seen.extra = match plan.then {
            AosAfter::Nothing => None,
            AosAfter::Stranger(who) => {
                let stranger = world.ue(who)?;
                fetch(
                    world,
                    stranger,
                    callee_sees.as_ref(),
                    &call_id,
                    "the caller's",
                )
                .await
            }
            AosAfter::FetchAgain => {
                fetch(
                    world,
                    caller,
                    caller_sees.as_ref(),
                    &call_id,
                    "the callee's",
                )
                .await
            }
        };
        observed.bye = Some(caller.hang_up(&call).await?);
        world.settle(QUIET, BOUND).await;
    }
    observed.aos = Some(seen);
    Ok(observed)
}

/// The Call-ID of `request`.
fn call_id(request: &Request) -> String {
    proto::sipmsg::first(&request.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned()
}

/// `ue` fetches and shows `peer` (when its message pointed to one); the world settles after.
async fn fetch(
    world: &World,
    ue: &ue::Ue,
    peer: Option<&PeerAvatar>,
    call_id: &str,
    whose: &str,
) -> Option<Result<Frame, Reason>> {
    let peer = peer?;
    let r = ue.fetch_peer_avatar(peer, call_id, whose).await;
    world.settle(QUIET, BOUND).await;
    Some(r.map_err(|e| e.reason()))
}
