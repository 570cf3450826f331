//! The trace's record types: one record of everything that crossed a wire. Every transport in
//! `kit` hands its tap each message it sends and receives; network functions add notes
//! (tokens they decoded, checks they ran, testbed choices, internal actions). The dashboard,
//! the snapshots and every export read this one record.
//!
//! Order. Network functions run concurrently, so the order in which records reach the tap can
//! differ between runs. Each record therefore carries a Lamport timestamp: a node's counter
//! goes up by one per record, and a receive jumps past the matching send. Sorting by
//! (timestamp, node, the node's own sequence) gives an order that respects causality — a send
//! before its receive, a request before its response — and does not depend on thread timing
//! (`kit::tap::Tap::ordered`).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher as _};
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod note;

pub use note::{Act, Note, Outcome, Reason};

/// Protocol of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Proto {
    /// SIP (RFC 3261).
    Sip,
    /// HTTP/1.1, over TCP or TLS.
    Http,
    /// DNS (RFC 1035), decoded.
    Dns,
    /// WebRTC data channel.
    Dc,
}

/// How a message travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transport {
    /// UDP (data channels: SCTP over DTLS over UDP).
    Udp,
    /// TCP in the clear.
    Tcp,
    /// TLS over TCP.
    Tls,
}

/// The wire facts of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// What protocol it is.
    pub proto: Proto,
    /// What it travelled over.
    pub transport: Transport,
    /// The sender's address.
    pub src: SocketAddr,
    /// The receiver's address.
    pub dst: SocketAddr,
    /// One line: `INVITE sip:…`, `200 OK (INVITE)`, `POST /stir/v1/signing`, `NAPTR? host`.
    pub summary: String,
    /// SIP and HTTP verbatim (HTTP as request/status line, headers, body); DNS decoded.
    pub raw: String,
    /// For a data channel message: the channel's stream id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<u16>,
    /// Identifies the message on both sides (same value at sender and receiver).
    #[serde(skip)]
    pub key: u64,
    /// The bytes as they crossed the wire, where `raw` is not them: DNS (`raw` is decoded
    /// text), and SIP or HTTP whose bytes are not valid UTF-8 (a DER CRL body). `None` when
    /// `raw`'s bytes are the wire bytes. Only exports (pcap) read it; it is not serialised.
    #[serde(skip, default)]
    pub wire: Option<Vec<u8>>,
}

fn hash_of(parts: &[&[u8]]) -> u64 {
    let mut h = DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

impl Message {
    /// A SIP message: sender and receiver see the same bytes.
    pub fn sip(
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        summary: String,
        raw: String,
    ) -> Self {
        let key = hash_of(&[raw.as_bytes()]);
        Self {
            proto: Proto::Sip,
            transport,
            src,
            dst,
            summary,
            raw,
            stream: None,
            key,
            wire: None,
        }
    }

    /// A SIP message for a tap that keeps no records ([`Message::sip`]'s key, which matches the
    /// send to its receive, without the text): empty summary and `raw`.
    pub fn sip_counted(
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        bytes: &[u8],
    ) -> Self {
        let key = hash_of(&[String::from_utf8_lossy(bytes).as_bytes()]);
        Self {
            key,
            ..Self::sip(transport, src, dst, String::new(), String::new())
        }
    }

    /// An HTTP message; `identity` is what both sides agree on (method, target and body for a
    /// request; status and body for a response), since header spelling differs between them.
    pub fn http(
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        summary: String,
        raw: String,
        identity: &[&[u8]],
    ) -> Self {
        Self {
            proto: Proto::Http,
            transport,
            src,
            dst,
            summary,
            raw,
            stream: None,
            key: hash_of(identity),
            wire: None,
        }
    }

    /// A data channel message (`stream` and payload identify it on both sides).
    pub fn dc(
        src: SocketAddr,
        dst: SocketAddr,
        summary: String,
        raw: String,
        stream: u16,
        payload: &[u8],
    ) -> Self {
        Self {
            proto: Proto::Dc,
            transport: Transport::Udp,
            src,
            dst,
            summary,
            raw,
            stream: Some(stream),
            key: hash_of(&[&stream.to_be_bytes(), payload]),
            wire: None,
        }
    }

    /// A DNS query or answer, decoded to text.
    pub fn dns(src: SocketAddr, dst: SocketAddr, summary: String, raw: String, id: u16) -> Self {
        let key = hash_of(&[&id.to_be_bytes(), summary.as_bytes()]);
        Self {
            proto: Proto::Dns,
            transport: Transport::Udp,
            src,
            dst,
            summary,
            raw,
            stream: None,
            key,
            wire: None,
        }
    }
}

impl Message {
    /// The same message with its wire bytes (see [`Message::wire`]); the key is unchanged.
    #[must_use]
    pub fn with_wire(mut self, wire: Option<Vec<u8>>) -> Self {
        self.wire = wire;
        self
    }

    /// The bytes that crossed the wire: [`Message::wire`] when set, else `raw`'s bytes (for
    /// DNS without `wire`, that is decoded text, not a DNS message).
    pub fn bytes(&self) -> &[u8] {
        self.wire.as_deref().unwrap_or(self.raw.as_bytes())
    }
}

/// The bytes of `bytes` when they are not valid UTF-8 (so a lossy `raw` is not them).
pub fn wire_if_lossy(bytes: &[u8]) -> Option<Vec<u8>> {
    std::str::from_utf8(bytes).is_err().then(|| bytes.to_vec())
}

/// What a record is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Body {
    /// The recording node sent a message.
    Sent {
        /// The message's number in this trace (shared by its send and its receive).
        msg: u64,
        /// The receiving node, when the tap knows it.
        to: Option<String>,
        /// The message.
        message: Message,
    },
    /// The recording node received a message.
    Received {
        /// The message's number in this trace (shared by its send and its receive).
        msg: u64,
        /// The sending node, when the tap knows it.
        from: Option<String>,
        /// The message.
        message: Message,
    },
    /// The recording node noted something (a token, a check, a choice, an action).
    Note {
        /// The message the note is about, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        msg: Option<u64>,
        /// What it noted.
        note: Note,
    },
}

/// One trace record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Lamport timestamp (see the module docs).
    pub lamport: u64,
    /// The node that recorded it.
    pub node: String,
    /// The node's own sequence number for this record.
    pub node_seq: u64,
    /// Real time since the tap started. Not stable between runs; snapshots leave it out.
    #[serde(skip)]
    pub at: Duration,
    /// What the record is.
    pub body: Body,
}

impl Record {
    /// The message a send or receive record carries; `None` for a note.
    pub fn message(&self) -> Option<&Message> {
        match &self.body {
            Body::Sent { message, .. } | Body::Received { message, .. } => Some(message),
            Body::Note { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_counted_sip_message_has_the_full_ones_key_and_no_text() {
        let (a, b): (SocketAddr, SocketAddr) = (
            "127.0.0.1:5060".parse().unwrap(),
            "127.0.0.1:5070".parse().unwrap(),
        );
        for bytes in [
            &b"OPTIONS sip:b SIP/2.0\r\n\r\n"[..],
            &[0x4f, 0xff, 0x0d][..],
        ] {
            let full = Message::sip(
                Transport::Udp,
                a,
                b,
                "OPTIONS".into(),
                String::from_utf8_lossy(bytes).into_owned(),
            );
            let counted = Message::sip_counted(Transport::Udp, a, b, bytes);
            assert_eq!(counted.key, full.key);
            assert!(counted.raw.is_empty() && counted.summary.is_empty());
        }
    }
}
