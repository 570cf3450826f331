//! The calling side (RFC 3261 §8.1, §13.2, §15): the INVITE of a call (with its data channel
//! offers, and the answer to a Bearer challenge of TR 33.790 §6.4.2.2), CANCEL, BYE, and the
//! re-INVITE that adds data channels to a call. Each answered offer is kept as the call's local
//! session description (`session`: what a re-INVITE of the network gets). Registration is
//! `register`'s.

use std::sync::Arc;
use std::time::Duration;

use dc::Peer;
use kit::Error;
use kit::sip::ClientTransaction;
use proto::sdp::{self, DcMap, Media, Session};
use proto::sip::{Method, Request, Response, ua};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note};

use crate::channels::{self, AddFailure, Offered};
use crate::credentials::bearer_challenge;
use crate::forgery::route_set;
use crate::session::{self, Side};
use crate::{Access, Call, Ue, lock, plain_sdp, sip_error, timeout};

/// The CSeq number of an initial INVITE; a re-sent INVITE answering a challenge uses the next.
const INITIAL_CSEQ: u32 = 1;

/// What an initial INVITE (and the one answering its challenge, if any) came to.
#[derive(Debug)]
struct Exchanged {
    /// The INVITE that got the final answer, as sent.
    invite: Request,
    /// Every response of both INVITEs, in order.
    responses: Vec<Response>,
    /// The final status.
    code: u16,
    /// The CSeq number used last.
    cseq: u32,
}

/// Every response `tx` gets up to and including the final one, waiting at most `wait`.
async fn responses(
    tx: &mut ClientTransaction,
    wait: Duration,
    method: &str,
) -> Result<Vec<Response>, Error> {
    tokio::time::timeout(wait, async {
        let mut all = Vec::new();
        while let Some(r) = tx.next_response().await {
            let last = r.status_code.code() >= 200;
            all.push(r);
            if last {
                return Ok(all);
            }
        }
        Err(sip_error(format!("{method} got no final response")))
    })
    .await
    .map_err(|_| timeout(wait))?
}

/// The final response `tx` gets, waiting at most `wait`.
pub(crate) async fn final_response(
    tx: &mut ClientTransaction,
    wait: Duration,
    method: &str,
) -> Result<Response, Error> {
    responses(tx, wait, method)
        .await?
        .pop()
        .ok_or_else(|| sip_error(format!("{method} got no final response")))
}

impl Ue {
    /// The Contact of this agent's requests: its IMPU's number at its SIP address, with the
    /// data channel feature tag when DC-capable.
    pub(crate) fn contact(&self) -> String {
        let addr = self.endpoint().local_addr();
        let user = NameAddr::parse(&self.impu())
            .and_then(|n| n.tn())
            .unwrap_or_else(|| "ue".into());
        let tag = if self.config.dc.is_some() {
            format!(";{}", sdp::DC_FEATURE_TAG)
        } else {
            String::new()
        };
        // An attacker's UE writes another UE's contact (`Forgery::Contact`).
        match self.forged().contact {
            Some(uri) => format!("<{uri}>{tag}"),
            None => format!("<sip:{user}@{}:{}>{tag}", addr.ip(), addr.port()),
        }
    }

    /// The first lines of a request outside a dialog (a new From tag and Call-ID).
    pub(crate) fn base(&self, method: &str, uri: &str, from: &str, to: &str, cseq: u32) -> String {
        let ep = self.endpoint();
        format!(
            "{method} {uri} SIP/2.0\r\nMax-Forwards: 70\r\nFrom: {from};tag={}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContact: {}\r\n",
            ep.next_tag(),
            ep.next_call_id(),
            self.contact()
        )
    }

    /// The route of a registered UE's requests: its P-CSCF, then the Service-Route its
    /// S-CSCF gave it — or what an attacker's UE forges instead (`Forgery::NextHop`,
    /// `Forgery::Route`).
    fn pcscf_routes(&self, pcscf_host: &str) -> Vec<String> {
        let forged = self.forged();
        let first_hop = forged.next_hop.unwrap_or_else(|| pcscf_host.to_owned());
        let rest = forged
            .route
            .unwrap_or_else(|| lock(&self.state).service_route.clone());
        route_set(&first_hop, &rest)
    }

