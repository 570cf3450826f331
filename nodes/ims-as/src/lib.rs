//! The IMS application server of TR 33.790 key issue #1, on ISC between the S-CSCF and itself.
//!
//! Originating ([`orig`], §6.2.2.2 steps 2–6): it asks the HSS whether the caller may use 3P IDs
//! and where their 3P ID server is, fetches the caller's RCD records from it (mutual TLS),
//! picks one against the 3P ID data in the INVITE, asserts the caller with the RCD name, has the
//! STI-AS sign `shaken` (and `rcd`) PASSporTs over Ms, and sends the INVITE on with the Identity
//! and Call-Info headers.
//!
//! Terminating ([`term`], §6.2.2.2 steps 8–11): it hands the Identity headers to the STI-VS over
//! Ms and delivers the INVITE with `verstat`, keeping the RCD only if it verified.

pub mod anchor;
pub mod orig;
pub mod term;

use proto::tn::digits;
use std::sync::Arc;

use kit::Error;
use kit::http::{Client, Request as HttpRequest};
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, SipNode};
use orig::Presented;
use proto::sip::proxy::{prepare_forward, response_to};
use proto::sip::{Method, Request, Timers};
use proto::sipmsg;
use proto::sipmsg::NameAddr;
use proto::trace::Note;
use proto::wire::authz::{AuthorizeResponse, AuthzOption, NEF_AUTHORIZE_PATH};
use proto::wire::id3p::RcdRecords;
use proto::wire::sh::{self, IdInfo, IdInfoAnswer, RcdAnswer, Subscription};
use stir::Attest;
use stir::ms::{
    SIGNING_PATH, SigningRequestBody, SigningResponseBody, VERIFICATION_PATH,
    VerificationRequestBody, VerificationResponseBody,
};

/// Which side of the call the AS serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Signs: needs the HSS and the STI-AS.
    Originating {
        hss_host: String,
        sti_as_host: String,
    },
    /// Verifies: needs the STI-VS (and, for solution 4's subscription check, the HSS).
    Terminating {
        sti_vs_host: String,
        hss_host: Option<String>,
    },
}

/// Which key issue #1 solution the AS runs (one per world: the operator deploys one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Flow {
    /// Solution 1 (§6.1): 3P ID information from the HSS (or the repository its URI names),
    /// signed inside the `shaken` PASSporT.
    HssIdInfo,
    /// Solution 2 (§6.2): RCD records from the enterprise's 3P ID server.
    #[default]
    IdServer,
    /// Solution 3 (§6.3): RCD URL or concrete RCD from the HSS, signed as an `rcd` PASSporT.
    HssRcd,
    /// Solution 4 (§6.4): the third party's authorization server, reached through the NEF,
    /// authorises the 3P ID (designated IMPU, or a token in the Authorization header) and
    /// makes the name card that is signed; the terminating side verifies only for callees
    /// subscribed to verification.
    AuthzServer,
}

/// What solution 4's authorisation came to.
enum Sol4 {
    /// Present this name card; as this identity (option B: the 3P ID) if given.
    Present {
        presented: Box<Presented>,
        as_id: Option<NameAddr>,
    },
    /// Answer the INVITE 401 with this `WWW-Authenticate` value.
    Challenge(String),
    /// No 3P ID.
    Nothing,
}

/// AS settings.
#[derive(Debug, Clone)]
pub struct AsConfig {
    pub role: Role,
    pub flow: Flow,
    /// The operator's NEF (solution 4).
    pub nef_host: Option<String>,
    pub timers: Timers,
    /// The operator's MF: with one, the AS record-routes and anchors data channel sections a
    /// served UE offers toward the network there ([`anchor`]).
    pub mf_host: Option<String>,
}

struct Node {
    ctx: Ctx,
    config: AsConfig,
    /// Mutual-TLS client: HSS and 3P ID server.
    mtls: Client,
    /// Server-authenticated client: STI-AS/VS.
    https: Client,
    /// Data channel sections anchored at the MF.
    anchored: anchor::Anchored,
}

