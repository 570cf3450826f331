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
            msg,
        }
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
