//! PASSporT (RFC 8225) with the SHAKEN extension (RFC 8588), Rich Call Data (RFC 9795) and the
//! testbed's signed Avatar-id (`ppt` `avatar`, TR 33.790 §6.7.2.1 NOTE 2, [`crate::avatar`]):
//! the JOSE header, the claims, building and signing, and decoding a compact token *without*
//! trusting it (verification is [`crate::verify`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::avatar::{self, AvatarClaim};
use crate::jose::{self, CompactJws, Part};
use crate::rcd::Rcd;
use crate::{Error, JsonFault};

/// `typ` of every PASSporT (RFC 8225 §4.1).
pub const TYP: &str = "passport";
/// The only algorithm SHAKEN allows (RFC 8588 §3).
pub const ES256: &str = "ES256";

/// PASSporT extension type (`ppt`), RFC 8225 §8.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ppt {
    /// RFC 8588: SHAKEN attestation.
    Shaken,
    /// RFC 9795: Rich Call Data.
    Rcd,
    /// RFC 8946: diversion. Decoded and verified like the others; no solution signs one yet.
    Div,
    /// The signed Avatar-id (TR 33.790 §6.7.2.1 NOTE 2; testbed choice `7-signed-avatar-id`):
    /// carries the `avatar` claim.
    Avatar,
}

impl Ppt {
    /// The `ppt` value as written (`shaken`, `rcd`, `div`, `avatar`).
    pub fn as_str(self) -> &'static str {
        match self {
            Ppt::Shaken => "shaken",
            Ppt::Rcd => "rcd",
            Ppt::Div => "div",
            Ppt::Avatar => "avatar",
        }
    }
}

impl fmt::Display for Ppt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ppt {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "shaken" => Ok(Ppt::Shaken),
            "rcd" => Ok(Ppt::Rcd),
            "div" => Ok(Ppt::Div),
            "avatar" => Ok(Ppt::Avatar),
            other => Err(Error::UnsupportedPpt {
                ppt: other.to_owned(),
            }),
        }
    }
}

/// SHAKEN attestation level (RFC 8588 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Attest {
    /// Full: the signer knows the customer and that they may use the number.
    A,
    /// Partial: the signer knows the customer but not their right to the number.
    B,
    /// Gateway: the signer only knows where the call entered its network.
    C,
}

impl fmt::Display for Attest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Attest::A => "A",
            Attest::B => "B",
            Attest::C => "C",
        })
    }
}

/// The JOSE header of a PASSporT (RFC 8225 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Signature algorithm (`ES256`, RFC 8225 §4.2).
    pub alg: String,
    /// Extension type (RFC 8225 §8.1); absent for a base PASSporT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppt: Option<String>,
    /// `passport` (RFC 8225 §4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Where the signer's certificate is (RFC 8225 §4.3).
    pub x5u: String,
}

impl Header {
    /// An ES256 `passport` header with this `ppt` and `x5u`.
    pub fn new(ppt: Option<Ppt>, x5u: impl Into<String>) -> Self {
        Self {
            alg: ES256.into(),
            ppt: ppt.map(|p| p.as_str().into()),
            typ: Some(TYP.into()),
            x5u: x5u.into(),
        }
    }
}

/// Originating identity (RFC 8225 §5.2.1): exactly one of a telephone number or a URI.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Orig {
    /// A telephone number, canonical form (RFC 8224 §8.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tn: Option<String>,
    /// A URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Orig {
    /// The caller is a telephone number (canonicalised).
    pub fn tn(tn: &str) -> Self {
        Self {
            tn: Some(canonical_tn(tn)),
            uri: None,
        }
    }

    /// The caller is a URI.
    pub fn uri(uri: impl Into<String>) -> Self {
        Self {
            tn: None,
            uri: Some(uri.into()),
        }
    }
}

/// Destination identities (RFC 8225 §5.2.1): arrays of telephone numbers and/or URIs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Dest {
    /// Telephone numbers, canonical form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tn: Option<Vec<String>>,
    /// URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<Vec<String>>,
}

impl Dest {
    /// One telephone number (canonicalised).
    pub fn tn(tn: &str) -> Self {
        Self {
            tn: Some(vec![canonical_tn(tn)]),
            uri: None,
        }
    }