    /// Calls `target` (a SIP or tel URI), naming `display` as the From display name (the 3P ID
    /// data of TR 33.790 §6.2, choice `6.2-3pid-data`). Sends the ACK on a 2xx.
    pub async fn call(&self, target: &str, display: Option<&str>) -> Result<Call, Error> {
        self.call_with(target, display, &[]).await
    }

    /// Calls `target`; with `channels`, the INVITE also offers them as negotiated data
    /// channels (one m=application section, mid [`crate::P2P_MID`]) to the callee, created
    /// before the offer. The answer in the 200 completes them; a declined section (port 0) or a
    /// failing engine leaves the call without data channels ([`Call::dc_refused`]).
    ///
    /// The INVITE carries the configured Authorization value ([`Ue::set_authorization`]). A
    /// `401` whose `WWW-Authenticate` is a Bearer challenge with a nonce (TR 33.790 §6.4.2.2) is
    /// answered once: the same INVITE (Call-ID, From tag, routes, body — the data channel offers
    /// are not made again) with CSeq 2, a new branch and the UE's signature over the nonce
    /// ([`crate::challenge_authorization`]); its answer is the call's. [`Call::responses`] then
    /// holds the responses of both INVITEs and [`Call::invite`] is the second. Each INVITE
    /// waits at most [`crate::UeConfig::wait`].
    pub async fn call_with(
        &self,
        target: &str,
        display: Option<&str>,
        channels: &[DcMap],
    ) -> Result<Call, Error> {
        let host = self.endpoint().host().to_owned();
        let (body, offered) = match (&self.config.dc, channels.is_empty()) {
            (Some(dc), false) => {
                channels::offer(&self.ctx, &self.state, dc, &host, channels).await?
            }
            _ => (plain_sdp(&host), Offered::default()),
        };
        let authorization = self.authorization();
        let text = self.invite_text(target, display, authorization.as_deref(), &body);
        let exchanged = match Request::try_from(text.as_str()) {
            Ok(request) => {
                self.invite_answering_challenge(request, authorization)
                    .await
            }
            Err(e) => Err(sip_error(e.to_string())),
        };
        let done = match exchanged {
            Ok(done) => done,
            Err(e) => {
                // The offered data channels will never be answered.
                offered.close().await;
                return Err(e);
            }
        };
        let mut call = Call {
            invite: done.invite,
            responses: done.responses,
            code: done.code,
            dc: None,
            dc_refused: None,
            bdc: None,
            added: Vec::new(),
            cseq: done.cseq,
        };
        offered.complete(&self.ctx, &mut call).await;
        if call.answered() {
            let call_id = sipmsg::first(&call.invite.headers, "Call-ID").unwrap_or_default();
            self.keep_offer(call_id, body);
            let own: Vec<&Arc<Peer>> = call.dc.iter().chain(&call.bdc).collect();
            channels::own(&self.state, call_id, &own);
        }
        Ok(call)
    }

    /// Keeps `sdp` as the local session description of call `call_id` (this agent's last offer
    /// in it, answered): a re-INVITE of the network in the dialog gets it again.
    fn keep_offer(&self, call_id: &str, sdp: String) {
        session::keep(&mut lock(&self.state).sessions, call_id, Side::Caller, sdp);
    }

