//! Solution 4 (§6.4.2.1). Originating, steps 2–3: the credentials for the third party are
//! removed from the INVITE; if the caller's subscription allows 3P IDs, option B (a token or a
//! proof in the Authorization header) or option A (a designated IMPU, provisioned at step 0a) is
//! put to the third party's authorization server through the NEF, which authorises it and makes
//! the name card that is signed — or challenges the UE (§6.4.2.2), relayed as a SIP 401.
//! Terminating, steps 7–8: only a callee subscribed to verification of third party identities
//! (HSS) has the INVITE verified.

use std::sync::Arc;

use kit::http::BoxFuture;
use proto::sip::Request;
use proto::sipmsg::{self, NameAddr};
use proto::tn::digits;
use proto::trace::{Act, Note, Reason};
use proto::wire::authz::{
    AuthorizeRequest, AuthorizeResponse, AuthzOption, NEF_AUTHORIZE_PATH, Proof,
};
use proto::wire::sh::{self, Subscription};

use super::{Flow, Origination, Refusal, Verify};
use crate::Error;
use crate::io::Io;
use crate::orig::{Presented, callee_tn};

/// Solution 4: the third party's authorization server, through the NEF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AuthzServer;

/// Solution 4 (§6.4): the third party's authorization server, reached through the NEF,
/// authorises the 3P ID and makes the name card that is signed; the terminating side verifies
/// only for callees subscribed to verification. Needs the NEF ([`AsConfig::nef_host`]) and the
/// callee's HSS (`hss_host` of [`Role::Terminating`]).
///
/// [`AsConfig::nef_host`]: crate::AsConfig::nef_host
/// [`Role::Terminating`]: crate::Role::Terminating
pub fn authz_server() -> Arc<dyn Flow> {
    Arc::new(AuthzServer)
}

impl Flow for AuthzServer {
    fn present<'a>(
        &'a self,
        io: &'a Io<'a>,
        invite: &'a mut Request,
        caller_tn: &'a str,
    ) -> BoxFuture<'a, Origination> {
        Box::pin(authorise(io, invite, caller_tn))
    }

    fn signing_choice(&self) -> Option<(&'static str, &'static str)> {
        Some((
            crate::choices::SOL4_NAME_CARD,
            "the enterprise name card as an rcd PASSporT (nam, jcl with rcdi) and Call-Info purpose=rcd-jcard; the 3P ID asserted in P-Asserted-Identity and signed as orig",
        ))
    }

    fn verify<'a>(&'a self, io: &'a Io<'a>, invite: &'a Request) -> BoxFuture<'a, Verify> {
        Box::pin(async move {
            let Some(callee) = callee_tn(invite).filter(|_| io.has_hss()) else {
                return Verify::Ask;
            };
            let answer = io.hss_get(&sh::path(&digits(&callee))).await;
            let (verify, note) = verification_subscription(answer);
            io.note(note);
            verify
        })
    }
}

/// Steps 2–3 on one INVITE.
async fn authorise(io: &Io<'_>, invite: &mut Request, caller_tn: &str) -> Origination {
    let credentials = strip_credentials(io, invite);
    let subscription = match io
        .hss_get::<Subscription>(&sh::path(&digits(caller_tn)))
        .await
    {
        Ok(s) => s,
        Err(e) => return refuse(io, &Refusal::unavailable("HSS", &e, ": no 3P ID")),
    };
    let request = match authorization_request(subscription.as_ref(), credentials.as_deref()) {
        Ok(r) => r,
        Err(none) => {
            return none
                .refusal()
                .map_or(Origination::Nothing, |r| refuse(io, &r));
        }
    };
    let answer = io.nef_post(NEF_AUTHORIZE_PATH, &request).await;
    carry_out(io, decide(request, answer))
}

/// The credentials are for the third party's server: they stop here.
fn strip_credentials(io: &Io<'_>, invite: &mut Request) -> Option<String> {
    let credentials = sipmsg::first(&invite.headers, "Authorization").map(str::to_owned)?;
    sipmsg::remove(&mut invite.headers, "Authorization");
    io.note(Note::done(
        Act::StripCredentials,
        "remove the Authorization header: the 3P ID credentials do not leave the originating network",
    ));
    Some(credentials)
}

