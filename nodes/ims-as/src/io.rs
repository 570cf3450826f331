//! The AS's HTTP(S) JSON exchanges with other network functions, and [`Io`]: what a [`Flow`]
//! may do while the AS handles one INVITE (ask the HSS, the third party's servers and the NEF,
//! and write trace notes). Nothing here decides anything.
//!
//! [`Flow`]: crate::Flow

use kit::http::{Client, Request as HttpRequest};
use kit::node::Ctx;
use proto::trace::{Act, Note};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::flows::Found;

/// `GET url`: the JSON answer of a 200, `None` for a 404.
pub(crate) async fn get_json<T: DeserializeOwned>(
    client: &Client,
    url: &str,
) -> Result<Option<T>, Error> {
    let response = client.send(HttpRequest::get(url)).await?;
    match response.status {
        200 => decode(url, &response.body).map(Some),
        404 => Ok(None),
        status => Err(Error::Status {
            url: url.to_owned(),
            status,
            body: String::new(),
        }),
    }
}

/// `GET url`: the body of a 200.
pub(crate) async fn get_bytes(client: &Client, url: &str) -> Result<Vec<u8>, Error> {
    let response = client.send(HttpRequest::get(url)).await?;
    if response.status != 200 {
        return Err(Error::Status {
            url: url.to_owned(),
            status: response.status,
            body: String::new(),
        });
    }
    Ok(response.body.to_vec())
}

/// `POST url` with a JSON body: the JSON answer of a 200.
pub(crate) async fn post_json<B: Serialize, T: DeserializeOwned>(
    client: &Client,
    url: &str,
    body: &B,
) -> Result<T, Error> {
    let bytes = serde_json::to_vec(body).map_err(Error::Encode)?;
    let response = client.send(HttpRequest::post_json(url, bytes)).await?;
    if response.status != 200 {
        return Err(Error::Status {
            url: url.to_owned(),
            status: response.status,
            body: String::from_utf8_lossy(&response.body).into_owned(),
        });
    }
    decode(url, &response.body)
}

/// `POST url` with a JSON body, expecting any 2xx.
pub(crate) async fn post<B: Serialize>(client: &Client, url: &str, body: &B) -> Result<(), Error> {
    let bytes = serde_json::to_vec(body).map_err(Error::Encode)?;
    let response = client.send(HttpRequest::post_json(url, bytes)).await?;
    if response.status >= 300 {
        return Err(Error::Status {
            url: url.to_owned(),
            status: response.status,
            body: String::new(),
        });
    }
    Ok(())
}

fn decode<T: DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|source| Error::Decode {
        url: url.to_owned(),
        source,
    })
}

/// Whether a TLS client certificate names `host`.
fn names(certificate: Option<&[u8]>, host: &str) -> bool {
    certificate.is_some_and(|der| {
        kit::tls::dns_names(der).is_ok_and(|n| n.iter().any(|n| n.eq_ignore_ascii_case(host)))
    })
}

/// What the AS lends a flow while it handles one INVITE: its mutual-TLS client, the hosts it
/// knows, its clock and its trace (notes are attached to the INVITE being handled).
#[derive(Debug, Clone, Copy)]
pub struct Io<'a> {
    ctx: &'a Ctx,
    /// Mutual TLS: HSS, 3P ID server, repositories, NEF, MF, and Ms (the STI-AS and STI-VS
    /// serve only their operator's IMS AS).
    mtls: &'a Client,
    hss: Option<&'a str>,
    nef: Option<&'a str>,
    /// The operator's AOS and the STIR service for answers (solution 8).
    avatars: Option<&'a crate::AvatarHosts>,
    /// The AS's SIP endpoint and its dialogs, for requests of its own in a call (solution 7).
    sip: Option<(&'a kit::sip::Endpoint, &'a crate::dialog::Book)>,
    /// The operator's MF.
    mf: Option<&'a str>,
    /// The operator's XR AS (solution 7).
    xr_as: Option<&'a str>,
    /// The operator's DCSF (solution 9).
    dcsf: Option<&'a str>,
    /// The operator's STIR service for this AS's role (the STI-AS originating, the STI-VS
    /// terminating).
    ms: Option<&'a str>,
    msg: u64,
}