impl Node {
    fn note(&self, msg: u64, label: String) {
        self.ctx.note(Some(msg), Note::Action { label });
    }

    fn choice(&self, msg: u64, id: &str, text: &str) {
        self.ctx.note(
            Some(msg),
            Note::Choice {
                id: id.into(),
                text: text.into(),
            },
        );
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        client: &Client,
        url: String,
    ) -> Result<Option<T>, String> {
        let response = client
            .send(HttpRequest::get(url.as_str()))
            .await
            .map_err(|e| e.to_string())?;
        match response.status {
            200 => serde_json::from_slice(&response.body)
                .map(Some)
                .map_err(|e| format!("{url}: {e}")),
            404 => Ok(None),
            other => Err(format!("{url} answered {other}")),
        }
    }

    async fn post_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        body: &B,
    ) -> Result<T, String> {
        self.post_json_with(&self.https, url, body).await
    }

    async fn post_json_with<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        client: &Client,
        url: String,
        body: &B,
    ) -> Result<T, String> {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let response = client
            .send(HttpRequest::post_json(url.as_str(), bytes))
            .await
            .map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!(
                "{url} answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            ));
        }
        serde_json::from_slice(&response.body).map_err(|e| format!("{url}: {e}"))
    }

    /// Solution 4 steps 7–8 (§6.4.2.1): verification happens only for a callee subscribed to
    /// verification of third party identities (HSS). Unreachable HSS: verify anyway.
    async fn callee_verifies(&self, invite: &Request, msg: u64, hss_host: &str) -> bool {
        let Some(callee) = orig::callee_tn(invite) else {
            return true;
        };
        let url = format!("https://{hss_host}{}", sh::path(&digits(&callee)));
        match self.get_json::<Subscription>(&self.mtls, url).await {
            Ok(Some(s)) if s.verification => {
                self.note(
                    msg,
                    "the callee is subscribed to verification of third party identities: verify"
                        .into(),
                );
                true
            }
            Ok(_) => {
                self.note(
                    msg,
                    "the callee is not subscribed to verification of third party identities: no verification, no name card".into(),
                );
                false
            }
            Err(e) => {
                self.note(msg, format!("HSS unavailable ({e}): verify anyway"));
                true
            }
        }
    }

    /// Key issue #1 at the originating side, on one INVITE: find what to present for the caller
    /// (per [`Flow`]), have the STI-AS sign it, and assert it.
    ///
    /// Returns a challenge (a `WWW-Authenticate` value) when the INVITE is to be answered 401
    /// instead (solution 4's alternative authorisation).
    async fn originating(
        &self,
        invite: &mut Request,
        msg: u64,
        hss_host: &str,
        sti_as_host: &str,
    ) -> Option<String> {
        let Some(mut caller) = orig::caller(invite) else {
            self.note(
                msg,
                "no caller identity in the INVITE: nothing to sign".into(),
            );
            return None;
        };
        let (Some(mut caller_tn), Some(callee_tn)) = (caller.tn(), orig::callee_tn(invite)) else {
            self.note(
                msg,
                "caller or callee is not a telephone number: nothing to sign".into(),
            );
            return None;
        };
        let presented = match self.config.flow {
            Flow::HssIdInfo => self.sol1_lookup(msg, hss_host, &caller_tn).await,
            Flow::IdServer => self.sol2_lookup(invite, msg, hss_host, &caller_tn).await,
            Flow::HssRcd => self.sol3_lookup(msg, hss_host, &caller_tn).await,
            Flow::AuthzServer => match self.sol4_lookup(invite, msg, hss_host, &caller_tn).await {
                Sol4::Challenge(value) => return Some(value),
                Sol4::Nothing => None,
                Sol4::Present { presented, as_id } => {
                    if let Some(id) = as_id {
                        caller = id;
                        caller_tn = caller.tn().unwrap_or(caller_tn);
                    }
                    Some(*presented)
                }
            },
        };
        let iat = self.ctx.clock.now();
        let mut identities = Vec::new();
        for request in
            orig::signing_requests(&caller_tn, &callee_tn, iat, Attest::A, presented.as_ref())
        {
            let ppt = request.ppt.clone().unwrap_or_else(|| "shaken".into());
            let body = SigningRequestBody {
                signing_request: request,
            };
            match self
                .post_json::<_, SigningResponseBody>(
                    format!("https://{sti_as_host}{SIGNING_PATH}"),
                    &body,
                )
                .await
            {
                Ok(answer) => identities.push(answer.signing_response.identity_header),
                Err(e) => self.note(
                    msg,
                    format!("STI-AS refused to sign {ppt} ({e}): sent without it"),
                ),
            }
        }
        if presented.is_some() {
            let (id, text) = match self.config.flow {
                Flow::HssIdInfo => (
                    "6.1-passport",
                    "3P ID information as rcd claims inside the shaken PASSporT (RFC 9795 §12), and the P-Asserted-Identity display name",
                ),
                Flow::IdServer => (
                    "6.2-rcd-header",
                    "RCD as an rcd PASSporT, P-Asserted-Identity display name and Call-Info rcd-jcard",
                ),
                Flow::HssRcd => (
                    "6.3-rcd-header",
                    "RCD as an rcd PASSporT with rcdi digests; an RCD URL also as Call-Info purpose=rcd-jcard, concrete RCD inline as jcd",
                ),
                Flow::AuthzServer => (
                    "6.4-name-card",
                    "the enterprise name card as an rcd PASSporT (nam, jcl with rcdi) and Call-Info purpose=rcd-jcard; the 3P ID asserted in P-Asserted-Identity and signed as orig",
                ),
            };
            self.choice(msg, id, text);
        }
        orig::apply(invite, &caller, &identities, presented.as_ref());
        self.note(
            msg,
            format!(
                "add P-Asserted-Identity and {} Identity header(s); route on",
                identities.len()
            ),
        );
        None
    }

    /// Solution 4 (§6.4.2.1 steps 2–3): check the caller may use a 3P ID (HSS), take option B
    /// from the Authorization header or option A from a designated IMPU, and have the third
    /// party's authorization server — found by the NEF — authorise it and make the name card.
    async fn sol4_lookup(
        &self,
        invite: &mut Request,
        msg: u64,
        hss_host: &str,
        caller_tn: &str,
    ) -> Sol4 {
        let credentials = sipmsg::first(&invite.headers, "Authorization").map(str::to_owned);
        if credentials.is_some() {
            // The credentials are for the third party's server: they stop here.
            sipmsg::remove(&mut invite.headers, "Authorization");
            self.note(
                msg,
                "remove the Authorization header: the 3P ID credentials do not leave the originating network".into(),
            );
        }
        let subscription: Option<Subscription> = match self
            .get_json(
                &self.mtls,
                format!("https://{hss_host}{}", sh::path(&digits(caller_tn))),
            )
            .await
        {
            Ok(s) => s,
            Err(e) => {
                self.note(msg, format!("HSS unavailable ({e}): no 3P ID"));
                None
            }
        };
        let request =
            match orig::authorization_request(subscription.as_ref(), credentials.as_deref()) {
                Ok(r) => r,
                Err(why) => {
                    self.note(msg, format!("no 3P ID: {why}"));
                    return Sol4::Nothing;
                }
            };
        self.note(
            msg,
            format!(
                "the subscription allows 3P IDs: ask the NEF to authorise {} (option {})",
                request.id3p.as_deref().unwrap_or("the designated IMPU"),
                request.option
            ),
        );
        let Some(nef_host) = &self.config.nef_host else {
            self.note(msg, "no NEF configured: no 3P ID".into());
            return Sol4::Nothing;
        };
        let answer: AuthorizeResponse = match self
            .post_json_with(
                &self.mtls,
                format!("https://{nef_host}{NEF_AUTHORIZE_PATH}"),
                &request,
            )
            .await
        {
            Ok(a) => a,
            Err(e) => {
                self.note(msg, format!("NEF unavailable ({e}): no 3P ID"));
                return Sol4::Nothing;
            }
        };
        if let Some(nonce) = answer.challenge.as_deref()
            && !answer.authorized
        {
            let realm = request.realm.as_deref().unwrap_or_default();
            self.note(
                msg,
                format!("the authorization server authenticates the UE: relay its challenge in a 401 (realm {realm})"),
            );
            self.choice(
                msg,
                "6.4-authenticate",
                "the authorization server's challenge reaches the UE as a SIP 401 with WWW-Authenticate: Bearer realm, nonce; the UE answers with its signature over the nonce",
            );
            return Sol4::Challenge(orig::bearer_challenge(realm, nonce));
        }
        let card = match (answer.authorized, answer.name_card) {
            (true, Some(card)) => card,
            (true, None) => {
                self.note(msg, "authorised, but no name card: no 3P ID".into());
                return Sol4::Nothing;
            }
            (false, _) => {
                self.note(
                    msg,
                    format!(
                        "authorisation rejected ({}): the call continues without the 3P ID",
                        answer.reason
                    ),
                );
                self.choice(
                    msg,
                    "6.4-rejected",
                    "a rejected authorisation: the call continues with the caller's own number asserted and signed, no name card; a 3P ID the caller put in From is not vouched for, so the callee sees it with verstat=TN-Validation-Failed",
                );
                return Sol4::Nothing;
            }
        };
        self.note(
            msg,
            format!(
                "authorised: enterprise name card {:?} ({})",
                card.nam, card.jcl
            ),
        );
        let as_id = match request.option {
            AuthzOption::A => None,
            AuthzOption::B => answer
                .id3p
                .or(request.id3p)
                .and_then(|id| NameAddr::parse(&format!("<{id}>"))),
        };
        Sol4::Present {
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
            as_id,
        }
    }

    /// Solution 1 (§6.1.2 steps 3–6): the 3P ID information from the HSS, or from the
    /// repository its URI names.
    async fn sol1_lookup(&self, msg: u64, hss_host: &str, caller_tn: &str) -> Option<Presented> {
        let url = format!("https://{hss_host}{}", sh::id_info_path(&digits(caller_tn)));
        let answer: IdInfoAnswer = match self.get_json(&self.mtls, url).await {
            Ok(Some(a)) => a,
            Ok(None) => {
                self.note(
                    msg,
                    "IMPU not subscribed to third party ID information: no 3P ID is presented (any in the INVITE is ignored), no repository fetch".into(),
                );
                return None;
            }
            Err(e) => {
                self.note(
                    msg,
                    format!("HSS unavailable ({e}): no 3P ID, no repository fetch"),
                );
                return None;
            }
        };
        let info = match (answer.info, answer.url) {
            (Some(info), _) => {
                self.note(
                    msg,
                    format!(
                        "3P ID information from the HSS: {:?}; no repository fetch",
                        info.name
                    ),
                );
                info
            }
            (None, Some(url)) => match self.get_json::<IdInfo>(&self.mtls, url.clone()).await {
                Ok(Some(info)) => {
                    self.note(
                        msg,
                        format!(
                            "3P ID information fetched from the repository: {:?}",
                            info.name
                        ),
                    );
                    info
                }
                Ok(None) => {
                    self.note(
                        msg,
                        format!("the repository has nothing at {url}: no 3P ID"),
                    );
                    return None;
                }
                Err(e) => {
                    self.note(msg, format!("repository unavailable ({e}): no 3P ID"));
                    return None;
                }
            },
            (None, None) => {
                self.note(
                    msg,
                    "the HSS returned neither information nor URI: no 3P ID".into(),
                );
                return None;
            }
        };
        Some(Presented {
            rcd: stir::Rcd {
                nam: Some(info.name),
                ..stir::Rcd::default()
            },
            rcdi: None,
            crn: None,
            in_shaken: true,
        })
    }

    /// Solution 2 (§6.2.2.2 step 3): authorisation from the HSS, then the RCD record from the
    /// 3P ID server, chosen against the 3P ID data in the INVITE.
    async fn sol2_lookup(
        &self,
        invite: &Request,
        msg: u64,
        hss_host: &str,
        caller_tn: &str,
    ) -> Option<Presented> {
        let asked = orig::third_party_id_data(invite);
        self.choice(
            msg,
            "6.2-3pid-data",
            &asked.as_ref().map_or(
                "the INVITE names no 3P ID data (no From display name)".into(),
                |a| format!("3P ID data from the From display name: {a:?}"),
            ),
        );
        let subscription: Option<Subscription> = match self
            .get_json(
                &self.mtls,
                format!("https://{hss_host}{}", sh::path(&digits(caller_tn))),
            )
            .await
        {
            Ok(s) => s,
            Err(e) => {
                self.note(
                    msg,
                    format!("HSS unavailable ({e}): treated as not authorised"),
                );
                None
            }
        };
        let decision = match orig::authorise(subscription.as_ref()) {
            Err(refused) => refused,
            Ok(server) => {
                let url = format!(
                    "{}{}",
                    server.trim_end_matches('/'),
                    proto::wire::id3p::path(&digits(caller_tn))
                );
                match self.get_json::<RcdRecords>(&self.mtls, url).await {
                    Ok(Some(records)) => orig::choose(&records.records, asked.as_deref()),
                    Ok(None) => orig::RcdDecision::NoRecord,
                    Err(e) => {
                        self.note(msg, format!("3P ID server unavailable ({e}): no RCD"));
                        orig::RcdDecision::NoRecord
                    }
                }
            }
        };
        self.note(msg, format!("3P ID check: {}", decision.explain()));
        if asked.is_none() && decision.record().is_some() {
            self.choice(
                msg,
                "6.2-no-3pid-data",
                "no 3P ID data named: the default RCD record is used",
            );
        }
        if matches!(decision, orig::RcdDecision::Mismatch { .. }) {
            self.choice(
                msg,
                "6.2-mismatch-policy",
                "3P ID data and the server's records disagree: no RCD is presented",
            );
        }
        decision.record().map(Presented::from_record)
    }

    /// Solution 3 (§6.3.2 steps 3–4b): authorisation from the HSS subscription (an RCD
    /// association exists), the RCD URL or concrete RCD (4a), and for a URL the jCard from the
    /// third party's server (4b), digested here so the signed `rcdi` covers what was fetched.
    async fn sol3_lookup(&self, msg: u64, hss_host: &str, caller_tn: &str) -> Option<Presented> {
        let tn = digits(caller_tn);
        let subscription: Option<Subscription> = match self
            .get_json(&self.mtls, format!("https://{hss_host}{}", sh::path(&tn)))
            .await
        {
            Ok(s) => s,
            Err(e) => {
                self.note(msg, format!("HSS unavailable ({e}): not authorised"));
                None
            }
        };
        let associated = subscription
            .as_ref()
            .is_some_and(|s| !s.rcd_urls.is_empty() || s.rcd.is_some());
        if !associated {
            self.note(
                msg,
                "no third party identity is associated with this IMPU in the HSS: not authorised, no RCD (step 4a skipped)".into(),
            );
            self.note(
                msg,
                "no RCD URL: nothing to fetch from the third party database (step 4b skipped)"
                    .into(),
            );
            return None;
        }
        self.note(
            msg,
            "the HSS associates this IMPU with third party RCD: authorised".into(),
        );
        let answer: RcdAnswer = match self
            .get_json(
                &self.mtls,
                format!("https://{hss_host}{}", sh::rcd_path(&tn)),
            )
            .await
        {
            Ok(Some(a)) => a,
            Ok(None) => {
                self.note(msg, "the HSS holds no RCD after all: no RCD".into());
                return None;
            }
            Err(e) => {
                self.note(msg, format!("HSS unavailable ({e}): no RCD"));
                return None;
            }
        };
        if let Some(rcd) = answer.rcd {
            self.note(
                msg,
                format!(
                    "concrete RCD from the HSS: {:?}, signed inline as jcd; no third-party fetch (step 4b not needed)",
                    rcd.nam
                ),
            );
            return Some(Presented {
                rcd: stir::Rcd {
                    nam: Some(rcd.nam.clone()),
                    jcd: Some(rcd.jcard()),
                    ..stir::Rcd::default()
                },
                rcdi: None,
                crn: None,
                in_shaken: false,
            });
        }
        let url = answer.urls.first()?.clone();
        let response = match self.mtls.send(HttpRequest::get(url.as_str())).await {
            Ok(r) if r.status == 200 => r,
            Ok(r) => {
                self.note(msg, format!("{url} answered {}: no RCD", r.status));
                return None;
            }
            Err(e) => {
                self.note(
                    msg,
                    format!("third party database unavailable ({e}): no RCD"),
                );
                return None;
            }
        };
        let Some(nam) = serde_json::from_slice(&response.body)
            .ok()
            .and_then(|card| orig::jcard_name(&card))
        else {
            self.note(msg, format!("{url} is not a jCard with a name: no RCD"));
            return None;
        };
        let rcd = stir::Rcd {
            nam: Some(nam.clone()),
            jcl: Some(url.clone()),
            ..stir::Rcd::default()
        };
        let mut fetched = stir::rcd::Fetched::new();
        fetched.insert(url.clone(), response.body.to_vec());
        let rcdi = match stir::rcd::compute_rcdi(&rcd, &fetched, stir::DigestAlg::Sha256) {
            Ok(r) => r,
            Err(e) => {
                self.note(msg, format!("cannot digest the RCD ({e}): no RCD"));
                return None;
            }
        };
        self.note(
            msg,
            format!("RCD fetched from the third party database: {nam:?}; rcdi digests computed over what was fetched"),
        );
        Some(Presented {
            rcd,
            rcdi: Some(rcdi),
            crn: None,
            in_shaken: false,
        })
    }

    /// §6.2.2.2 steps 8–11 on one INVITE.
    async fn terminating(
        &self,
        invite: &mut Request,
        msg: u64,
        sti_vs_host: &str,
        hss_host: Option<&str>,
    ) {
        if self.config.flow == Flow::AuthzServer
            && let Some(hss_host) = hss_host
            && !self.callee_verifies(invite, msg, hss_host).await
        {
            let delivery = term::apply(invite, None);
            self.note(
                msg,
                format!(
                    "deliver without verification (verstat={}); removed {}",
                    delivery.verstat,
                    if delivery.removed.is_empty() {
                        "nothing".to_owned()
                    } else {
                        delivery.removed.join(", ")
                    }
                ),
            );
            return;
        }
        let request = term::verification_request(invite, self.ctx.clock.now());
        let response = match request {
            None => {
                self.note(msg, "no Identity header: nothing to verify".into());
                None
            }
            Some(request) => {
                let body = VerificationRequestBody {
                    verification_request: request,
                };
                match self
                    .post_json::<_, VerificationResponseBody>(
                        format!("https://{sti_vs_host}{VERIFICATION_PATH}"),
                        &body,
                    )
                    .await
                {
                    Ok(answer) => Some(answer.verification_response),
                    Err(e) => {
                        self.note(
                            msg,
                            format!("STI-VS unavailable ({e}): delivered without verification"),
                        );
                        None
                    }
                }
            }
        };
        if self.config.flow == Flow::HssRcd {
            // §6.3.2 step 9: the jCard behind a verified RCD URL is fetched (by the STI-VS, to
            // check its digest); without one there is nothing to fetch.
            let url = response
                .as_ref()
                .and_then(term::verified_rcd)
                .and_then(|r| r.jcl);
            self.note(
                msg,
                url.map_or(
                    "no verified RCD URL: no RCD is fetched for the callee".into(),
                    |u| format!("verified RCD URL {u}: its jCard was fetched and digest-checked"),
                ),
            );
        }
        let delivery = term::apply(invite, response.as_ref());
        let removed = if delivery.removed.is_empty() {
            String::new()
        } else {
            format!("; removed {}", delivery.removed.join(", "))
        };
        let name = delivery
            .name
            .as_ref()
            .map_or("no verified name".into(), |n| {
                format!("verified name {n:?}")
            });
        self.note(
            msg,
            format!("deliver with verstat={}, {name}{removed}", delivery.verstat),
        );
        if !delivery.removed.is_empty() {
            self.choice(
                msg,
                "6.2-term-display",
                "unverified RCD is removed before the callee sees it",
            );
        }
    }
}