fn refuse(io: &Io<'_>, refusal: &Refusal) -> Origination {
    io.note(Note::refused(
        Act::Id3pAuthorization,
        refusal.reason,
        refusal.label.clone(),
    ));
    Origination::Nothing
}

/// Notes the decision and says what the AS does.
fn carry_out(io: &Io<'_>, decision: Decision) -> Origination {
    match decision {
        Decision::Challenge { realm, nonce } => {
            io.note(Note::done(
                Act::RelayChallenge,
                format!("the authorization server authenticates the UE: relay its challenge in a 401 (realm {realm})"),
            ));
            io.choice(
                crate::choices::SOL4_AUTHENTICATE,
                "the authorization server's challenge reaches the UE as a SIP 401 with WWW-Authenticate: Bearer realm, nonce; the UE answers with its signature over the nonce",
            );
            Origination::Challenge(bearer_challenge(&realm, &nonce))
        }
        Decision::Present {
            presented,
            as_id,
            label,
        } => {
            io.note(Note::done(Act::Id3pAuthorization, label));
            Origination::Present { presented, as_id }
        }
        Decision::Refused { refusal, rejected } => {
            let nothing = refuse(io, &refusal);
            if rejected {
                io.choice(
                    crate::choices::SOL4_REJECTED,
                    "a rejected authorisation: the call continues with the caller's own number asserted and signed, no name card; a 3P ID the caller put in From is not vouched for, so the callee sees it with verstat=TN-Validation-Failed",
                );
            }
            nothing
        }
    }
}

/// Why no authorisation is asked for (step 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRequest {
    /// No Authorization header, and not a designated IMPU: no 3P ID was asked for.
    NothingAsked,
    /// Credentials, but the caller has no subscription at this HSS.
    NoSubscription,
    /// The subscription may not use 3P IDs.
    NotAllowed,
    /// The Authorization header cannot be used (why).
    Unreadable(String),
}

impl NoRequest {
    /// The refusal to note (`None`: nothing was asked, so nothing is noted).
    pub fn refusal(&self) -> Option<Refusal> {
        let (reason, why) = match self {
            NoRequest::NothingAsked => return None,
            NoRequest::NoSubscription => (
                Reason::NotAuthorised,
                "the caller has no subscription at this HSS".to_owned(),
            ),
            NoRequest::NotAllowed => (
                Reason::NotAuthorised,
                "the subscription may not use 3P IDs (any Authorization header is ignored)"
                    .to_owned(),
            ),
            NoRequest::Unreadable(why) => (Reason::Malformed, why.clone()),
        };
        Some(Refusal::new(reason, format!("no 3P ID: {why}")))
    }
}

/// Step 2 (§6.4.2.1): what to ask the third party's authorization server, from the caller's
/// subscription and its `Authorization` header (choice `6.4-authorization-header`:
/// `Bearer realm="…", 3pid="…"[, token="…"][, nonce="…", proof="…"]`).
///
/// - With credentials: option B, if the subscription allows 3P IDs.
/// - Without: option A, if the caller's IMPU is a designated one (provisioned with the realm
///   of its authorization server at step 0a) and allowed 3P IDs.
pub fn authorization_request(
    subscription: Option<&Subscription>,
    credentials: Option<&str>,
) -> Result<AuthorizeRequest, NoRequest> {
    match credentials {
        Some(value) => {
            let subscription = subscription.ok_or(NoRequest::NoSubscription)?;
            if !subscription.third_party_ids {
                return Err(NoRequest::NotAllowed);
            }
            option_b(subscription, value).map_err(NoRequest::Unreadable)
        }
        None => match subscription {
            Some(s) if s.authz_realm.is_some() && !s.third_party_ids => Err(NoRequest::NotAllowed),
            Some(s) => s
                .authz_realm
                .as_ref()
                .map(|realm| AuthorizeRequest {
                    impu: s.impu.clone(),
                    option: AuthzOption::A,
                    realm: Some(realm.clone()),
                    id3p: s.id3p.clone(),
                    token: None,
                    proof: None,
                })
                .ok_or(NoRequest::NothingAsked),
            None => Err(NoRequest::NothingAsked),
        },
    }
}

