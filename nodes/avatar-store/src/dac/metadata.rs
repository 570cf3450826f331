//! The DAC's decisions for the avatar metadata of solution #7 (TR 33.790 §6.7.2.1 steps 8–9),
//! without I/O: which avatar a `GET /dac/v1/metadata/{avatar_id}` is for, whether the access
//! token the NEF granted vouches for it (signature with the pre-configured NEF certificate,
//! audience this DAC, expiry, scope and Avatar ID, and its subject is the TLS client when one is
//! identified), and the metadata signed in answer.

use avatar::Avatar;
use avatar::access_token::{self, AccessClaims};
use avatar::metadata::{self, Metadata};
use avatar::wire::METADATA_PATH_PREFIX;
use p256::ecdsa::SigningKey;
use proto::wire::avatar::unpct;

use crate::owners::OwnerKeys;
use crate::refusal::{Refusal, TargetFault};

/// Where a request under the metadata prefix goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataRoute {
    /// The metadata of this Avatar ID (percent-decoded), or why the target is unusable.
    Metadata(Result<String, Refusal>),
    /// Asked with another method than `GET` (405).
    WrongMethod,
}

/// Routes a request by method and target; `None` when the target is not a metadata resource.
pub fn route(method: &str, target: &str) -> Option<MetadataRoute> {
    let path = target.split('?').next().unwrap_or_default();
    let segment = path.strip_prefix(METADATA_PATH_PREFIX)?;
    if segment.is_empty() || segment.contains('/') {
        return None;
    }
    if method != "GET" {
        return Some(MetadataRoute::WrongMethod);
    }
    Some(MetadataRoute::Metadata(unpct(segment).ok_or(
        Refusal::BadTarget {
            fault: TargetFault::BadEscape,
        },
    )))
}

/// What the DAC checks a metadata request against.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The NEF's certificate (DER), pre-configured.
    pub nef_cert: &'a [u8],
    /// This DAC's host: the audience a token must name.
    pub dac_host: &'a str,
    /// The Avatar ID requested.
    pub avatar_id: &'a str,
    /// The DNS names of the TLS client's certificate, when it presented one.
    pub client: Option<&'a [String]>,
    /// The DAC's time.
    pub now: i64,
}

/// A metadata request the DAC serves: the avatar and the token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted<'a> {
    /// The avatar.
    pub avatar: &'a Avatar,
    /// The access token's claims.
    pub claims: AccessClaims,
}

/// Step 9: the access token validated (`avatar::access_token::validate`): a token that does not
/// hold ([`Refusal::InvalidToken`], 401), one for another avatar or without the read scope
/// ([`Refusal::InsufficientScope`], 403); its `sub` is the TLS client when the client presented
/// a certificate ([`Refusal::TokenNotForClient`], 401); then the avatar (404 NoRecord).
pub fn decide<'a>(
    keys: &'a OwnerKeys,
    token: &str,
    expect: &Expect<'_>,
) -> Result<Granted<'a>, Refusal> {
    let claims = access_token::validate(
        token,
        expect.nef_cert,
        expect.dac_host,
        expect.avatar_id,
        expect.now,
    )
    .map_err(token_refusal)?;
    if let Some(names) = expect.client
        && !names.contains(&claims.sub)
    {
        return Err(Refusal::TokenNotForClient {
            sub: claims.sub,
            names: names.to_vec(),
        });
    }
    let avatar = keys.catalogue().find(expect.avatar_id)?;
    Ok(Granted { avatar, claims })
}

/// A token for another avatar or without the read scope is insufficient (RFC 6750 §3.1:
/// `insufficient_scope`); any other failure makes it an invalid token.
fn token_refusal(e: avatar::Error) -> Refusal {
    match e {
        avatar::Error::ScopeMissing { .. } | avatar::Error::OtherAvatar { .. } => {
            Refusal::InsufficientScope(e)
        }
        e => Refusal::InvalidToken(e),
    }
}

/// The metadata of the granted avatar signed by the DAC (`iss` its host) at `now`, valid for
/// `lifetime` seconds (negative: already expired, the testbed's "expired metadata" variant).
pub fn sign(
    granted: &Granted<'_>,
    signer: &(SigningKey, Vec<u8>),
    dac_host: &str,
    now: i64,
    lifetime: i64,
) -> Result<String, Refusal> {
    let m = Metadata::of(granted.avatar, dac_host, now, lifetime);
    metadata::sign(&m, &signer.0, &signer.1).map_err(|source| Refusal::Signing { source })
}

/// The label of the `VerifyAvatarToken` note for a token that holds.
pub fn granted_label(g: &Granted<'_>) -> String {
    format!(
        "access token for {} validated with the NEF's certificate: client {}, app {}, UE {}, scope {}, expires {}",
        g.avatar.id, g.claims.sub, g.claims.app_id, g.claims.impu, g.claims.scope, g.claims.exp
    )
}

