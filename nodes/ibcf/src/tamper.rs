//! The NNI attacker of TR 33.790 §5.1.2 ("the ID's transfer between IMS networks may be
//! manipulated by intermediary network entities"): what an egress IBCF switched into an attacker
//! changes in an INVITE on its way out. Pure functions of the INVITE; the IBCF notes what they
//! did as a `Tamper` action.

use proto::sip::{Request, Response};
use proto::sipmsg::{self, Headers, NameAddr};
use stir::IdentityHeader;

/// A manipulation on the NNI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tamper {
    /// Rewrite the RCD name (in the `rcd` claims of every PASSporT carrying them, keeping the
    /// signature, and in the P-Asserted-Identity display name).
    RcdName(String),
    /// Replace the caller's number (P-Asserted-Identity and From) with another.
    CallerTn(String),
    /// Replace the URL of every Call-Info value with `purpose=rcd-jcard` (RFC 9796 §6) by this
    /// one, leaving the Identity headers (and the `jcl` they sign) untouched.
    CallInfoUrl(String),
    /// Rewrite the RCD icon (`icn`, solution 8's avatar object URL) in every PASSporT with
    /// `rcd` claims, keeping the signature: another party's avatar put in its place.
    RcdIcon(String),
}

impl Tamper {
    /// The threat it stands for, for the trace: the clause and the threat in a few words.
    pub fn threat(&self) -> &'static str {
        match self {
            Tamper::RcdIcon(_) => "TR 33.790 §5.2.2, avatar data manipulated between networks",
            _ => "TR 33.790 §5.1.2, ID manipulated between networks",
        }
    }
}

/// Applies a manipulation to an outgoing INVITE; returns what was done (pure).
pub fn tamper(invite: &mut Request, how: &Tamper) -> Option<String> {
    match how {
        Tamper::RcdName(name) => tamper_rcd_name(invite, name),
        Tamper::CallerTn(tn) => tamper_caller_tn(invite, tn),
        Tamper::CallInfoUrl(url) => tamper_call_info_url(invite, url),
        Tamper::RcdIcon(url) => tamper_rcd_icon(&mut invite.headers, url),
    }
}

/// Applies a manipulation to an answer leaving over the NNI (solution 8's signed 200): only
/// [`Tamper::RcdIcon`] applies to answers; returns what was done (pure).
pub fn tamper_answer(response: &mut Response, how: &Tamper) -> Option<String> {
    match how {
        Tamper::RcdIcon(url) => tamper_rcd_icon(&mut response.headers, url),
        _ => None,
    }
}

/// [`Tamper::RcdIcon`]: the icon in every PASSporT with `rcd` claims, signatures kept.
fn tamper_rcd_icon(headers: &mut Headers, url: &str) -> Option<String> {
    let identities: Vec<String> = sipmsg::values(headers, "Identity")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut changed = false;
    let out: Vec<String> = identities
        .into_iter()
        .map(|value| {
            let rewritten = rewrite_rcd_member(&value, "icn", url);
            changed |= rewritten.is_some();
            rewritten.unwrap_or(value)
        })
        .collect();
    if !changed {
        return None;
    }
    sipmsg::remove(headers, "Identity");
    for v in out {
        sipmsg::push(headers, "Identity", v);
    }
    Some(format!(
        "rewrote the avatar icon to {url} in the rcd PASSporT (signature kept)"
    ))
}

/// One Identity header value with the `nam` of its `rcd` claims set to `name`, the signature
/// kept; none when it carries no `rcd` claims (or does not parse).
fn rewrite_rcd_name(value: &str, name: &str) -> Option<String> {
    rewrite_rcd_member(value, "nam", name)
}

