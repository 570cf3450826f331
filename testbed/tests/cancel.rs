//! CANCEL across the whole path (RFC 3261 §9 and §16.10): the caller cancels while the callee
//! rings; every proxy answers the CANCEL and passes it on; the callee stops ringing with 487,
//! which reaches the caller.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proto::clock::Clock;
use proto::trace::Body;
use testbed::run::scenario_timers;
use testbed::world::{Description, Options, Setup, World};

#[test]
fn caller_cancels_while_the_callee_rings() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let description = Description::load().unwrap();
        let clock = Clock::Fixed(description.start_time().unwrap());
        let options = Options { seed: 1, clock, timers: scenario_timers(), setup: Setup::default(), auto_answer: false };
        let world = World::start(description, options).await.unwrap();
        let (a, b) = (world.ue("ue-a").unwrap(), world.ue("ue-b").unwrap());
        assert_eq!(b.register().await.unwrap(), 200);
        assert_eq!(a.register().await.unwrap(), 200);
        let responses = a.call_and_cancel("sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone").await.unwrap();
        let codes: Vec<u16> = responses.iter().map(|r| r.status_code.code()).collect();
        assert_eq!(codes.last(), Some(&487), "{codes:?}");
        assert!(codes.contains(&180), "{codes:?}");
        world.settle(std::time::Duration::from_millis(30), std::time::Duration::from_secs(3)).await;
        assert_eq!(b.ringing(), 0, "the callee stopped ringing");
        let trace = world.tap.ordered();
        let cancels: Vec<(String, String)> = trace
            .iter()
            .filter_map(|r| match &r.body {
                Body::Sent { to: Some(to), message, .. } if message.summary.starts_with("CANCEL") => Some((r.node.clone(), to.clone())),
                _ => None,
            })
            .collect();
        // Hop by hop from the caller to the callee.
        assert_eq!(cancels.first().map(|c| c.0.as_str()), Some("ue-a"), "{cancels:?}");
        assert_eq!(cancels.last().map(|c| c.1.as_str()), Some("ue-b"), "{cancels:?}");
        assert!(cancels.len() >= 6, "{cancels:?}");
        let ok_to_cancel = trace.iter().any(|r| {
            r.node == "ue-b" && matches!(&r.body, Body::Sent { message, .. } if message.summary == "200 OK (CANCEL)")
        });
        assert!(ok_to_cancel, "the callee answers the CANCEL");
        world.shutdown().await;
    });
}
