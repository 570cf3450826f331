//! `testbed verify --sip` and `--pcap`: the Identity headers of whole SIP requests, verified
//! against what the request itself says. The facts are read as the terminating IMS AS reads
//! them for its STI-VS (`ims_as::term::verification_request`: caller from P-Asserted-Identity
//! else From, callee from the Request-URI else To, the Date header). The RCD of an `rcd`
//! PASSporT is checked too: its content (the signed `jcl`/`icn`, and the Call-Info
//! `purpose=rcd-jcard` URL, which must be the signed `jcl`) comes from `--content` or is
//! fetched over HTTPS; RCD whose content cannot be fetched or does not match its `rcdi` fails
//! the request, with the reason.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use kit::http::Request as HttpRequest;
use proto::sip::msg::SipMessage;
use proto::sipmsg::{self, Method, Request};
use stir::rcd::Fetched;
use stir::{CallInfo, DigestStatus, IdentityHeader, Party, Rcd, SipFacts};

use super::capture;
use super::{Args, Tools, anchors, content, fetcher, https_client, verify_values};

/// Largest RCD content fetched (a jCard or an icon).
const MAX_CONTENT_BYTES: usize = 256 * 1024;

/// `--sip FILE|-` or `--pcap FILE`: one block per request, exit 1 if any fails.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let tools = Tools {
        anchors: anchors(args)?,
        fetcher: fetcher(args)?,
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    let now = args.now.as_deref().map(crate::parse_time).transpose()?;
    let mut all_passed = true;
    if let Some(source) = &args.sip {
        let bytes = if source == "-" {
            let mut b = Vec::new();
            std::io::stdin().read_to_end(&mut b)?;
            b
        } else {
            std::fs::read(source).with_context(|| format!("cannot read {source}"))?
        };
        let request = parse_request(&bytes).with_context(|| source.clone())?;
        let now = match now {
            Some(t) => t,
            None => crate::parse_time("now")?,
        };
        println!("═══ {}", request_line(&request));
        all_passed &= verify_request(args, &tools, &request, now)?;
    } else if let Some(path) = &args.pcap {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let capture = capture::read(&bytes).with_context(|| path.display().to_string())?;
        let mut verified = 0;
        for found in &capture.messages {
            let Ok(SipMessage::Request(request)) = SipMessage::try_from(found.bytes.as_slice())
            else {
                continue;
            };
            if request.method != Method::Invite
                || sipmsg::values(&request.headers, "Identity").is_empty()
            {
                continue;
            }
            verified += 1;
            println!(
                "═══ frame {} · {} → {} · {}",
                found.frame,
                found.src,
                found.dst,
                request_line(&request)
            );
            all_passed &= verify_request(args, &tools, &request, now.unwrap_or(found.time))?;
            println!();
        }
        println!(
            "{verified} INVITE{} with Identity in {} SIP message{} ({} frame{} not IP UDP/TCP)",
            if verified == 1 { "" } else { "s" },
            capture.messages.len(),
            if capture.messages.len() == 1 { "" } else { "s" },
            capture.skipped,
            if capture.skipped == 1 { "" } else { "s" },
        );
        anyhow::ensure!(
            verified > 0,
            "{}: no INVITE carrying Identity in the capture",
            path.display()
        );
    }
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn parse_request(bytes: &[u8]) -> anyhow::Result<Request> {
    // A file edited by hand may end its lines with LF only: SIP wants CRLF.
    let text = String::from_utf8_lossy(bytes);
    let text = if text.contains("\r\n") {
        text.into_owned()
    } else {
        text.replace('\n', "\r\n")
    };
    match SipMessage::try_from(text.as_str()) {
        Ok(SipMessage::Request(r)) => Ok(r),
        Ok(SipMessage::Response(_)) => anyhow::bail!("a SIP response, not a request"),
        Err(e) => anyhow::bail!("not a SIP request: {e}"),
    }
}

fn request_line(request: &Request) -> String {
    format!("{} {}", request.method, request.uri)
}