/// One Identity header value with `member` of its `rcd` claims set to `to`, the signature
/// kept; none when it carries no `rcd` claims (or does not parse).
fn rewrite_rcd_member(value: &str, member: &str, to: &str) -> Option<String> {
    let mut h = IdentityHeader::parse(value).ok()?;
    let mut parts = h.jws.split('.');
    let (head, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let mut claims: serde_json::Value =
        serde_json::from_slice(&stir::jose::b64u_decode(payload, stir::Part::Payload).ok()?)
            .ok()?;
    claims
        .get_mut("rcd")?
        .as_object_mut()?
        .insert(member.into(), to.into());
    let payload = stir::jose::b64u(&stir::jose::canonical_json(&claims).ok()?);
    h.jws = format!("{head}.{payload}.{sig}");
    Some(h.to_header())
}

/// [`Tamper::RcdName`]: the name in every PASSporT with `rcd` claims (the `rcd` type, or
/// `shaken` carrying them) and in the P-Asserted-Identity display name.
fn tamper_rcd_name(invite: &mut Request, name: &str) -> Option<String> {
    let mut changed = false;
    let identities: Vec<String> = sipmsg::values(&invite.headers, "Identity")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut out = Vec::new();
    for value in identities {
        let rewritten = rewrite_rcd_name(&value, name);
        changed |= rewritten.is_some();
        out.push(rewritten.unwrap_or(value));
    }
    sipmsg::remove(&mut invite.headers, "Identity");
    for v in out {
        sipmsg::push(&mut invite.headers, "Identity", v);
    }
    if let Some(mut pai) =
        sipmsg::first(&invite.headers, "P-Asserted-Identity").and_then(NameAddr::parse)
    {
        pai.display = Some(name.to_owned());
        sipmsg::set(&mut invite.headers, "P-Asserted-Identity", pai.render());
        changed = true;
    }
    changed.then(|| format!("rewrote the RCD name to {name:?} in the rcd PASSporT (signature kept) and in P-Asserted-Identity"))
}

/// [`Tamper::CallerTn`]: the caller's number in P-Asserted-Identity and From.
fn tamper_caller_tn(invite: &mut Request, tn: &str) -> Option<String> {
    let mut changed = false;
    for header in ["P-Asserted-Identity", "From"] {
        if let Some(mut n) = sipmsg::first(&invite.headers, header).and_then(NameAddr::parse)
            && let Some(old) = n.tn()
        {
            n.uri = n.uri.replacen(&old, tn, 1);
            sipmsg::set(&mut invite.headers, header, n.render());
            changed = true;
        }
    }
    changed
        .then(|| format!("replaced the caller's number with {tn} in P-Asserted-Identity and From"))
}

/// Whether a Call-Info value is for the RCD jCard (`purpose=rcd-jcard`).
fn is_rcd_jcard(value: &str) -> bool {
    NameAddr::parse(value).is_some_and(|n| {
        n.params.split(';').any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("purpose")
                    && v.trim().trim_matches('"').eq_ignore_ascii_case("rcd-jcard")
            })
        })
    })
}

/// [`Tamper::CallInfoUrl`]: the URL of every `purpose=rcd-jcard` Call-Info value, the other
/// values and every Identity header as they were; the Call-Info headers stay where the first was.
fn tamper_call_info_url(invite: &mut Request, url: &str) -> Option<String> {
    let headers: Vec<String> = sipmsg::values(&invite.headers, "Call-Info")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut changed = false;
    let rewritten: Vec<String> = headers
        .iter()
        .map(|header| {
            let values: Vec<String> = sipmsg::split_list(header)
                .into_iter()
                .map(|value| match NameAddr::parse(value) {
                    Some(mut n) if is_rcd_jcard(value) => {
                        changed = true;
                        n.uri = url.to_owned();
                        n.render()
                    }
                    _ => value.to_owned(),
                })
                .collect();
            values.join(", ")
        })
        .collect();
    if !changed {
        return None;
    }
    replace_in_place(invite, "Call-Info", rewritten);
    Some(format!(
        "replaced the Call-Info rcd-jcard URL with {url} (the Identity headers and the jcl they sign untouched)"
    ))
}