async fn handle(ep: Endpoint, mut incoming: Incoming, node: Arc<Node>) {
    let request = incoming.request().clone();
    let branch = ep.next_branch();
    let mut fwd = match prepare_forward(
        &request,
        ep.host(),
        ep.local_addr(),
        incoming.transport(),
        &branch,
        node.config.mf_host.is_some(),
    ) {
        Ok(f) => f,
        Err(answer) => {
            let _ = incoming.respond(answer).await;
            return;
        }
    };
    // A re-INVITE (To tag set) is in the dialog: the call's identity work is done.
    let initial = sipmsg::first(&request.headers, "To").is_none_or(|to| !to.contains(";tag="));
    if request.method == Method::Invite && !incoming.is_ack() && initial {
        let msg = incoming.trace_id();
        match &node.config.role {
            Role::Originating {
                hss_host,
                sti_as_host,
            } => {
                if let Some(challenge) =
                    node.originating(&mut fwd, msg, hss_host, sti_as_host).await
                {
                    // §6.4.2.2: the authorization server authenticates the UE; the challenge
                    // travels to the UE as a SIP 401 (choice `6.4-authenticate`).
                    let mut answer =
                        response_to(&request, 401, "Unauthorized", Some(&ep.next_tag()));
                    sipmsg::push(&mut answer.headers, "WWW-Authenticate", challenge);
                    let _ = incoming.respond(answer).await;
                    return;
                }
            }
            Role::Terminating {
                sti_vs_host,
                hss_host,
            } => {
                node.terminating(&mut fwd, msg, sti_vs_host, hss_host.as_deref())
                    .await
            }
        }
    }
    if let Some(mf_host) = &node.config.mf_host
        && request.method == Method::Bye
    {
        anchor::release(
            &node.ctx,
            &node.mtls,
            &node.anchored,
            mf_host,
            &request,
            incoming.trace_id(),
        )
        .await;
    }
    if let (Some(mf_host), Role::Terminating { .. }) = (&node.config.mf_host, &node.config.role)
        && request.method == Method::Invite
        && !incoming.is_ack()
        && let Some(callee) = orig::callee_tn(&fwd)
        && let Some(new) = anchor::offer(
            &node.ctx,
            &node.mtls,
            &node.anchored,
            mf_host,
            &mut fwd,
            &callee,
            incoming.trace_id(),
        )
        .await
    {
        anchor::forward_offered(&node.ctx, &node.mtls, mf_host, &ep, &mut incoming, fwd, new).await;
        return;
    }
    if let (Some(mf_host), Role::Originating { .. }) = (&node.config.mf_host, &node.config.role)
        && request.method == Method::Invite
        && !incoming.is_ack()
    {
        let answers = anchor::take(
            &node.ctx,
            &node.mtls,
            &node.anchored,
            mf_host,
            &mut fwd,
            incoming.trace_id(),
        )
        .await;
        if !answers.is_empty() {
            anchor::forward(&ep, &mut incoming, fwd, &answers).await;
            return;
        }
    }
    sipnode::forward(&ep, &mut incoming, fwd).await;
}

/// Starts the AS.
pub async fn start(ctx: &Ctx, config: AsConfig) -> Result<SipNode, Error> {
    let ep = sipnode::bind(ctx, config.timers).await?;
    let node = Arc::new(Node {
        ctx: ctx.clone(),
        mtls: ctx.https_client(true)?,
        https: ctx.https_client(false)?,
        anchored: anchor::Anchored::default(),
        config,
    });
    Ok(sipnode::serve(ep, move |ep, incoming| {
        handle(ep, incoming, node.clone())
    }))
}
