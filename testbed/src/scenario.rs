//! TR figures as data. A scenario declares its figure's steps — clause, step id, the TR's
//! endpoints, what happens in our words — and for each step the hops that show it in the trace:
//! who sends what to whom, and what the message must carry ([`Require`]), or which typed action
//! a node must take with which outcome. Each step also says whether this variant takes it
//! ([`Plan`]): a step the variant's option does not take is `n/a`, a step its threat's
//! mitigation stops is `prevented` by an earlier step's check; both must be absent from the
//! trace and neither is counted. [`matcher::match_steps`] lines a run's trace up with the steps.
//!
//! Nothing here reads prose: hops match message fields (method, status, path, headers, JSON
//! members, dialog) and typed action tags and outcomes, never a note's wording.

pub mod content;
pub mod matcher;
#[cfg(test)]
mod tests;

use proto::trace::{Act, Reason};
use serde::Serialize;

pub use matcher::{Status, StepResult, match_steps};

/// What in the trace shows a hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Expect {
    /// A SIP request with this method.
    SipRequest(&'static str),
    /// A SIP response with a status in `lo..=hi` to a request of this method.
    SipResponse {
        /// The CSeq method.
        method: &'static str,
        /// Lowest status.
        lo: u16,
        /// Highest status.
        hi: u16,
    },
    /// An HTTP request with this method and a path starting with `path`.
    HttpRequest {
        /// `GET`, `POST`.
        method: &'static str,
        /// The path, or its first part (`/sh/v1/subscribers/`).
        path: &'static str,
    },
    /// The HTTP response to such a request.
    HttpResponse {
        /// The request's method.
        method: &'static str,
        /// The request's path, or its first part.
        path: &'static str,
    },
    /// A data channel message on this stream whose JSON `type` is `kind` (an avatar message:
    /// `avatar-token`, `facial-points`, `avatar-frame`, …).
    DcMessage {
        /// The channel's stream id.
        stream: u16,
        /// The message's `type`.
        kind: &'static str,
    },
    /// An HTTP/1.1 request on a data channel (a bootstrap channel) with this method and a path
    /// starting with `path`.
    DcHttpRequest {
        /// `GET`, `POST`.
        method: &'static str,
        /// The path, or its first part.
        path: &'static str,
    },
    /// An HTTP/1.1 response on a data channel (what it answers: [`Require::AnswersPrevious`]).
    DcHttpResponse,
    /// A typed action by the node, with this outcome.
    Act(Act, Want),
    /// A PASSporT the node signed or decoded whose JOSE header has this `ppt`.
    Token(&'static str),
    /// A JWS the node signed or decoded whose JOSE header has this `typ` (`avatar+jwt`).
    Jws(&'static str),
}

/// The outcome an action hop wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Want {
    /// Carried out (a verification that passed, an authorisation granted).
    Done,
    /// Refused for this reason.
    Refused(Reason),
}

/// What a message must carry for a hop to match it: what the TR step says travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Require {
    /// A SIP or HTTP header is present.
    Header(&'static str),
    /// A header is present and one of its values contains this (a URI parameter such as
    /// `verstat=TN-Validation-Passed`, `purpose=rcd-jcard`, an auth scheme).
    HeaderHas(&'static str, &'static str),
    /// A header is absent.
    NoHeader(&'static str),
    /// A name-addr header (P-Asserted-Identity, From) has a display name.
    DisplayName(&'static str),
    /// A name-addr header has no display name.
    NoDisplayName(&'static str),
    /// An Identity header's PASSporT has this claim (an RFC 6901 pointer into its claims:
    /// `/rcd/nam`).
    IdentityClaim(&'static str),
    /// The JSON body has this member (an RFC 6901 pointer: `/signingRequest/rcd`).
    Json(&'static str),
    /// The JSON body lacks this member.
    NoJson(&'static str),
    /// The JSON body's member at this pointer is this string or boolean (`true`/`false`).
    JsonIs(&'static str, &'static str),
    /// The JSON body's member at this pointer is a string containing this.
    JsonHas(&'static str, &'static str),
    /// The SIP or HTTP status is this.
    Status(u16),
    /// The body is SDP with at least one `a=dcmap` line (data channels).
    Dcmap,
    /// The body has this line (an SDP attribute: `a=mid:avm`).
    BodyLine(&'static str),
    /// The JSON body's member at `at` is a compact JWS whose claim at `claim` (RFC 6901
    /// pointers) is the string `is`: what a token carried, read from the message itself.
    JwsClaim {
        /// Where the JWS is in the body (`/token`, `/attestation`).
        at: &'static str,
        /// The claim (`/avatar_id`).
        claim: &'static str,
        /// Its value.
        is: &'static str,
    },
    /// The SIP message is in the dialog (Call-ID) of the previous hop's message.
    SameDialog,
    /// The response answers the previous hop's request (SIP: same Call-ID, CSeq and top Via
    /// branch; HTTP: the same connection, reversed).
    AnswersPrevious,
}

/// One part of a TR step: who, to whom, and what in the trace shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// Any of these nodes sends it (or takes the action).
    pub from: &'static [&'static str],
    /// To any of these nodes; empty for an action.
    pub to: &'static [&'static str],
    /// What it is.
    pub expect: Expect,
    /// What it must carry.
    pub require: Vec<Require>,
}

impl Hop {
    /// With a further requirement.
    pub fn with(mut self, require: Require) -> Self {
        self.require.push(require);
        self
    }

    /// For an action hop: wants the action refused for `reason` instead of done.
    pub fn refused(mut self, reason: Reason) -> Self {
        if let Expect::Act(act, _) = self.expect {
            self.expect = Expect::Act(act, Want::Refused(reason));
        }
        self
    }
}

/// A message hop, as scenario tables write it.
pub fn hop(from: &'static [&'static str], to: &'static [&'static str], expect: Expect) -> Hop {
    Hop {
        from,
        to,
        expect,
        require: Vec::new(),
    }
}

/// An action hop: one of `by` takes `act`, done.
pub fn act(by: &'static [&'static str], act: Act) -> Hop {
    hop(by, &[], Expect::Act(act, Want::Done))
}

/// A JWS with this `typ` signed or decoded by one of `by`. Its claims can be required with
/// [`Require::Json`], [`Require::JsonIs`] and [`Require::JsonHas`] (pointers into the claims).
pub fn jws(by: &'static [&'static str], typ: &'static str) -> Hop {
    hop(by, &[], Expect::Jws(typ))
}

/// A compact JWS in the JSON body at `at` whose claim `claim` is `is`.
pub const fn jws_claim(at: &'static str, claim: &'static str, is: &'static str) -> Require {
    Require::JwsClaim { at, claim, is }
}

/// A PASSporT with this `ppt` signed or decoded by one of `by`.
pub fn token(by: &'static [&'static str], ppt: &'static str) -> Hop {
    hop(by, &[], Expect::Token(ppt))
}

