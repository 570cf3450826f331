//! The TR 33.790 testbed: the orchestrator that starts the world ([`world`]), the scenarios of
//! the TR's solutions as data ([`scenarios`], [`scenario`]), running and judging them
//! ([`run`]), the testbed choices table ([`choices`]), the text form of a run ([`render`]) and
//! the terminal dashboard ([`dashboard`]).

pub mod choices;
pub mod dashboard;
pub mod render;
pub mod run;
pub mod scenario;
pub mod scenarios;
pub mod world;
