//! What a lookup came back with, as the resolver caches it and as the trace shows it.

use std::io;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_resolver::net::{DnsError, NetError};

use super::Answer;
use crate::dns::display_name;

/// Outcome of a lookup: the summary's tail, the answer as text, and what callers get.
pub(super) fn classify(
    result: Result<Vec<Record>, NetError>,
) -> (String, String, io::Result<Answer>) {
    match result {
        Ok(records) if !records.is_empty() => {
            let n = records.len();
            let raw = records
                .iter()
                .map(Record::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            let outcome = format!("{n} record{}", if n == 1 { "" } else { "s" });
            (outcome, raw, Ok(Answer::Records(records.into())))
        }
        Ok(_) => (
            "no records".into(),
            ";; status: NOERROR, no answer".into(),
            Ok(Answer::Negative(ResponseCode::NoError)),
        ),
        Err(NetError::Dns(DnsError::NoRecordsFound(no))) => {
            let code = no.response_code;
            let outcome = if code == ResponseCode::NoError {
                "no records".to_owned()
            } else {
                rcode(code)
            };
            let mut raw = format!(";; status: {}", rcode(code));
            if let Some(soa) = &no.soa {
                raw.push('\n');
                raw.push_str(&soa.to_string());
            }
            (outcome, raw, Ok(Answer::Negative(code)))
        }
        Err(NetError::Dns(DnsError::ResponseCode(
            code @ (ResponseCode::Refused | ResponseCode::NXDomain),
        ))) => {
            let status = rcode(code);
            (
                status.clone(),
                format!(";; status: {status}"),
                Ok(Answer::Negative(code)),
            )
        }
        Err(NetError::Timeout) => (
            "timeout".into(),
            ";; no answer in time".into(),
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "DNS query timed out",
            )),
        ),
        Err(NetError::Io(e)) => {
            let kind = e.kind();
            (
                format!("error: {e}"),
                format!(";; {e}"),
                Err(io::Error::new(kind, format!("DNS query failed: {e}"))),
            )
        }
        Err(e) => (
            format!("error: {e}"),
            format!(";; {e}"),
            Err(io::Error::other(format!("DNS query failed: {e}"))),
        ),
    }
}

pub(super) fn not_found(name: &Name, rtype: RecordType, code: ResponseCode) -> io::Error {
    let why = if code == ResponseCode::NoError {
        "no records".to_owned()
    } else {
        rcode(code)
    };
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{rtype} {}: {why}", display_name(name)),
    )
}

/// The RCODE mnemonic (RFC 1035 §4.1.1, RFC 6895 §2.3).
fn rcode(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("RCODE {}", u16::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_failed_lookups_read_as_the_trace_shows_them() {
        let (outcome, raw, answer) = classify(Ok(Vec::new()));
        assert_eq!(
            (outcome.as_str(), raw.as_str()),
            ("no records", ";; status: NOERROR, no answer")
        );
        assert!(matches!(
            answer,
            Ok(Answer::Negative(ResponseCode::NoError))
        ));
        let (outcome, _, answer) = classify(Err(NetError::Timeout));
        assert_eq!(outcome, "timeout");
        assert!(answer.is_err_and(|e| e.kind() == io::ErrorKind::TimedOut));
    }

    #[test]
    fn rcodes_read_as_their_mnemonics() {
        assert_eq!(rcode(ResponseCode::NXDomain), "NXDOMAIN");
        assert_eq!(rcode(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode(ResponseCode::BADVERS), "RCODE 16");
    }
}