impl<'a> Io<'a> {
    /// The AS's means for the INVITE with trace id `msg`.
    pub(crate) fn new(
        ctx: &'a Ctx,
        mtls: &'a Client,
        hss: Option<&'a str>,
        nef: Option<&'a str>,
        msg: u64,
    ) -> Self {
        Self {
            ctx,
            mtls,
            hss,
            nef,
            avatars: None,
            sip: None,
            mf: None,
            xr_as: None,
            dcsf: None,
            ms: None,
            msg,
        }
    }

    /// The same, knowing the operator's XR AS.
    pub(crate) fn with_xr_as(self, xr_as: Option<&'a str>) -> Self {
        Self { xr_as, ..self }
    }

    /// The same, knowing the operator's DCSF (solution 9).
    pub(crate) fn with_dcsf(self, dcsf: Option<&'a str>) -> Self {
        Self { dcsf, ..self }
    }

    /// Whether the AS knows a DCSF to report to (solution 9).
    pub fn has_dcsf(&self) -> bool {
        self.dcsf.is_some()
    }

    /// Whether a TLS client certificate names the operator's DCSF.
    pub fn is_dcsf(&self, certificate: Option<&[u8]>) -> bool {
        self.dcsf.is_some_and(|dcsf| names(certificate, dcsf))
    }

    /// `POST https://{dcsf}{path}` (mutual TLS, bounded by the client's timeout), any 2xx.
    pub async fn dcsf_post<B: Serialize + Sync>(&self, path: &str, body: &B) -> Result<(), Error> {
        let dcsf = self.dcsf.ok_or(Error::Unconfigured { peer: "DCSF" })?;
        post(self.mtls, &format!("https://{dcsf}{path}"), body).await
    }

    /// The same, knowing the operator's STIR service for the AS's role.
    pub(crate) fn with_ms(self, ms: Option<&'a str>) -> Self {
        Self { ms, ..self }
    }