/// Verifies one request's Identity headers and RCD; prints its block; whether it passed.
fn verify_request(args: &Args, tools: &Tools, request: &Request, now: i64) -> anyhow::Result<bool> {
    let Some(asked) = ims_as::term::verification_request(request, now) else {
        println!("Result: FAIL 428 Use Identity Header\n  the request carries no Identity header");
        return Ok(false);
    };
    let facts = SipFacts {
        orig: asked.from.tn.clone().map(Party::Tn),
        dest: asked.to.tn.clone().map(Party::Tn),
        date: Some(asked.time),
    };
    println!(
        "  orig {} · dest {} · Date {} · verified at {}",
        asked.from.tn.as_deref().unwrap_or("(no number)"),
        asked.to.tn.as_deref().unwrap_or("(no number)"),
        asked.time,
        now
    );
    let mut values = vec![asked.identity_header.clone()];
    values.extend(asked.identity_headers.iter().cloned());

    let call_info: Vec<String> = sipmsg::values(&request.headers, "Call-Info")
        .into_iter()
        .flat_map(|v| CallInfo::parse_list(v).unwrap_or_default())
        .filter(|c| {
            c.purpose
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(stir::rcd::PURPOSE_RCD_JCARD))
        })
        .map(|c| c.uri)
        .collect();
    let mut uris: Vec<String> = values.iter().flat_map(|v| rcd_uris(v)).collect();
    uris.extend(call_info.iter().cloned());
    let (fetched, failures) = rcd_content(args, tools, &uris)?;

    let verdict = verify_values(args, tools, &values, &facts, now, &fetched)?;
    let mut problems = Vec::new();
    for outcome in &verdict.rcd {
        for (pointer, status) in &outcome.digests {
            match status {
                DigestStatus::Match => {}
                DigestStatus::NotFetched { uri } => problems.push(format!(
                    "RCD {pointer}: the content of {uri} was not obtained ({}); add --content {uri}=FILE",
                    failures
                        .get(uri)
                        .map_or("not fetched", String::as_str)
                )),
                other => problems.push(format!(
                    "RCD {pointer}: {}",
                    serde_json::to_string(other).unwrap_or_default()
                )),
            }
        }
        if let Some(jcl) = &outcome.rcd.jcl {
            for url in call_info.iter().filter(|u| *u != jcl) {
                problems.push(format!(
                    "Call-Info rcd-jcard <{url}> is not the signed jcl <{jcl}>"
                ));
            }
        }
    }
    let passed = verdict.passed && problems.is_empty();
    match (verdict.passed, problems.is_empty()) {
        (true, true) => println!("Request: PASS"),
        (false, _) => println!("Request: FAIL (see the Identity results above)"),
        (true, false) => {
            println!("Request: FAIL — the PASSporTs verified, but the RCD must not be shown:")
        }
    }
    for p in &problems {
        println!("  {p}");
    }
    Ok(passed)
}

/// The URIs an `rcd` PASSporT's claim names (`jcl`, `icn`, inside `jcd`), read without
/// verifying (they are only fetched; verification decides what they are worth).
fn rcd_uris(value: &str) -> Vec<String> {
    let Ok(header) = IdentityHeader::parse(value) else {
        return Vec::new();
    };
    let Ok(decoded) = stir::passport::decode(&header.jws) else {
        return Vec::new();
    };
    decoded
        .claims_json
        .get("rcd")
        .and_then(|r| serde_json::from_value::<Rcd>(r.clone()).ok())
        .map(|rcd| {
            stir::rcd::uri_members(&rcd)
                .into_iter()
                .map(|(_, uri)| uri)
                .collect()
        })
        .unwrap_or_default()
}

/// The content behind `uris`: `--content` first, then HTTPS; why each fetch failed.
fn rcd_content(
    args: &Args,
    tools: &Tools,
    uris: &[String],
) -> anyhow::Result<(Fetched, BTreeMap<String, String>)> {
    let mut fetched = content(args)?;
    let mut failures = BTreeMap::new();
    let missing: Vec<&String> = uris.iter().filter(|u| !fetched.contains_key(*u)).collect();
    if missing.is_empty() {
        return Ok((fetched, failures));
    }
    let client = https_client(args)?;
    for uri in missing {
        if fetched.contains_key(uri) || failures.contains_key(uri) {
            continue;
        }
        if !uri.starts_with("https://") {
            failures.insert(uri.clone(), "not an https: URI".to_owned());
            continue;
        }
        let got = tools
            .runtime
            .block_on(client.send(HttpRequest::get(uri.as_str())));
        match got {
            Ok(r) if r.status == 200 && r.body.len() <= MAX_CONTENT_BYTES => {
                fetched.insert(uri.clone(), r.body.to_vec());
            }
            Ok(r) if r.status == 200 => {
                failures.insert(
                    uri.clone(),
                    format!("larger than {MAX_CONTENT_BYTES} bytes"),
                );
            }
            Ok(r) => {
                failures.insert(uri.clone(), format!("HTTPS answered {}", r.status));
            }
            Err(e) => {
                failures.insert(uri.clone(), format!("HTTPS GET failed: {e}"));
            }
        }
    }
    Ok((fetched, failures))
}
