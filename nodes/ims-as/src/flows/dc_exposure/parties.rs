//! Who a call is between, as the DCSF and the NEF name subscribers: by IMPU
//! (`sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org`, as `fixtures/world.toml` writes
//! them). Pure: read from the initial INVITE as the originating AS forwards it.

use proto::sip::Request;
use proto::sipmsg::{self, NameAddr};

/// The public identity a URI names: a `sip:`/`sips:` URI without its parameters (`;user=phone`)
/// and headers; a `tel:` URI as its number only (`tel:+12155551001`: the AS knows no home
/// domain for it). `None` for anything else or a SIP URI without a user.
pub(crate) fn impu(value: &str) -> Option<String> {
    // A bare URI is taken whole (a Request-URI: its `;` parameters are the URI's own).
    let uri = match value.contains('<') {
        true => NameAddr::parse(value)?.uri,
        false => value.trim().to_owned(),
    };
    if let Some(number) = uri.strip_prefix("tel:") {
        let number = number.split([';', '?']).next()?.trim();
        return (!number.is_empty()).then(|| format!("tel:{number}"));
    }
    let (scheme, rest) = uri.split_once(':')?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "sip" | "sips") {
        return None;
    }
    let (user, host) = rest.split_once('@')?;
    // RFC 3261 §19.1.1: a user part may carry tel parameters (`+1;npdi`); the host part is
    // followed by the URI's parameters and headers.
    let user = user.split(';').next()?.trim();
    let host = host.split([';', '?', '>']).next()?.trim();
    (!user.is_empty() && !host.is_empty()).then(|| format!("{scheme}:{user}@{host}"))
}

/// The first SIP IMPU among `values`, else the first `tel:` number.
fn best<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let ids: Vec<String> = values.into_iter().filter_map(impu).collect();
    ids.iter()
        .find(|i| !i.starts_with("tel:"))
        .or(ids.first())
        .cloned()
}

/// The caller: the identity the P-CSCF asserted (P-Asserted-Identity, RFC 3325; its SIP URI
/// when it asserted a SIP and a tel URI). Only a number asserted: From's SIP URI if it names
/// that number, else the number. Nothing asserted: From.
pub(crate) fn caller(invite: &Request) -> Option<String> {
    let asserted = sipmsg::values(&invite.headers, "P-Asserted-Identity")
        .into_iter()
        .flat_map(sipmsg::split_list);
    let from = sipmsg::first(&invite.headers, "From").and_then(impu);
    match best(asserted) {
        Some(tel) if tel.starts_with("tel:") => {
            let number = tel.trim_start_matches("tel:");
            let named = |f: &String| {
                f.split_once(':')
                    .and_then(|(_, rest)| rest.split_once('@'))
                    .is_some_and(|(user, _)| user == number)
            };
            Some(from.filter(named).unwrap_or(tel))
        }
        Some(sip) => Some(sip),
        None => from,
    }
}

/// The callee: the Request-URI the caller dialled (at the originating AS it is still the
/// callee's public identity, `sip:…;user=phone` or `tel:`), else To; a SIP form wins.
pub(crate) fn callee(invite: &Request) -> Option<String> {
    let target = invite.uri.to_string();
    let to = sipmsg::first(&invite.headers, "To").unwrap_or_default();
    best([target.as_str(), to])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";

    fn invite(uri: &str, extra: &str) -> Request {
        Request::try_from(
            format!(
                "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP as.a;branch=z9hG4bK1\r\nFrom: <sip:spoof@evil.example>;tag=1\r\nTo: <{B};user=phone>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
            )
            .as_str(),
        )
        .unwrap()
    }

    #[test]
    fn impus_drop_uri_parameters() {
        assert_eq!(impu(&format!("<{B};user=phone>")).as_deref(), Some(B));
        assert_eq!(
            impu(&format!("\"Q Branch\" <{A}>;tag=x")).as_deref(),
            Some(A)
        );
        assert_eq!(impu(&format!("{A};user=phone?x=y")).as_deref(), Some(A));
        assert_eq!(
            impu("sip:+12155551001;npdi@ims.b;user=phone").as_deref(),
            Some("sip:+12155551001@ims.b")
        );
        assert_eq!(
            impu("<tel:+12155551001;verstat=TN-Validation-Passed>").as_deref(),
            Some("tel:+12155551001")
        );
        assert_eq!(impu("sip:ims.b"), None);
        assert_eq!(impu("https://x/y"), None);
        assert_eq!(impu(""), None);
    }

    #[test]
    fn the_caller_is_the_asserted_identity() {
        let pai = format!("P-Asserted-Identity: \"Q Branch Spy Gadgets\" <{A}>\r\n");
        let r = invite(&format!("{B};user=phone"), &pai);
        assert_eq!(caller(&r).as_deref(), Some(A));
        // A SIP and a tel URI asserted: the SIP one, whichever comes first.
        let both = format!("P-Asserted-Identity: <tel:+12025551000>, <{A}>\r\n");
        assert_eq!(caller(&invite(B, &both)).as_deref(), Some(A));
        // Only a number asserted: not a From that names someone else.
        let tel = "P-Asserted-Identity: <tel:+12025551000>\r\n";
        assert_eq!(caller(&invite(B, tel)).as_deref(), Some("tel:+12025551000"));
        let mut named = invite(B, tel);
        sipmsg::set(&mut named.headers, "From", format!("<{A}>;tag=1"));
        assert_eq!(caller(&named).as_deref(), Some(A));
        // Nothing asserted: From.
        assert_eq!(
            caller(&invite(B, "")).as_deref(),
            Some("sip:spoof@evil.example")
        );
    }

    #[test]
    fn the_callee_is_the_dialled_identity() {
        let r = invite(&format!("{B};user=phone"), "");
        assert_eq!(callee(&r).as_deref(), Some(B));
        // A tel Request-URI: the SIP form of To.
        assert_eq!(callee(&invite("tel:+12155551001", "")).as_deref(), Some(B));
    }
}