    /// The text of an initial INVITE to `target` with SDP `body`: From presents the configured
    /// identity ([`Ue::present_as`], else the IMPU); routed by the P-CSCF and Service-Route, or
    /// on a trunk to the IBCF with the number in P-Preferred-Identity.
    fn invite_text(
        &self,
        target: &str,
        display: Option<&str>,
        authorization: Option<&str>,
        body: &str,
    ) -> String {
        let impu = self.impu();
        let presented = lock(&self.state).present_as.clone();
        // An attacker's UE presents the identity it forges in From too; a PBX names the number
        // of whichever user it serves (a number outside its range is its own business: the
        // network attests it B).
        let forged = self.forged().asserted;
        let (asserted, named) = match &self.config.access {
            Access::Pcscf { .. } => (forged, None),
            Access::Trunk { .. } => (None, forged),
        };
        let from = NameAddr {
            display: display.map(str::to_owned),
            uri: asserted
                .clone()
                .or(presented)
                .unwrap_or_else(|| impu.clone()),
            params: String::new(),
        }
        .render();
        let mut text = self.base(
            "INVITE",
            target,
            &from,
            &format!("<{target}>"),
            INITIAL_CSEQ,
        );
        let routes = match &self.config.access {
            Access::Pcscf { pcscf_host, .. } => {
                if let Some(uri) = &asserted {
                    text.push_str(&format!("P-Asserted-Identity: <{uri}>\r\n"));
                }
                self.pcscf_routes(pcscf_host)
            }
            Access::Trunk { ibcf_host, .. } => {
                // The PBX is outside the trust domain: it names its user's number for the IBCF
                // to assert (RFC 3325 §9.2), which the IBCF does only for the identified trunk.
                let number = named.unwrap_or_else(|| impu.clone());
                let ppi = NameAddr {
                    display: display.map(str::to_owned),
                    uri: format!("{number};user=phone"),
                    params: String::new(),
                };
                text.push_str(&format!("P-Preferred-Identity: {}\r\n", ppi.render()));
                vec![format!("sip:{ibcf_host};lr")]
            }
        };
        for r in &routes {
            text.push_str(&format!("Route: <{r}>\r\n"));
        }
        // TR 33.790 §6.4.2.1 step 1 (option B): the 3P ID, the realm and the token.
        if let Some(value) = authorization {
            text.push_str(&format!("Authorization: {value}\r\n"));
        }
        // §6.8.2 step 1: the caller's Avatar ID, if it names one.
        if let Some(id) = lock(&self.state).avatar_id.clone() {
            text.push_str(&format!("{}: {id}\r\n", crate::AVATAR_ID_HEADER));
        }
        text.push_str(&format!(
            "Date: {}\r\nAllow: INVITE, ACK, BYE, CANCEL\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            self.ctx.clock.http_date(),
            body.len()
        ));
        text
    }

    /// Sends an initial INVITE (built without Via) and waits for its final answer. A `401` with
    /// a Bearer challenge (TR 33.790 §6.4.2.2: the authorization server authenticates the UE,
    /// the IMS AS relays its nonce) is answered once: the INVITE goes again in the same dialog
    /// attempt (Call-ID, From tag, body, routes) with the next CSeq, a new Via branch and an
    /// Authorization header carrying the UE's signature over the nonce
    /// ([`Ue::answer_challenge`]); a second challenge is the final answer. `authorization` is
    /// what the first INVITE carried.
    async fn invite_answering_challenge(
        &self,
        request: Request,
        authorization: Option<String>,
    ) -> Result<Exchanged, Error> {
        let (invite, mut responses, code) = self.invite_exchange(request.clone()).await?;
        let challenge = match responses.last() {
            Some(last) if code == 401 => bearer_challenge(last),
            _ => None,
        };
        // The client transaction has ACKed the 401 itself (RFC 3261 §17.1.1.3).
        let cseq = INITIAL_CSEQ + 1;
        let retry =
            challenge.and_then(|c| self.answer_challenge(&request, cseq, authorization, &c));
        let Some(retry) = retry else {
            return Ok(Exchanged {
                invite,
                responses,
                code,
                cseq: INITIAL_CSEQ,
            });
        };
        let (invite, more, code) = self.invite_exchange(retry).await?;
        responses.extend(more);
        Ok(Exchanged {
            invite,
            responses,
            code,
            cseq,
        })
    }

    /// Sends an INVITE in a new client transaction and waits (bounded by
    /// [`crate::UeConfig::wait`]) for its final answer; ACKs a 2xx (the transaction ACKs a
    /// 3xx–6xx itself). Returns the INVITE as sent, every response in order and the final
    /// status.
    async fn invite_exchange(
        &self,
        request: Request,
    ) -> Result<(Request, Vec<Response>, u16), Error> {
        let ep = self.endpoint().clone();
        let mut tx = ep.send_request(request).await?;
        let invite = tx.request().clone();
        let responses = responses(&mut tx, self.config.wait, "INVITE").await?;
        let last = responses
            .last()
            .ok_or_else(|| sip_error("INVITE got no final response"))?;
        let code = last.status_code.code();
        if (200..300).contains(&code) {
            let ack = ua::ack_for_2xx(&invite, last).map_err(sip_error)?;
            ep.send_stateless(ack).await?;
        }
        Ok((invite, responses, code))
    }