    /// The operator's STIR service for the AS's role, if known.
    pub fn ms_host(&self) -> Option<&'a str> {
        self.ms
    }

    /// Whether a TLS client certificate names the operator's NEF.
    pub fn is_nef(&self, certificate: Option<&[u8]>) -> bool {
        self.nef.is_some_and(|nef| names(certificate, nef))
    }

    /// Whether a TLS client certificate names the operator's XR AS.
    pub fn is_xr_as(&self, certificate: Option<&[u8]>) -> bool {
        self.xr_as.is_some_and(|xr| names(certificate, xr))
    }

    /// Waits (bounded) until what the AS sent without awaiting an answer (an ACK) has landed,
    /// so the trace's order does not depend on timing ([`kit::tap::Tap::landed`]).
    pub async fn landed(&self) {
        self.ctx
            .tap
            .landed(std::time::Duration::from_millis(500))
            .await;
    }

    /// Writes a note about another message (an HTTPS request the AS serves).
    pub fn note_on(&self, msg: Option<u64>, note: Note) {
        self.ctx.note(msg, note);
    }

    /// The same, able to send requests in the AS's dialogs and to reach its MF.
    pub(crate) fn with_sip(
        self,
        ep: &'a kit::sip::Endpoint,
        book: &'a crate::dialog::Book,
        mf: Option<&'a str>,
    ) -> Self {
        Self {
            sip: Some((ep, book)),
            mf,
            ..self
        }
    }

    /// The same, knowing the operator's AOS and answer STIR service.
    pub(crate) fn with_avatars(self, avatars: Option<&'a crate::AvatarHosts>) -> Self {
        Self { avatars, ..self }
    }

    /// The operator's AOS and the STIR service for answers, when the AS has them.
    pub fn avatars(&self) -> Option<&'a crate::AvatarHosts> {
        self.avatars
    }

    /// Writes a note about the INVITE.
    pub fn note(&self, note: Note) {
        self.ctx.note(Some(self.msg), note);
    }

    /// Records a testbed choice acted on for the INVITE.
    pub fn choice(&self, id: &str, text: &str) {
        self.note(Note::choice(id, text));
    }

    /// Notes what a lookup came to as `act` (done, or refused with its reason) and hands back
    /// what was found.
    pub fn conclude<T>(&self, act: Act, found: Found<T>) -> Option<T> {
        match found {
            Ok((value, label)) => {
                self.note(Note::done(act, label));
                Some(value)
            }
            Err(refusal) => {
                self.note(Note::refused(act, refusal.reason, refusal.label));
                None
            }
        }
    }

    /// Seconds since the epoch, from the world's clock.
    pub fn now(&self) -> i64 {
        self.ctx.clock.now()
    }

    /// Whether the AS knows an HSS to ask.
    pub fn has_hss(&self) -> bool {
        self.hss.is_some()
    }

    /// `GET https://{hss}{path}` (mutual TLS): the JSON answer, `None` for a 404.
    pub async fn hss_get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Error> {
        let hss = self.hss.ok_or(Error::Unconfigured { peer: "HSS" })?;
        get_json(self.mtls, &format!("https://{hss}{path}")).await
    }

    /// `GET url` (mutual TLS) on a server the HSS named: the JSON answer, `None` for a 404.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<Option<T>, Error> {
        get_json(self.mtls, url).await
    }

    /// `GET url` (mutual TLS) on a server the HSS named: the body of a 200.
    pub async fn get_bytes(&self, url: &str) -> Result<Vec<u8>, Error> {
        get_bytes(self.mtls, url).await
    }

    /// `POST https://{nef}{path}` (mutual TLS): the JSON answer of a 200.
    pub async fn nef_post<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let nef = self.nef.ok_or(Error::Unconfigured { peer: "NEF" })?;
        post_json(self.mtls, &format!("https://{nef}{path}"), body).await
    }

    /// `POST https://{aos}{path}` (mutual TLS): the JSON answer of a 200.
    pub async fn aos_post<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let aos = self.avatars.ok_or(Error::Unconfigured { peer: "AOS" })?;
        post_json(self.mtls, &format!("https://{}{path}", aos.aos_host), body).await
    }

    /// `POST https://{mf}{path}` (mutual TLS), any 2xx.
    pub async fn mf_post<B: Serialize + Sync>(&self, path: &str, body: &B) -> Result<(), Error> {
        let mf = self.mf.ok_or(Error::Unconfigured { peer: "MF" })?;
        post(self.mtls, &format!("https://{mf}{path}"), body).await
    }

    /// The dialog of `call_id`, as the AS saw it established.
    pub fn dialog(&self, call_id: &str) -> Option<crate::dialog::Dialog> {
        self.sip.and_then(|(_, book)| book.get(call_id))
    }

    /// Sends a request of the AS's own in the dialog of `call_id` to `to` (in the other
    /// party's sequence: [`crate::dialog::Book::take`]), waits at most `wait` for its final
    /// answer and ACKs a 2xx to an INVITE. The final answer.
    pub async fn send_in_dialog(
        &self,
        call_id: &str,
        to: crate::dialog::Toward,
        method: &str,
        headers: &[(&str, String)],
        body: &str,
        wait: std::time::Duration,
    ) -> Result<proto::sip::Response, Error> {
        use crate::dialog::Toward;
        let (ep, book) = self.sip.ok_or(Error::Unconfigured { peer: "SIP" })?;
        let dialog = book
            .get(call_id)
            .ok_or(Error::Unconfigured { peer: "dialog" })?;
        let sender = match to {
            Toward::Callee => Toward::Caller,
            Toward::Caller => Toward::Callee,
        };
        let cseq = book.take(call_id, sender);
        let request =
            dialog
                .request(to, method, cseq, headers, body)
                .ok_or(Error::Unconfigured {
                    peer: "in-dialog request",
                })?;
        let mut tx = ep.send_request(request).await?;
        let answer = tokio::time::timeout(wait, async {
            while let Some(r) = tx.next_response().await {
                if r.status_code.code() >= 200 {
                    return Some(r);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or(Error::Transport(kit::Error::Timeout {
            ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        }))?;
        if method == "INVITE" && (200..300).contains(&answer.status_code.code()) {
            let ack = dialog
                .request(to, "ACK", cseq, &[], "")
                .ok_or(Error::Unconfigured { peer: "ACK" })?;
            ep.send_stateless(ack).await?;
        }
        Ok(answer)
    }

    /// `POST https://{host}{path}` on the STI-AS or STI-VS (Ms, mutual TLS).
    pub(crate) async fn ms_post<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        host: &str,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        post_json(self.mtls, &format!("https://{host}{path}"), body).await
    }
}