    /// One URI.
    pub fn uri(uri: impl Into<String>) -> Self {
        Self {
            tn: None,
            uri: Some(vec![uri.into()]),
        }
    }
}

/// PASSporT claims: the base set (RFC 8225), SHAKEN's (RFC 8588), RCD's (RFC 9795) and the
/// signed Avatar-id's (`avatar`).
/// Claims this crate does not model are kept in `other`, so they are signed and shown as they came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// SHAKEN attestation level (RFC 8588 §4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attest: Option<Attest>,
    /// The signed Avatar-id (TR 33.790 §6.7.2.1 NOTE 2; testbed choice `7-signed-avatar-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<AvatarClaim>,
    /// RFC 9795 §6.3 call reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crn: Option<String>,
    /// The callee(s) (RFC 8225 §5.2.1).
    pub dest: Dest,
    /// Issued-at, seconds since the epoch. RFC 8588 erratum 6656: a number, never a string.
    pub iat: i64,
    /// The caller (RFC 8225 §5.2.1).
    pub orig: Orig,
    /// Origination identifier, a UUID (RFC 8588 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origid: Option<String>,
    /// Rich Call Data (RFC 9795 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcd: Option<Rcd>,
    /// RFC 9795 §6.2.2: JSON pointer (into `rcd`) → SRI digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcdi: Option<BTreeMap<String, String>>,
    /// Every other claim, as carried.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl Claims {
    /// Minimal claims: who, to whom, when.
    pub fn new(orig: Orig, dest: Dest, iat: i64) -> Self {
        Self {
            attest: None,
            avatar: None,
            crn: None,
            dest,
            iat,
            orig,
            origid: None,
            rcd: None,
            rcdi: None,
            other: BTreeMap::new(),
        }
    }
}

/// A PASSporT: header and claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Passport {
    /// The JOSE header.
    pub header: Header,
    /// The claims.
    pub claims: Claims,
}

impl Passport {
    /// A SHAKEN PASSporT (RFC 8588 §5): `attest` and `origid` are mandatory.
    pub fn shaken(
        x5u: &str,
        attest: Attest,
        orig: Orig,
        dest: Dest,
        iat: i64,
        origid: &str,
    ) -> Self {
        let mut claims = Claims::new(orig, dest, iat);
        claims.attest = Some(attest);
        claims.origid = Some(origid.to_owned());
        Self {
            header: Header::new(Some(Ppt::Shaken), x5u),
            claims,
        }
    }

    /// An RCD PASSporT (RFC 9795 §5) carrying `rcd`, and `rcdi` when integrity is wanted.
    pub fn rcd(
        x5u: &str,
        orig: Orig,
        dest: Dest,
        iat: i64,
        rcd: Rcd,
        rcdi: Option<BTreeMap<String, String>>,
    ) -> Self {
        let mut claims = Claims::new(orig, dest, iat);
        claims.rcd = Some(rcd);
        claims.rcdi = rcdi;
        Self {
            header: Header::new(Some(Ppt::Rcd), x5u),
            claims,
        }
    }

    /// An avatar PASSporT (testbed choice `7-signed-avatar-id`): the signed Avatar-id of TR
    /// 33.790 §6.7.2.1 step 3, over the caller, the callee and the `avatar` claim.
    pub fn avatar(x5u: &str, orig: Orig, dest: Dest, iat: i64, avatar: AvatarClaim) -> Self {
        let mut claims = Claims::new(orig, dest, iat);
        claims.avatar = Some(avatar);
        Self {
            header: Header::new(Some(Ppt::Avatar), x5u),
            claims,
        }
    }

    /// The extension type the header declares, if it is one this crate knows.
    pub fn ppt(&self) -> Result<Option<Ppt>, Error> {
        self.header.ppt.as_deref().map(str::parse).transpose()
    }

    /// Canonical header and payload bytes (RFC 8225 §9), as signed.
    pub fn canonical(&self) -> Result<(Vec<u8>, Vec<u8>), Error> {
        Ok((
            jose::canonical_json(&self.header)?,
            jose::canonical_json(&self.claims)?,
        ))
    }

    /// Signs with ES256 and returns the compact JWS.
    pub fn sign(&self, key: &SigningKey) -> Result<String, Error> {
        let (header, payload) = self.canonical()?;
        Ok(jose::sign_es256(key, &header, &payload))
    }
}