/// Replaces the headers called `name` by `values`, in order, where the first of them was.
fn replace_in_place(invite: &mut Request, name: &str, values: Vec<String>) {
    let Some(at) = invite
        .headers
        .iter()
        .position(|h| h.name().eq_ignore_ascii_case(name))
    else {
        return;
    };
    sipmsg::remove(&mut invite.headers, name);
    for (i, value) in values.into_iter().enumerate() {
        invite
            .headers
            .0
            .insert(at + i, sipmsg::make_header(name, value));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn invite(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:+12155551001@ims.b;user=phone SIP/2.0\r\nVia: SIP/2.0/UDP scscf.ims.a:1;branch=z9hG4bK1\r\n{extra}From: \"Q\" <sip:+12025551000@ims.a;user=phone>;tag=1\r\nTo: <sip:+12155551001@ims.b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap()
    }

    #[test]
    fn caller_tn_tamper_rewrites_both_headers() {
        let mut r = invite("P-Asserted-Identity: \"Q\" <sip:+12025551000@ims.a;user=phone>\r\n");
        let done = tamper(&mut r, &Tamper::CallerTn("+12025551666".into())).unwrap();
        assert!(done.contains("+12025551666"));
        assert!(
            sipmsg::first(&r.headers, "From")
                .unwrap()
                .contains("+12025551666")
        );
        assert!(
            sipmsg::first(&r.headers, "P-Asserted-Identity")
                .unwrap()
                .contains("+12025551666")
        );
    }

    #[test]
    fn rcd_icon_tamper_rewrites_the_signed_icon_keeping_the_signature() {
        let claims = stir::jose::b64u(
            br#"{"rcd":{"icn":"https://aos.a/aos/v1/objects/agent","nam":"Agent"}}"#,
        );
        let identity = format!(
            "Identity: eyJhbGciOiJFUzI1NiJ9.{claims}.c2ln;info=<https://certs.sti.example/sp.pem>;alg=ES256;ppt=rcd\r\n"
        );
        let mut r = invite(&identity);
        let how = Tamper::RcdIcon("https://aos.a/aos/v1/objects/shark".into());
        let done = tamper(&mut r, &how).unwrap();
        assert!(done.contains("objects/shark"), "{done}");
        let value = sipmsg::first(&r.headers, "Identity").unwrap();
        let h = IdentityHeader::parse(value).unwrap();
        let parts: Vec<&str> = h.jws.split('.').collect();
        assert_eq!(parts[2], "c2ln", "the signature is kept");
        let payload = stir::jose::b64u_decode(parts[1], stir::Part::Payload).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(v["rcd"]["icn"], "https://aos.a/aos/v1/objects/shark");
        assert_eq!(v["rcd"]["nam"], "Agent");
        assert_eq!(
            how.threat(),
            "TR 33.790 §5.2.2, avatar data manipulated between networks"
        );
        // Answers: only the icon tamper applies.
        let mut ok = proto::sip::Response::try_from(
            format!("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n{identity}From: <sip:a@a>;tag=1\r\nTo: <sip:b@b>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").as_str(),
        )
        .unwrap();
        assert!(tamper_answer(&mut ok, &how).is_some());
        assert!(tamper_answer(&mut ok, &Tamper::CallerTn("+1".into())).is_none());
    }

    #[test]
    fn rcd_name_tamper_rewrites_pai_display() {
        let mut r = invite("P-Asserted-Identity: \"Q\" <sip:+12025551000@ims.a;user=phone>\r\n");
        let done = tamper(&mut r, &Tamper::RcdName("Totally Legit Bank".into())).unwrap();
        assert!(done.contains("Totally Legit Bank"), "{done}");
        let pai =
            NameAddr::parse(sipmsg::first(&r.headers, "P-Asserted-Identity").unwrap()).unwrap();
        assert_eq!(pai.display.as_deref(), Some("Totally Legit Bank"));
        let mut bare = invite("");
        assert!(tamper(&mut bare, &Tamper::RcdName("X".into())).is_none());
    }

    #[test]
    fn call_info_tamper_swaps_only_the_rcd_jcard_url() {
        let identity = "Identity: eyJhbGciOiJFUzI1NiJ9.eyJqY2wiOiJodHRwczovL2lkLmVudGVycHJpc2UuZXhhbXBsZS9hLmpzb24ifQ.c2ln;info=<https://certs.sti.example/sp.pem>;alg=ES256;ppt=rcd\r\n";
        let mut r = invite(&format!(
            "{identity}Call-Info: <https://id.enterprise.example/jcard/a.json>;purpose=rcd-jcard, <https://id.enterprise.example/logo.png>;purpose=icon\r\nCall-Info: <https://id.enterprise.example/other>;purpose=info\r\n"
        ));
        let before_identity = sipmsg::values(&r.headers, "Identity")
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        let done = tamper(
            &mut r,
            &Tamper::CallInfoUrl("https://evil.example/jcard.json".into()),
        )
        .unwrap();
        assert!(done.contains("https://evil.example/jcard.json"), "{done}");
        assert_eq!(
            sipmsg::values(&r.headers, "Call-Info"),
            [
                "<https://evil.example/jcard.json>;purpose=rcd-jcard, <https://id.enterprise.example/logo.png>;purpose=icon",
                "<https://id.enterprise.example/other>;purpose=info",
            ]
        );
        assert_eq!(sipmsg::values(&r.headers, "Identity"), before_identity);
        // Nothing to swap: nothing done.
        let mut bare = invite("Call-Info: <https://x.example/i>;purpose=icon\r\n");
        assert!(tamper(&mut bare, &Tamper::CallInfoUrl("https://e.example".into())).is_none());
        assert_eq!(
            sipmsg::values(&bare.headers, "Call-Info"),
            ["<https://x.example/i>;purpose=icon"]
        );
    }
}
