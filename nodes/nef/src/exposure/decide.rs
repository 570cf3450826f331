//! The NEF's DC exposure decisions (TR 33.790 §6.9.2), pure and in the order it makes them:
//! who the AF is by its client certificate (steps 1–2, mutual TLS); whether the policy (as the
//! HSS/UDM holds it) lets it subscribe to these events or ask for this control, and whether the
//! subscriber consented (§6.9.2.1 step 3, §6.9.2.2 steps 3–4); and what a notification becomes
//! for the AF (§6.9.2.1 step 8).
//!
//! Control checks the AF's rights before the subscriber's consent, so that an AF the policy
//! refuses learns nothing about the subscriber; the NEF's driver makes [`rights`] its first
//! check, before it asks the DCSF anything about the subscriber's data channels. The ownership check of §6.9.2.2 step 3 is made
//! here, at the NEF (NOTE 1, the testbed's choice): the ADC's application (as the DCSF reports
//! it for an ongoing ADC, else the one the request names) or the application to download must
//! be one the AF owns.

use sha2::{Digest as _, Sha256};

use super::Refusal;
use super::refusal::Consented;
use super::wire::{
    AfPolicy, AppInfo, Consent, ControlRequest, EventKind, Notification, Operation,
    SubscribeRequest, Target,
};
use crate::decide::dns_names;

/// How many bytes of the hash a pseudonym keeps (64 bits, 16 hex digits).
const PSEUDONYM_BYTES: usize = 8;

/// What the NEF granted an AF for one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The AF's host.
    pub af: String,
    /// The subscriber.
    pub impu: String,
    /// What it may do.
    pub permission: Permission,
}

/// What a grant allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    /// A subscription to these events (sorted, once each).
    Events {
        /// The events.
        events: Vec<EventKind>,
        /// Whether its notifications are anonymised.
        anonymise: bool,
    },
    /// One control request.
    Control {
        /// The operation.
        operation: Operation,
        /// The data channel.
        target: Target,
        /// The DC application it touches (the ADC's or the one downloaded), if any.
        app: Option<String>,
    },
}

/// Steps 1–2: who the client is, by its TLS client certificate (already verified against the
/// world's CA by the TLS layer): the certificate's first DNS name.
pub fn identify(certificate: Option<&[u8]>) -> Result<String, Refusal> {
    let der = certificate.ok_or(Refusal::NoCertificate)?;
    let names = dns_names(der).map_err(|detail| Refusal::BadCertificate { detail })?;
    names
        .into_iter()
        .next()
        .ok_or_else(|| Refusal::BadCertificate {
            detail: "the certificate names no host".into(),
        })
}

/// Step 2: the AF's entry of the policy the HSS/UDM answered for `host`; an AF the policy does
/// not know is refused.
pub fn known(af: Option<AfPolicy>, host: &str) -> Result<AfPolicy, Refusal> {
    af.ok_or_else(|| Refusal::UnknownAf {
        names: vec![host.to_owned()],
    })
}

/// §6.9.2.1 steps 1 and 8: the AF's `notifyUri` must be an `https` URI of the AF's own host
/// (its certificate's name), so that the NEF never sends a subscriber's events elsewhere.
pub fn notify_uri_of(af: &str, uri: &str) -> Result<(), Refusal> {
    let host = uri
        .strip_prefix("https://")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .map(|authority| authority.rsplit('@').next().unwrap_or(authority))
        .map(|hostport| match hostport.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => hostport,
        });
    match host {
        Some(h) if h.eq_ignore_ascii_case(af) && !uri.contains('@') => Ok(()),
        _ => Err(Refusal::ForeignNotifyUri {
            af: af.to_owned(),
            uri: uri.to_owned(),
        }),
    }
}

/// §6.9.2.1 step 3: a subscription at least one event long, to events the AF may subscribe
/// to, of a subscriber who consented to the exposure of its DC events.
pub fn subscribe(
    af: &AfPolicy,
    consent: &Consent,
    request: &SubscribeRequest,
) -> Result<Grant, Refusal> {
    if request.events.is_empty() {
        return Err(Refusal::NoEvents);
    }
    if let Some(event) = request.events.iter().find(|e| !af.events.contains(e)) {
        return Err(Refusal::EventNotAllowed {
            af: af.host.clone(),
            event: *event,
        });
    }
    consented(consent, &request.impu, Consented::Events)?;
    let mut events = request.events.clone();
    events.sort();
    events.dedup();
    Ok(Grant {
        af: af.host.clone(),
        impu: request.impu.clone(),
        permission: Permission::Events {
            events,
            anonymise: af.anonymise,
        },
    })
}

