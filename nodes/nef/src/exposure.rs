//! The NEF's secure IMS data channel capability exposure (TR 33.790 key issue #3 §5.3,
//! solution #9 §6.9): the pure part (the HTTPS driver is the NEF's server; the AF side is
//! [`crate::af`]). A DC AS/AF reaches the NEF over HTTPS with mutual TLS and is identified by
//! its client certificate (TS 33.501 §13); it carries an OAuth 2.0 access token bound to that
//! certificate ([`token`], granted as [`grant`] says). The NEF decides ([`decide`]) with the DC
//! exposure policy and the subscriber's consent, which it asks the HSS/UDM for per request
//! (`hss::exposure`, `fixtures/dc-exposure.toml`), whether the AF may subscribe to DC events
//! (§6.9.2.1) or control a data channel (§6.9.2.2), and anonymises the notifications of the AFs
//! the policy says to (§6.9.2.1 step 8). Refusals are typed ([`Refusal`]) with their status
//! and trace reason; the JSON shapes are in [`wire`].

pub mod decide;
pub mod grant;
pub mod refusal;
pub mod token;
pub mod wire;

pub use decide::{
    Grant, Permission, anonymise, control, identify, known, notify_uri_of, owned, pseudonym,
    rights, subscribe,
};
pub use refusal::{Consented, Refusal};
pub use token::{Scope, TokenError};
pub use wire::{AfPolicy, Consent};
