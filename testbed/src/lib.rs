//! The TR 33.790 testbed: the solution registry ([`scenarios`], [`solution`]), TR figures as
//! data and the step matcher ([`scenario`]), the orchestrator that starts a variant's world
//! ([`world`], [`node`]), running, judging and benchmarking ([`run`]), the testbed choices
//! table ([`choices`]), the forms of a run ([`render`]) and the terminal dashboard
//! ([`dashboard`]).
#![warn(missing_docs)]

pub mod bench;
pub mod choices;
pub mod coverage;
pub mod dashboard;
pub mod live;
pub mod node;
pub mod render;
pub mod run;
pub mod scenario;
pub mod scenarios;
pub mod serve;
pub mod solution;
pub mod threats;
pub mod world;