/// An INVITE request.
pub const fn invite() -> Expect {
    Expect::SipRequest("INVITE")
}

/// A response to an INVITE with a status in `lo..=hi`.
pub const fn invite_response(lo: u16, hi: u16) -> Expect {
    Expect::SipResponse {
        method: "INVITE",
        lo,
        hi,
    }
}

/// A data channel message of this `type` on this stream.
pub const fn dc(stream: u16, kind: &'static str) -> Expect {
    Expect::DcMessage { stream, kind }
}

/// An HTTP request on a data channel.
pub const fn dc_http(method: &'static str, path: &'static str) -> Expect {
    Expect::DcHttpRequest { method, path }
}

/// An HTTP request.
pub const fn http(method: &'static str, path: &'static str) -> Expect {
    Expect::HttpRequest { method, path }
}

/// The HTTP response to a request.
pub const fn http_response(method: &'static str, path: &'static str) -> Expect {
    Expect::HttpResponse { method, path }
}

/// Whether a variant takes a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Plan {
    /// It must be seen.
    Taken,
    /// The variant's option does not take it (why, in our words); it must be absent.
    NotTaken(&'static str),
    /// The variant's threat is stopped before it by the check of step `by`; it must be absent.
    Prevented {
        /// The step whose check stops it.
        by: &'static str,
    },
}

/// One numbered step of a TR figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The TR's own id (`3`, `7-8`).
    pub id: &'static str,
    /// The TR's endpoints, as the TR names them (`originating IMS system → STI-AS`).
    pub tr_from: &'static str,
    /// See `tr_from`.
    pub tr_to: &'static str,
    /// What happens, in the project's words.
    pub what: &'static str,
    /// Each must be seen, in this order, after the previous step started. For a step that is not
    /// taken or prevented, the first hop must be absent from the whole trace.
    pub hops: Vec<Hop>,
    /// Whether this variant takes it.
    pub plan: Plan,
}

impl Step {
    /// A step the variant takes.
    pub fn new(
        id: &'static str,
        (tr_from, tr_to): (&'static str, &'static str),
        what: &'static str,
        hops: Vec<Hop>,
    ) -> Self {
        Self {
            id,
            tr_from,
            tr_to,
            what,
            hops,
            plan: Plan::Taken,
        }
    }

    /// The variant's option does not take this step.
    pub fn not_taken(mut self, why: &'static str) -> Self {
        self.plan = Plan::NotTaken(why);
        self
    }

    /// The variant's threat is stopped before this step, by step `by`'s check.
    pub fn prevented_by(mut self, by: &'static str) -> Self {
        self.plan = Plan::Prevented { by };
        self
    }

    /// Whether the variant takes it.
    pub fn taken(&self) -> bool {
        self.plan == Plan::Taken
    }
}

/// A TR figure (or two, for a flow the TR draws over two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figure {
    /// The clause (`6.2.2.3`).
    pub clause: &'static str,
    /// The figure id(s) (`6.2.2.3-1`; `6.1.2-1, 6.1.2-2`).
    pub figure: &'static str,
    /// The figure's title, in our words.
    pub title: &'static str,
    /// Its steps, in order.
    pub steps: Vec<Step>,
}

impl Figure {
    /// The step with this id.
    pub fn step_mut(&mut self, id: &str) -> Option<&mut Step> {
        self.steps.iter_mut().find(|s| s.id == id)
    }

    /// Marks steps `ids` as prevented by step `by`'s check.
    pub fn prevent(mut self, ids: &[&str], by: &'static str) -> Self {
        for id in ids {
            if let Some(s) = self.step_mut(id) {
                s.plan = Plan::Prevented { by };
            }
        }
        self
    }

    /// Marks steps `ids` as not taken by the variant's option.
    pub fn skip(mut self, ids: &[&str], why: &'static str) -> Self {
        for id in ids {
            if let Some(s) = self.step_mut(id) {
                s.plan = Plan::NotTaken(why);
            }
        }
        self
    }
}