/// §6.9.2.2 steps 3–4: an operation and a data channel the AF may control; for an ADC or a
/// download, an application it owns (`adc_app`: the application of the ongoing ADC, as the
/// DCSF reports it); and a subscriber who consented to AF control.
pub fn control(
    af: &AfPolicy,
    consent: &Consent,
    request: &ControlRequest,
    adc_app: Option<&str>,
) -> Result<Grant, Refusal> {
    let (operation, target) = (request.operation, request.target);
    allowed(af, request)?;
    let app = owned(af, request, adc_app)?;
    consented(consent, &request.impu, Consented::Control)?;
    Ok(Grant {
        af: af.host.clone(),
        impu: request.impu.clone(),
        permission: Permission::Control {
            operation,
            target,
            app,
        },
    })
}

/// §6.9.2.2 step 4's policy checks, made before step 3: the operation and the kind of data
/// channel are ones the AF may control, and the subscriber consented to AF control. An AF
/// refused here is never told anything about the subscriber's data channels.
pub fn rights(af: &AfPolicy, consent: &Consent, request: &ControlRequest) -> Result<(), Refusal> {
    allowed(af, request)?;
    consented(consent, &request.impu, Consented::Control)
}

/// The operation and the kind of data channel are ones the AF may control.
fn allowed(af: &AfPolicy, request: &ControlRequest) -> Result<(), Refusal> {
    let (operation, target) = (request.operation, request.target);
    if !af.control.contains(&operation) {
        return Err(Refusal::OperationNotAllowed {
            af: af.host.clone(),
            operation,
        });
    }
    if !af.targets.contains(&target) {
        return Err(Refusal::TargetNotAllowed {
            af: af.host.clone(),
            target,
        });
    }
    Ok(())
}

/// §6.9.2.2 step 3 (at the NEF, NOTE 1): the DC application the request touches
/// ([`application`]) is one the AF owns; none for BDC control other than a download.
pub fn owned(
    af: &AfPolicy,
    request: &ControlRequest,
    adc_app: Option<&str>,
) -> Result<Option<String>, Refusal> {
    let app = application(request, adc_app)?;
    if let Some(app) = app.as_deref().filter(|a| !af.owns(a)) {
        return Err(Refusal::NotOwner {
            af: af.host.clone(),
            app: app.to_owned(),
        });
    }
    Ok(app)
}

/// The DC application a control request touches: for a download (over the BDC only) the one
/// it names; for an ADC the ongoing ADC's, else the one it names; none for other BDC control.
pub fn application(
    request: &ControlRequest,
    adc_app: Option<&str>,
) -> Result<Option<String>, Refusal> {
    let (operation, target) = (request.operation, request.target);
    let missing = Refusal::NoApplication { operation, target };
    match (operation, target) {
        (Operation::Download, Target::Adc) => Err(Refusal::DownloadNotOverBdc { target }),
        (Operation::Download, Target::Bdc) => request.app_id.clone().map(Some).ok_or(missing),
        (_, Target::Adc) => adc_app
            .map(str::to_owned)
            .or_else(|| request.app_id.clone())
            .map(Some)
            .ok_or(missing),
        (_, Target::Bdc) => Ok(None),
    }
}

/// Whether `consent` is this subscriber's and allows `to`.
fn consented(consent: &Consent, impu: &str, to: Consented) -> Result<(), Refusal> {
    let allowed = match to {
        Consented::Events => consent.events,
        Consented::Control => consent.control,
    };
    if consent.impu == impu && allowed {
        return Ok(());
    }
    Err(Refusal::NoConsent {
        impu: impu.to_owned(),
        to,
    })
}

/// §6.9.2.1 step 8: the notification as `af` receives it. For an anonymising AF the caller and
/// the callee become [`pseudonym`]s and the application is reduced to its id; for the others it
/// is unchanged.
pub fn anonymise(notification: Notification, af: &AfPolicy) -> Notification {
    if !af.anonymise {
        return notification;
    }
    let hide = |impu: Option<String>| impu.map(|i| pseudonym(&af.host, &i));
    Notification {
        caller: hide(notification.caller),
        callee: hide(notification.callee),
        app: notification.app.map(|a| AppInfo {
            id: a.id,
            name: None,
            url: None,
        }),
        ..notification
    }
}

/// An opaque per-AF pseudonym of a subscriber: `anon-` and the first 16 hex digits of
/// SHA-256(lower-case AF host, a NUL byte, IMPU). Stable for one AF (it can correlate events of
/// the same subscriber), different across AFs (two AFs cannot join their views). Not keyed: an
/// AF that guesses an IMPU can test the guess, which a keyed HMAC would prevent — the testbed's
/// simplification.
pub fn pseudonym(af_host: &str, impu: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(af_host.to_ascii_lowercase().as_bytes());
    hash.update([0]);
    hash.update(impu.as_bytes());
    let hex: String = hash
        .finalize()
        .iter()
        .take(PSEUDONYM_BYTES)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("anon-{hex}")
}

#[cfg(test)]
mod tests;