/// A token taken apart but not yet trusted: the parsed PASSporT plus the exact JSON that was
/// carried (shown by the dashboard as it came, including members this crate does not model).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The parsed token.
    pub passport: Passport,
    /// The JOSE header exactly as carried.
    pub header_json: Value,
    /// The claims exactly as carried.
    pub claims_json: Value,
}

/// Decodes a compact PASSporT. Fails with a 438-class error on any malformed part; a string
/// `iat` (the RFC 8588 erratum) is such a failure, and so is an `avatar` claim that is not
/// well-formed ([`Error::MalformedAvatar`]).
pub fn decode(token: &str) -> Result<Decoded, Error> {
    let jws = CompactJws::split(token)?;
    let header_json = json_part(&jws, Part::Header)?;
    let claims_json = json_part(&jws, Part::Payload)?;
    avatar::from_claims(&claims_json)?;
    let header: Header =
        serde_json::from_value(header_json.clone()).map_err(|e| Error::MalformedJson {
            part: Part::Header,
            fault: JsonFault::Shape(e.to_string()),
        })?;
    let claims: Claims =
        serde_json::from_value(claims_json.clone()).map_err(|e| Error::MalformedJson {
            part: Part::Payload,
            fault: JsonFault::Shape(e.to_string()),
        })?;
    Ok(Decoded {
        passport: Passport { header, claims },
        header_json,
        claims_json,
    })
}

fn json_part(jws: &CompactJws<'_>, part: Part) -> Result<Value, Error> {
    let text = match part {
        Part::Header => jws.header,
        _ => jws.payload,
    };
    let bytes = jose::b64u_decode(text, part)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| Error::MalformedJson {
        part,
        fault: JsonFault::Syntax(e.to_string()),
    })?;
    if !value.is_object() {
        return Err(Error::MalformedJson {
            part,
            fault: JsonFault::NotAnObject,
        });
    }
    Ok(value)
}

/// Canonical telephone number form (RFC 8224 §8.3): digits only, no `+`, no visual separators.
pub fn canonical_tn(tn: &str) -> String {
    tn.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn canonical_tn_strips_plus_and_separators() {
        assert_eq!(canonical_tn("+1 (202) 555-1000"), "12025551000");
    }

    #[test]
    fn unknown_ppt_is_unsupported() {
        assert!(matches!(
            "rph".parse::<Ppt>(),
            Err(Error::UnsupportedPpt { .. })
        ));
        assert_eq!("rcd".parse::<Ppt>().unwrap(), Ppt::Rcd);
        assert_eq!("avatar".parse::<Ppt>().unwrap(), Ppt::Avatar);
        assert_eq!(Ppt::Avatar.to_string(), "avatar");
    }

    #[test]
    fn avatar_claims_serialise_in_canonical_order() {
        let p = Passport::avatar(
            "https://cr/x.pem",
            Orig::tn("+12025551000"),
            Dest::tn("+12155551001"),
            1,
            AvatarClaim::new("owl", "avatar-call", "sip:+12025551000@ims.example"),
        );
        let (header, payload) = p.canonical().unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            r#"{"alg":"ES256","ppt":"avatar","typ":"passport","x5u":"https://cr/x.pem"}"#
        );
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            concat!(
                r#"{"avatar":{"app":"avatar-call","id":"owl","impu":"sip:+12025551000@ims.example"},"#,
                r#""dest":{"tn":["12155551001"]},"iat":1,"orig":{"tn":"12025551000"}}"#
            )
        );
    }

    #[test]
    fn unknown_claims_round_trip() {
        let json = r#"{"dest":{"tn":["1"]},"iat":1,"iss":"Disney, Inc.","orig":{"tn":"2"}}"#;
        let claims: Claims = serde_json::from_str(json).unwrap();
        assert_eq!(claims.other["iss"], "Disney, Inc.");
        assert_eq!(jose::canonical_json(&claims).unwrap(), json.as_bytes());
    }

    #[test]
    fn non_object_payload_is_malformed() {
        let token = format!(
            "{}.{}.AA",
            jose::b64u(br#"{"alg":"ES256"}"#),
            jose::b64u(b"[1]")
        );
        assert!(matches!(
            decode(&token),
            Err(Error::MalformedJson {
                part: Part::Payload,
                fault: JsonFault::NotAnObject
            })
        ));
    }
}