    /// Calls `target` and cancels the INVITE as soon as it rings (RFC 3261 §9.1); returns every
    /// response the INVITE got (a 487 last, when the CANCEL won the race with an answer).
    pub async fn call_and_cancel(&self, target: &str) -> Result<Vec<Response>, Error> {
        let impu = self.impu();
        let mut text = self.base(
            "INVITE",
            target,
            &format!("<{impu}>"),
            &format!("<{target}>"),
            1,
        );
        if let Some(authorization) = self.authorization() {
            text.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        if let Access::Pcscf { pcscf_host, .. } = &self.config.access {
            for r in &self.pcscf_routes(pcscf_host) {
                text.push_str(&format!("Route: <{r}>\r\n"));
            }
        }
        text.push_str(&format!(
            "Date: {}\r\nContent-Length: 0\r\n\r\n",
            self.ctx.clock.http_date()
        ));
        let request = Request::try_from(text.as_str()).map_err(|e| sip_error(e.to_string()))?;
        let wait = self.config.wait;
        let mut tx = self.endpoint().send_request(request).await?;
        tokio::time::timeout(wait, async {
            let mut responses = Vec::new();
            let mut sent_cancel = false;
            while let Some(r) = tx.next_response().await {
                let code = r.status_code.code();
                responses.push(r);
                if (180..200).contains(&code) && !sent_cancel {
                    sent_cancel = true;
                    let mut cancel = tx.cancel().await?;
                    tokio::spawn(async move { while cancel.next_response().await.is_some() {} });
                }
                if code >= 200 {
                    break;
                }
            }
            Ok(responses)
        })
        .await
        .map_err(|_| timeout(wait))?
    }

    /// Ends an answered call with BYE, after closing its data channels ([`Act::DcRelease`]);
    /// returns the BYE's final status.
    pub async fn hang_up(&self, call: &Call) -> Result<u16, Error> {
        let ok = call
            .ok()
            .ok_or_else(|| sip_error("the call was not answered"))?;
        let call_id = sipmsg::first(&call.invite.headers, "Call-ID").unwrap_or_default();
        // The network's additions (TR 33.790 §6.9.2.2) end with the call's own.
        let added_by_network = crate::end_call(&self.state, call_id);
        channels::release(
            &self.ctx,
            None,
            call.dc
                .iter()
                .chain(&call.bdc)
                .chain(&call.added)
                .chain(&added_by_network),
        )
        .await;
        let bye =
            ua::uac_request(&call.invite, ok, Method::Bye, call.cseq + 1).map_err(sip_error)?;
        let mut tx = self.endpoint().send_request(bye).await?;
        let answer = final_response(&mut tx, self.config.wait, "BYE").await?;
        Ok(answer.status_code.code())
    }

    /// Adds data channels to an answered call with a re-INVITE in its dialog (Route set from
    /// the 200's Record-Route): the offer repeats the call's sections and adds one
    /// m=application section `mid` mapping `channels`; the answer in the re-INVITE's 200
    /// completes it. Returns the new association (also kept in [`Call::added`]). When the
    /// answer does not complete it, the call goes on without it ([`Act::DcUnavailable`]).
    pub async fn add_channels(
        &self,
        call: &mut Call,
        mid: &str,
        channels: &[DcMap],
    ) -> Result<Arc<Peer>, Error> {
        self.add_section(call, mid, channels, &[]).await
    }

    /// [`Ue::add_channels`], the section also carrying the RFC 8864 `a=dcsa` attributes `dcsa`
    /// (stream, attribute). A re-INVITE answered 2xx makes its offer the call's local session
    /// description (what a re-INVITE of the network gets).
    pub(crate) async fn add_section(
        &self,
        call: &mut Call,
        mid: &str,
        channels: &[DcMap],
        dcsa: &[(u16, String)],
    ) -> Result<Arc<Peer>, Error> {
        let dc = self
            .config
            .dc
            .as_ref()
            .ok_or_else(|| sip_error("this agent has no data channel capability"))?;
        let ok = call
            .ok()
            .cloned()
            .ok_or_else(|| sip_error("the call was not answered"))?;
        let mut session = std::str::from_utf8(&call.invite.body)
            .map_err(|e| sip_error(e.to_string()))
            .and_then(|t| Session::parse(t).map_err(|e| sip_error(e.to_string())))?;
        let owner = channels::owner(&self.ctx, dc);
        let mut rng = channels::rng(&self.ctx, &self.state);
        let (peer, section) = Peer::offer(&owner, &mut rng, mid, channels, dcsa)
            .await
            .map_err(|e| sip_error(format!("data channel offer: {e}")))?;
        session.version += 1;
        session.media.push(Media::Application(section));
        call.cseq += 1;
        let reinvite = match self.reinvite(call, &ok, session.render()) {
            Ok(r) => r,
            Err(detail) => {
                peer.close().await;
                return Err(sip_error(detail));
            }
        };
        if let Err(e) = self.complete_added(&peer, reinvite, mid).await {
            peer.close().await;
            self.ctx.note(
                None,
                Note::refused(
                    Act::DcUnavailable,
                    e.reason(),
                    format!("the call goes on without m=application mid {mid}: {e}"),
                ),
            );
            return Err(sip_error(format!("re-INVITE data channels: {e}")));
        }
        let peer = Arc::new(peer);
        call.added.push(peer.clone());
        let call_id = sipmsg::first(&call.invite.headers, "Call-ID").unwrap_or_default();
        channels::own(&self.state, call_id, &[&peer]);
        Ok(peer)
    }

    /// A re-INVITE in the call's dialog (CSeq [`Call::cseq`]) carrying the SDP `body`.
    fn reinvite(&self, call: &Call, ok: &Response, body: String) -> Result<Request, String> {
        let mut reinvite = ua::uac_request(&call.invite, ok, Method::Invite, call.cseq)?;
        sipmsg::push(&mut reinvite.headers, "Contact", self.contact());
        sipmsg::push(&mut reinvite.headers, "Content-Type", "application/sdp");
        reinvite.body = body.into_bytes();
        sipmsg::set(
            &mut reinvite.headers,
            "Content-Length",
            reinvite.body.len().to_string(),
        );
        Ok(reinvite)
    }

    /// Sends `reinvite`, and completes `peer` with the section `mid` of its 2xx.
    async fn complete_added(
        &self,
        peer: &Peer,
        reinvite: Request,
        mid: &str,
    ) -> Result<(), AddFailure> {
        let offer = reinvite.body.clone();
        let answer = self
            .reinvite_exchange(reinvite)
            .await
            .map_err(AddFailure::Exchange)?;
        let code = answer.status_code.code();
        if code >= 300 {
            return Err(AddFailure::Rejected(code));
        }
        // The offer was answered: it is the call's session description now.
        let call_id = sipmsg::first(&answer.headers, "Call-ID").unwrap_or_default();
        self.keep_offer(call_id, String::from_utf8_lossy(&offer).into_owned());
        let section = channels::section(&answer, mid).map_err(AddFailure::Dc)?;
        peer.complete(&section).await.map_err(AddFailure::Dc)
    }

    /// Sends a re-INVITE and waits (bounded) for its final answer; ACKs a 2xx.
    async fn reinvite_exchange(&self, reinvite: Request) -> Result<Response, Error> {
        let ep = self.endpoint().clone();
        let mut tx = ep.send_request(reinvite).await?;
        let sent = tx.request().clone();
        let answer = final_response(&mut tx, self.config.wait, "re-INVITE").await?;
        if (200..300).contains(&answer.status_code.code()) {
            let ack = ua::ack_for_2xx(&sent, &answer).map_err(sip_error)?;
            ep.send_stateless(ack).await?;
        }
        Ok(answer)
    }
}