/// Option B from an Authorization header value.
fn option_b(subscription: &Subscription, value: &str) -> Result<AuthorizeRequest, String> {
    let (scheme, params) = sipmsg::auth_params(value)
        .ok_or_else(|| format!("unreadable Authorization header {value:?}"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(format!("Authorization scheme {scheme} is not Bearer"));
    }
    let realm = params
        .get("realm")
        .ok_or("the Authorization header names no realm")?;
    let id3p = params
        .get("3pid")
        .ok_or("the Authorization header names no 3P ID")?;
    let proof = match (params.get("nonce"), params.get("proof")) {
        (Some(nonce), Some(signature)) => Some(Proof {
            nonce: nonce.clone(),
            signature: signature.clone(),
        }),
        _ => None,
    };
    Ok(AuthorizeRequest {
        impu: subscription.impu.clone(),
        option: AuthzOption::B,
        realm: Some(realm.clone()),
        id3p: Some(id3p.clone()),
        token: params.get("token").cloned(),
        proof,
    })
}

/// What the authorization server's answer (through the NEF) comes to (step 3).
#[derive(Debug, Clone, PartialEq)]
enum Decision {
    /// §6.4.2.2: relay the challenge to the UE in a 401.
    Challenge { realm: String, nonce: String },
    /// Present the name card, as this identity (option B: the 3P ID) if given.
    Present {
        presented: Box<Presented>,
        as_id: Option<NameAddr>,
        label: String,
    },
    /// No 3P ID; `rejected` when the enterprise said no (choice `6.4-rejected`).
    Refused { refusal: Refusal, rejected: bool },
}

fn decide(request: AuthorizeRequest, answer: Result<AuthorizeResponse, Error>) -> Decision {
    let asked = format!(
        "{} (option {})",
        request.id3p.as_deref().unwrap_or("the designated IMPU"),
        request.option
    );
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            return Decision::Refused {
                refusal: Refusal::unavailable("NEF", &e, ": no 3P ID"),
                rejected: false,
            };
        }
    };
    if let Some(nonce) = answer.challenge.clone()
        && !answer.authorized
    {
        return Decision::Challenge {
            realm: request.realm.unwrap_or_default(),
            nonce,
        };
    }
    match (answer.authorized, answer.name_card) {
        (true, Some(card)) => Decision::Present {
            label: format!(
                "{asked} authorised: enterprise name card {:?} ({})",
                card.nam, card.jcl
            ),
            as_id: match request.option {
                AuthzOption::A => None,
                AuthzOption::B => answer
                    .id3p
                    .or(request.id3p)
                    .and_then(|id| NameAddr::parse(&format!("<{id}>"))),
            },
            presented: Box::new(Presented {
                rcd: stir::Rcd {
                    nam: Some(card.nam),
                    jcl: Some(card.jcl),
                    ..stir::Rcd::default()
                },
                rcdi: None,
                crn: None,
                in_shaken: false,
            }),
        },
        (true, None) => Decision::Refused {
            refusal: Refusal::new(
                Reason::Malformed,
                format!("{asked} authorised, but no name card: no 3P ID"),
            ),
            rejected: false,
        },
        (false, _) => Decision::Refused {
            refusal: Refusal::new(
                answer.denial.unwrap_or(Reason::NotAuthorised),
                format!(
                    "authorisation of {asked} rejected ({}): the call continues without the 3P ID",
                    answer.reason
                ),
            ),
            rejected: true,
        },
    }
}

/// The `WWW-Authenticate` value relaying an authorization server's challenge (§6.4.2.2).
pub fn bearer_challenge(realm: &str, nonce: &str) -> String {
    let quote = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "Bearer realm=\"{}\", nonce=\"{}\"",
        quote(realm),
        quote(nonce)
    )
}

/// Steps 7–8: whether the callee subscribed to verification of third party identities, and
/// the note saying so. An HSS that does not answer: verify anyway.
fn verification_subscription(answer: Result<Option<Subscription>, Error>) -> (Verify, Note) {
    let act = Act::VerificationSubscription;
    match answer {
        Ok(Some(s)) if s.verification => (
            Verify::Ask,
            Note::done(
                act,
                "the callee is subscribed to verification of third party identities: verify",
            ),
        ),
        Ok(_) => (
            Verify::Skip,
            Note::refused(
                act,
                Reason::NotSubscribed,
                "the callee is not subscribed to verification of third party identities: no verification, no name card",
            ),
        ),
        Err(e) => (
            Verify::Ask,
            Note::refused(
                act,
                e.reason(),
                format!("HSS unavailable ({e}): verify anyway"),
            ),
        ),
    }
}

#[cfg(test)]
mod tests;
