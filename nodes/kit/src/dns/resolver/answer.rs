//! What a lookup came back with, as the resolver caches it and as the trace shows it.

use std::io;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};

use super::Answer;
use crate::dns::display_name;

/// What one query got.
#[derive(Debug)]
pub(crate) enum Got {
    /// NOERROR with answer records (any CNAME on the way included).
    Records(Vec<Record>),
    /// No records: NOERROR without data (NODATA) or NXDOMAIN, and the SOA the server sent with
    /// it for negative caching (RFC 2308 §3), if any.
    NoRecords {
        /// NOERROR or NXDOMAIN.
        code: ResponseCode,
        /// The authority section's SOA (boxed: a record is large, the other variants small).
        soa: Option<Box<Record>>,
    },
    /// Another response code (REFUSED, SERVFAIL, …).
    Code(ResponseCode),
    /// No answer in time.
    Timeout,
    /// The socket failed.
    Io(io::Error),
}

impl Got {
    /// What an answer message says.
    pub(crate) fn from_message(message: Message) -> Self {
        let code = message.metadata.response_code;
        match code {
            ResponseCode::NoError if !message.answers.is_empty() => Got::Records(message.answers),
            ResponseCode::NoError | ResponseCode::NXDomain => Got::NoRecords {
                code,
                soa: message
                    .authorities
                    .into_iter()
                    .find(|r| r.record_type() == RecordType::SOA)
                    .map(Box::new),
            },
            other => Got::Code(other),
        }
    }
}

/// Outcome of a lookup: the summary's tail, the answer as text, and what callers get.
pub(super) fn classify(got: Got) -> (String, String, io::Result<Answer>) {
    match got {
        Got::Records(records) => {
            let n = records.len();
            let raw = records
                .iter()
                .map(Record::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            let outcome = format!("{n} record{}", if n == 1 { "" } else { "s" });
            (outcome, raw, Ok(Answer::Records(records.into())))
        }
        Got::NoRecords { code, soa } => {
            let outcome = if code == ResponseCode::NoError {
                "no records".to_owned()
            } else {
                rcode(code)
            };
            let mut raw = format!(";; status: {}", rcode(code));
            if let Some(soa) = &soa {
                raw.push('\n');
                raw.push_str(&soa.to_string());
            }
            (outcome, raw, Ok(Answer::Negative(code)))
        }
        Got::Code(code @ ResponseCode::Refused) => {
            let status = rcode(code);
            (
                status.clone(),
                format!(";; status: {status}"),
                Ok(Answer::Negative(code)),
            )
        }
        Got::Code(code) => {
            let status = rcode(code);
            (
                format!("error: {status}"),
                format!(";; status: {status}"),
                Err(io::Error::other(format!("DNS query failed: {status}"))),
            )
        }
        Got::Timeout => (
            "timeout".into(),
            ";; no answer in time".into(),
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "DNS query timed out",
            )),
        ),
        Got::Io(e) => {
            let kind = e.kind();
            (
                format!("error: {e}"),
                format!(";; {e}"),
                Err(io::Error::new(kind, format!("DNS query failed: {e}"))),
            )
        }
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
        let empty = Got::NoRecords {
            code: ResponseCode::NoError,
            soa: None,
        };
        let (outcome, raw, answer) = classify(empty);
        assert_eq!(
            (outcome.as_str(), raw.as_str()),
            ("no records", ";; status: NOERROR")
        );
        assert!(matches!(
            answer,
            Ok(Answer::Negative(ResponseCode::NoError))
        ));
        let (outcome, _, answer) = classify(Got::Timeout);
        assert_eq!(outcome, "timeout");
        assert!(answer.is_err_and(|e| e.kind() == io::ErrorKind::TimedOut));
        let (outcome, _, answer) = classify(Got::Code(ResponseCode::ServFail));
        assert_eq!(outcome, "error: SERVFAIL");
        assert!(answer.is_err());
    }

    #[test]
    fn rcodes_read_as_their_mnemonics() {
        assert_eq!(rcode(ResponseCode::NXDomain), "NXDOMAIN");
        assert_eq!(rcode(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode(ResponseCode::BADVERS), "RCODE 16");
    }
}
