//! The data-channel benchmark's world works for one call. The measurement itself (INVITE → first
//! application data channel message) is `testbed bench --dc`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The same path, once, as a regular test: a DC call in the bench world works.
#[test]
fn one_dc_call_in_the_bench_world() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let times = rt.block_on(testbed::run::bench_dc_calls(1, 1)).unwrap();
    assert_eq!(times.len(), 1);
}
