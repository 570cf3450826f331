//! The NEF's secure IMS data channel capability exposure (TR 33.790 key issue #3 §5.3,
//! solution #9 §6.9): the pure part, not yet wired to HTTP routes. A DC AS/AF reaches the NEF
//! over HTTPS with mutual TLS and is identified by its client certificate (TS 33.501 §13);
//! it carries an OAuth 2.0 access token bound to that certificate ([`token`]). The NEF decides
//! ([`decide`]) with the DC exposure policy and the subscribers' consent ([`policy`],
//! `fixtures/dc-exposure.toml`) whether it may subscribe to DC events (§6.9.2.1) or control a
//! data channel (§6.9.2.2), and anonymises the notifications of the AFs the policy says to
//! (§6.9.2.1 step 8). Refusals are typed ([`Refusal`]) with their status and trace reason; the
//! JSON shapes are in [`wire`].

pub mod decide;
pub mod policy;
pub mod refusal;
pub mod token;
pub mod wire;

pub use decide::{Grant, Permission, anonymise, control, identify, pseudonym, subscribe};
pub use policy::{AfPolicy, Consent, Policy};
pub use refusal::{Consented, Refusal};
pub use token::{Scope, TokenError};