/// The label of the refused `VerifyAvatarToken` note.
pub fn refused_label(avatar_id: Option<&str>, refusal: &Refusal) -> String {
    match avatar_id {
        Some(id) => format!("refuse metadata request for {id}: {refusal}"),
        None => format!("refuse metadata request: {refusal}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{NOW, XR_AS, keys, read};
    use avatar::access_token::{LIFETIME, SCOPE_READ};
    use proto::trace::Reason;

    const DAC: &str = "dac.avatars.example";
    const NEF: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";

    fn tls(host: &str) -> (SigningKey, Vec<u8>) {
        let key = avatar::keys::signing_key_pem(&read(&format!("pki/tls/{host}.key.pem"))).unwrap();
        let der = avatar::cert::der_from_pem(&read(&format!("pki/tls/{host}.pem"))).unwrap();
        (key, der)
    }

    fn claims(avatar_id: &str) -> AccessClaims {
        AccessClaims {
            iss: NEF.into(),
            sub: XR_AS.into(),
            aud: DAC.into(),
            scope: SCOPE_READ.into(),
            avatar_id: avatar_id.into(),
            app_id: "avatar-call".into(),
            impu: crate::testing::UE_A.into(),
            iat: NOW,
            exp: NOW + LIFETIME,
            jti: "at-1".into(),
        }
    }

    fn token(c: &AccessClaims) -> String {
        let (key, der) = tls(NEF);
        access_token::issue(c, &key, &der).unwrap()
    }

    fn run(
        token: &str,
        avatar_id: &str,
        client: Option<&[String]>,
        now: i64,
    ) -> Result<String, Refusal> {
        let keys = keys();
        let nef = tls(NEF).1;
        let expect = Expect {
            nef_cert: &nef,
            dac_host: DAC,
            avatar_id,
            client,
            now,
        };
        decide(&keys, token, &expect).map(|g| g.avatar.id.clone())
    }

    #[test]
    fn routes() {
        let m = |t: &str| route("GET", t);
        assert_eq!(
            m("/dac/v1/metadata/qbranch-agent"),
            Some(MetadataRoute::Metadata(Ok("qbranch-agent".into())))
        );
        assert_eq!(
            m("/dac/v1/metadata/q%20cat?x=1"),
            Some(MetadataRoute::Metadata(Ok("q cat".into())))
        );
        assert!(matches!(
            m("/dac/v1/metadata/%zz"),
            Some(MetadataRoute::Metadata(Err(Refusal::BadTarget { .. })))
        ));
        assert_eq!(m("/dac/v1/metadata/"), None);
        assert_eq!(m("/dac/v1/metadata/a/b"), None);
        assert_eq!(m("/dac/v1/objects"), None);
        assert_eq!(
            route("POST", "/dac/v1/metadata/owl"),
            Some(MetadataRoute::WrongMethod)
        );
    }

    /// A token, the Avatar ID requested, the client's names, the time, and the status and
    /// reason of the refusal.
    type Case<'a> = (&'a str, &'a str, Option<&'a [String]>, i64, u16, Reason);

    /// Each outcome of the decision: status and reason.
    #[test]
    fn the_decision_table() {
        let good = token(&claims("qbranch-agent"));
        let xr_as = [XR_AS.to_owned()];
        let mf = ["mf.ims.mnc001.mcc001.3gppnetwork.org".to_owned()];
        assert_eq!(
            run(&good, "qbranch-agent", Some(&xr_as), NOW).unwrap(),
            "qbranch-agent"
        );
        assert_eq!(
            run(&good, "qbranch-agent", None, NOW).unwrap(),
            "qbranch-agent"
        );
        let (dac_key, _) = tls(DAC);
        let forged = access_token::issue(&claims("qbranch-agent"), &dac_key, &tls(NEF).1).unwrap();
        let unknown = token(&claims("dragon"));
        let cases: [Case<'_>; 6] = [
            (&good, "owl", None, NOW, 403, Reason::NotAuthorised),
            (
                &good,
                "qbranch-agent",
                None,
                NOW + LIFETIME + 1,
                401,
                Reason::Expired,
            ),
            (
                &good,
                "qbranch-agent",
                Some(&mf),
                NOW,
                401,
                Reason::NotAuthorised,
            ),
            (
                &forged,
                "qbranch-agent",
                None,
                NOW,
                401,
                Reason::SignatureInvalid,
            ),
            ("junk", "qbranch-agent", None, NOW, 401, Reason::Malformed),
            (&unknown, "dragon", None, NOW, 404, Reason::NoRecord),
        ];
        for (token, id, client, now, status, reason) in cases {
            let e = run(token, id, client, now).unwrap_err();
            assert_eq!((e.status(), e.reason()), (status, reason), "{e}");
        }
        let other_dac = AccessClaims {
            aud: "bar.avatars.example".into(),
            ..claims("qbranch-agent")
        };
        let e = run(&token(&other_dac), "qbranch-agent", None, NOW).unwrap_err();
        assert!(
            matches!(
                e,
                Refusal::InvalidToken(avatar::Error::WrongAudience { .. })
            ),
            "{e}"
        );
    }

    #[test]
    fn signed_metadata_verifies_and_may_be_made_expired() {
        let keys = keys();
        let granted = Granted {
            avatar: keys.catalogue().find("owl").unwrap(),
            claims: claims("owl"),
        };
        let signer = tls(DAC);
        let jws = sign(&granted, &signer, DAC, NOW, 600).unwrap();
        let m = avatar::metadata::verify(&jws, &signer.1, "owl", NOW + 600).unwrap();
        assert_eq!((m.iss.as_str(), m.exp), (DAC, NOW + 600));
        let expired = sign(&granted, &signer, DAC, NOW, -1).unwrap();
        let e = avatar::metadata::verify(&expired, &signer.1, "owl", NOW).unwrap_err();
        assert_eq!(e.reason(), Reason::Expired);
        assert!(granted_label(&granted).contains(XR_AS));
    }
}
