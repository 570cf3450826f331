//! The AOS's decisions, without I/O (TR 33.790 §6.8.2 steps 2, 12 and 21): which resource a
//! request is for, whether the client of a lookup is the operator's IMS AS, whether a subscriber
//! may use avatars and which avatar it appears as in a call, and whether a UE's fetch proof
//! holds.

use avatar::aos_request::{self, Claims, Expected};
use proto::wire::avatar::{
    AOS_LOOKUP_PATH, AOS_OBJECT_PREFIX, AvatarData, AvatarLookup, pct, unpct,
};

use crate::aos::AosConfig;
use crate::aos::records::{Object, Objects, Policy, Subscriber};
use crate::aos::tuples::{Tuple, Tuples};
use crate::directory::UeKeys;
use crate::refusal::{Refusal, TargetFault};

/// An object fetch: `GET /aos/v1/objects/{avatar_id}?call={call_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRequest {
    /// The Avatar ID of the path.
    pub avatar_id: String,
    /// The call of the query.
    pub call_id: String,
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /aos/v1/lookups` (the IMS AS, steps 2 and 12).
    Lookup,
    /// An object resource, its target read (or why it cannot be) (a UE, step 21).
    Object(Result<ObjectRequest, Refusal>),
    /// A resource asked with another method than the one it takes (405, `Allow: allow`).
    WrongMethod {
        /// The method it takes.
        allow: &'static str,
    },
    /// No such resource (404).
    NotFound,
}

/// Routes a request by its method and target (path and query).
pub fn route(method: &str, target: &str) -> Route {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == AOS_LOOKUP_PATH {
        return if method == "POST" {
            Route::Lookup
        } else {
            Route::WrongMethod { allow: "POST" }
        };
    }
    let Some(segment) = path.strip_prefix(AOS_OBJECT_PREFIX) else {
        return Route::NotFound;
    };
    if segment.is_empty() || segment.contains('/') {
        return Route::NotFound;
    }
    if method != "GET" {
        return Route::WrongMethod { allow: "GET" };
    }
    Route::Object(object_request(segment, query))
}

/// The Avatar ID of the path segment and the `call` of the query, percent-decoded.
fn object_request(segment: &str, query: &str) -> Result<ObjectRequest, Refusal> {
    let bad = |fault| Refusal::BadTarget { fault };
    let avatar_id = unpct(segment).ok_or(bad(TargetFault::BadEscape))?;
    let call = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("call="))
        .filter(|value| !value.is_empty())
        .ok_or(bad(TargetFault::NoCall))?;
    let call_id = unpct(call).ok_or(bad(TargetFault::BadEscape))?;
    Ok(ObjectRequest { avatar_id, call_id })
}

/// The object URL of `avatar_id` at the AOS `host`, as [`AvatarData::object_url`] carries it.
pub fn object_url(host: &str, avatar_id: &str) -> String {
    format!("https://{host}{AOS_OBJECT_PREFIX}{}", pct(avatar_id))
}

/// The lookup's client: the name of its verified TLS client certificate that is one of
/// `as_hosts` (the operator's IMS AS). Refused: no certificate, or one naming no host
/// ([`Refusal::NoClientIdentity`]), or naming none of `as_hosts` ([`Refusal::NotAnAs`]); both
/// NotAuthorised.
pub fn as_client(certificate: Option<&[u8]>, as_hosts: &[String]) -> Result<String, Refusal> {
    let names = crate::dac::decide::requester_names(certificate)?;
    names
        .iter()
        .find(|n| as_hosts.iter().any(|h| h.eq_ignore_ascii_case(n)))
        .cloned()
        .ok_or(Refusal::NotAnAs { names })
}

/// A reader of objects for `rcdi`: the name of the verified TLS client certificate that is one
/// of `signers` (a STIR signer or verifier), if any.
pub fn signer(certificate: Option<&[u8]>, signers: &[String]) -> Option<String> {
    let names = crate::dac::decide::requester_names(certificate).ok()?;
    names
        .into_iter()
        .find(|n| signers.iter().any(|h| h.eq_ignore_ascii_case(n)))
}

/// The Avatar ID of an object target (`/aos/v1/objects/{avatar_id}`, any query ignored).
pub fn object_id(target: &str) -> Option<String> {
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let segment = path.strip_prefix(AOS_OBJECT_PREFIX)?;
    (!segment.is_empty() && !segment.contains('/'))
        .then(|| unpct(segment))
        .flatten()
}

/// The body of `POST /aos/v1/lookups`.
pub fn lookup_body(body: &[u8]) -> Result<AvatarLookup, Refusal> {
    serde_json::from_slice(body).map_err(|e| Refusal::BadBody {
        detail: e.to_string(),
    })
}

/// The host part of a SIP or SIPS URI (`sip:+12025551000@ims.example;user=phone` →
/// `ims.example`), without port or parameters.
pub fn domain_of(impu: &str) -> Option<&str> {
    let (_, rest) = impu.rsplit_once('@')?;
    rest.split([';', ':', '>', '?'])
        .next()
        .filter(|h| !h.is_empty())
}

/// A lookup granted: the subscriber, the avatar it appears as, the answer and the call's tuple
/// to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorised<'a> {
    /// The subscriber's record.
    pub subscriber: &'a Subscriber,
    /// Its avatar object.
    pub object: &'a Object,
    /// Whether it is the subscriber's default (no Avatar ID named, NOTE 1).
    pub default: bool,
    /// The answer to the IMS AS.
    pub data: AvatarData,
    /// The tuple that lets the other party fetch the object (step 21).
    pub tuple: Tuple,
}

/// Steps 2 and 12, in this order: the IMPU is a subscriber of this AOS's domain with a record
/// ([`Refusal::NotSubscriber`], NoRecord); authorised to use avatars
/// ([`Refusal::AvatarsNotAllowed`], NotEntitled); with at least one avatar object
/// ([`Refusal::NoAvatarObject`], NoRecord); the Avatar ID named is one of them
/// ([`Refusal::NotSubscribersAvatar`], ClaimMismatch), or, none named, the first is the
/// default (NOTE 1).
///
/// NOTE 2 leaves a mismatch between the Avatar ID the UE named and the AOS's data to local
/// policy. The testbed's policy: refuse, and the call goes on without an avatar (never
/// substitute the default for an avatar the UE did not own).
pub fn lookup<'a>(
    config: &'a AosConfig,
    host: &str,
    request: &AvatarLookup,
) -> Result<Authorised<'a>, Refusal> {
    let impu = || request.impu.clone();
    let subscriber = domain_of(&request.impu)
        .filter(|d| d.eq_ignore_ascii_case(&config.domain))
        .and_then(|_| config.subscribers.get(&request.impu))
        .ok_or_else(|| Refusal::NotSubscriber { impu: impu() })?;
    if !subscriber.avatars {
        return Err(Refusal::AvatarsNotAllowed { impu: impu() });
    }
    let object = choose(&config.objects, request)?;
    let avatar_id = object.avatar.id.clone();
    Ok(Authorised {
        subscriber,
        object,
        default: request.avatar_id.is_none(),
        data: AvatarData {
            avatar_id: avatar_id.clone(),
            name: object.avatar.name.clone(),
            object_url: object_url(host, &avatar_id),
            digest: object.digest.clone(),
            policy: subscriber.policy.as_str().to_owned(),
        },
        tuple: Tuple {
            call_id: request.call_id.clone(),
            owner_impu: request.impu.clone(),
            peer_impu: request.peer_impu.clone(),
            avatar_id,
            policy: subscriber.policy,
            fetches: 0,
        },
    })
}

/// The subscriber's avatar object named by the lookup, or its first (the default).
fn choose<'a>(objects: &'a Objects, request: &AvatarLookup) -> Result<&'a Object, Refusal> {
    let own = objects.of_owner(&request.impu);
    let Some(first) = own.first() else {
        return Err(Refusal::NoAvatarObject {
            impu: request.impu.clone(),
        });
    };
    match &request.avatar_id {
        None => Ok(first),
        Some(id) => own
            .iter()
            .find(|o| o.avatar.id == *id)
            .copied()
            .ok_or_else(|| Refusal::NotSubscribersAvatar {
                impu: request.impu.clone(),
                avatar_id: id.clone(),
            }),
    }
}

/// Step 21, the proof: decoded to find the UE certificate naming its `sub`
/// ([`Refusal::UnknownUe`], CertificateInvalid), then verified with that certificate's key for
/// the request at `now` (`avatar::aos_request::verify`: Malformed, SignatureInvalid,
/// ClaimMismatch, Expired).
pub fn verify_proof(
    keys: &UeKeys,
    request: &ObjectRequest,
    proof: &str,
    now: i64,
) -> Result<Claims, Refusal> {
    let unverified = aos_request::unverified_claims(proof)?;
    let ue = keys.naming(&unverified.sub)?;
    let expected = Expected {
        avatar_id: &request.avatar_id,
        call_id: &request.call_id,
        now,
    };
    Ok(aos_request::verify(proof, &ue.key, &expected)?)
}

/// A fetch served: the object and the tuple after the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served<'a> {
    /// The object.
    pub object: &'a Object,
    /// The tuple, its count including this fetch.
    pub tuple: Tuple,
}

/// Step 21, the authorisation of a verified proof: the call's tuple for its avatar and `sub`,
/// within its policy (`Tuples::fetch`: NotAuthorised, Replayed); the fetch is counted.
pub fn fetch<'a>(
    objects: &'a Objects,
    tuples: &mut Tuples,
    claims: &Claims,
) -> Result<Served<'a>, Refusal> {
    let tuple = tuples.fetch(&claims.call_id, &claims.avatar_id, &claims.sub)?;
    let object = objects
        .get(&claims.avatar_id)
        .ok_or_else(|| avatar::Error::UnknownAvatar {
            id: claims.avatar_id.clone(),
        })?;
    Ok(Served { object, tuple })
}

/// The label of the `AuthorizeAvatar` note for a granted lookup.
pub fn authorised_label(a: &Authorised<'_>) -> String {
    let which = if a.default { " (its default)" } else { "" };
    format!(
        "authorise {} to use avatar {}{which} ({}) in call {}: {} may fetch it, policy {}",
        a.tuple.owner_impu,
        a.data.avatar_id,
        a.data.name,
        a.tuple.call_id,
        a.tuple.peer_impu,
        a.tuple.policy
    )
}

/// The label of the refused `AuthorizeAvatar` note.
pub fn refused_lookup_label(request: Option<&AvatarLookup>, refusal: &Refusal) -> String {
    match request {
        Some(r) => format!("refuse avatar lookup for {}: {refusal}", r.impu),
        None => format!("refuse avatar lookup: {refusal}"),
    }
}

/// The label of the `ServeAvatarObject` note: to whom, which avatar, fetch n of the policy.
pub fn served_label(s: &Served<'_>) -> String {
    let t = &s.tuple;
    let of = match t.policy {
        Policy::Once => "of 1 (policy once)".to_owned(),
        Policy::Repeat => "(policy repeat)".to_owned(),
    };
    format!(
        "serve avatar object {} of {} to {} in call {}: fetch {} {of}",
        t.avatar_id, t.owner_impu, t.peer_impu, t.call_id, t.fetches
    )
}

/// The label of the refused `ServeAvatarObject` note.
pub fn refused_fetch_label(request: Option<&ObjectRequest>, refusal: &Refusal) -> String {
    match request {
        Some(r) => format!("refuse avatar object {}: {refusal}", r.avatar_id),
        None => format!("refuse avatar object request: {refusal}"),
    }
}

#[cfg(test)]
mod tests;
