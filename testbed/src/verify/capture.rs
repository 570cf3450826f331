//! SIP messages out of a capture (pcap or pcapng, read with `pcap-file`, frames parsed with
//! `etherparse`): each UDP datagram that starts like SIP is one message; TCP payloads are
//! reassembled per direction (in sequence order; retransmitted bytes are dropped, a gap starts
//! the stream afresh) and split into messages by their Content-Length (RFC 3261 §18.3).
//! Streams that do not start like SIP (HTTP, TLS) are ignored. Nothing here panics on a
//! malformed file: a frame that does not parse is skipped and counted.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use anyhow::{Context as _, bail};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::PcapNgReader;
use pcap_file::pcapng::blocks::Block;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;

/// A stream holding more than this without a complete message is dropped (no SIP message here
/// is near it; it bounds memory on hostile input).
const MAX_PENDING: usize = 1 << 20;

/// One SIP message found in the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipFrame {
    /// The frame (1-based, as Wireshark counts) that carried the message's last bytes.
    pub frame: usize,
    /// That frame's time, seconds since the epoch.
    pub time: i64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// The message's bytes.
    pub bytes: Vec<u8>,
}

/// What a capture held.
#[derive(Debug, Default)]
pub struct Capture {
    /// The SIP messages, in frame order.
    pub messages: Vec<SipFrame>,
    /// Frames skipped: unknown link type, or not IPv4/IPv6 UDP/TCP.
    pub skipped: usize,
}

/// One frame: its link type, time (seconds since the epoch) and bytes.
struct Raw {
    link: DataLink,
    time: i64,
    data: Vec<u8>,
}

/// Reads a pcap or pcapng file's bytes.
pub fn read(bytes: &[u8]) -> anyhow::Result<Capture> {
    let frames = if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        pcapng_frames(bytes)?
    } else {
        pcap_frames(bytes)?
    };
    let mut streams = Streams::default();
    let mut capture = Capture::default();
    for (i, raw) in frames.into_iter().enumerate() {
        let frame = i + 1;
        let Some(sliced) = slice(&raw) else {
            capture.skipped += 1;
            continue;
        };
        let (src_ip, dst_ip) = match &sliced.net {
            Some(NetSlice::Ipv4(ip)) => (
                IpAddr::from(ip.header().source()),
                IpAddr::from(ip.header().destination()),
            ),
            Some(NetSlice::Ipv6(ip)) => (
                IpAddr::from(ip.header().source()),
                IpAddr::from(ip.header().destination()),
            ),
            _ => {
                capture.skipped += 1;
                continue;
            }
        };
        let found = |src: u16, dst: u16, bytes: Vec<u8>| SipFrame {
            frame,
            time: raw.time,
            src: SocketAddr::new(src_ip, src),
            dst: SocketAddr::new(dst_ip, dst),
            bytes,
        };
        match &sliced.transport {
            Some(TransportSlice::Udp(udp)) => {
                let payload = udp.payload();
                if looks_like_sip(payload) {
                    capture.messages.push(found(
                        udp.source_port(),
                        udp.destination_port(),
                        payload.to_vec(),
                    ));
                }
            }
            Some(TransportSlice::Tcp(tcp)) => {
                let key = (
                    SocketAddr::new(src_ip, tcp.source_port()),
                    SocketAddr::new(dst_ip, tcp.destination_port()),
                );
                let stream = streams.0.entry(key).or_default();
                for bytes in stream.segment(tcp.sequence_number(), tcp.syn(), tcp.payload()) {
                    capture
                        .messages
                        .push(found(key.0.port(), key.1.port(), bytes));
                }
            }
            _ => capture.skipped += 1,
        }
    }
    Ok(capture)
}

fn slice(raw: &Raw) -> Option<SlicedPacket<'_>> {
    let data = raw.data.as_slice();
    match raw.link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(data).ok(),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => SlicedPacket::from_ip(data).ok(),
        // BSD loopback: a 4-byte address family, then the IP packet.
        DataLink::NULL | DataLink::LOOP => SlicedPacket::from_ip(data.get(4..)?).ok(),
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(data).ok(),
        _ => None,
    }
}

fn pcap_frames(bytes: &[u8]) -> anyhow::Result<Vec<Raw>> {
    let mut reader = PcapReader::new(bytes).context("neither a pcapng nor a pcap file")?;
    let link = reader.header().datalink;
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.context("a truncated or malformed pcap record")?;
        frames.push(Raw {
            link,
            time: i64::try_from(packet.timestamp.as_secs()).unwrap_or(i64::MAX),
            data: packet.data.into_owned(),
        });
    }
    Ok(frames)
}

fn pcapng_frames(bytes: &[u8]) -> anyhow::Result<Vec<Raw>> {
    let mut reader = PcapNgReader::new(bytes).context("a malformed pcapng section header")?;
    // Per interface: link type and timestamp units per second.
    let mut interfaces: Vec<(DataLink, u64)> = Vec::new();
    let mut frames = Vec::new();
    while let Some(block) = reader.next_block() {
        let block = block.context("a truncated or malformed pcapng block")?;
        match block {
            Block::SectionHeader(_) => interfaces.clear(),
            Block::InterfaceDescription(idb) => {
                let mut per_second = 1_000_000u64;
                for option in &idb.options {
                    if let InterfaceDescriptionOption::IfTsResol(r) = option {
                        per_second = units_per_second(*r)?;
                    }
                }
                interfaces.push((idb.linktype, per_second));
            }
            Block::EnhancedPacket(epb) => {
                let Some(&(link, per_second)) = interfaces.get(epb.interface_id as usize) else {
                    bail!(
                        "a packet names interface {} that is not described",
                        epb.interface_id
                    );
                };
                // pcap-file hands the raw timestamp over as nanoseconds, whatever the units.
                let units = epb.timestamp.as_nanos();
                frames.push(Raw {
                    link,
                    time: i64::try_from(units / u128::from(per_second)).unwrap_or(i64::MAX),
                    data: epb.data.into_owned(),
                });
            }
            Block::SimplePacket(spb) => {
                let Some(&(link, _)) = interfaces.first() else {
                    bail!("a simple packet block before any interface description");
                };
                frames.push(Raw {
                    link,
                    time: 0,
                    data: spb.data.into_owned(),
                });
            }
            _ => {}
        }
    }
    Ok(frames)
}

/// `if_tsresol` (RFC draft-ietf-opsawg-pcapng §4.2): 10^-n, or 2^-n with the high bit set.
fn units_per_second(tsresol: u8) -> anyhow::Result<u64> {
    let n = u32::from(tsresol & 0x7f);
    let per = if tsresol & 0x80 == 0 {
        10u64.checked_pow(n)
    } else {
        2u64.checked_pow(n)
    };
    per.filter(|p| *p > 0)
        .with_context(|| format!("timestamp resolution {tsresol:#x} is out of range"))
}

/// Whether bytes start like a SIP request or response line.
fn looks_like_sip(bytes: &[u8]) -> bool {
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.starts_with(b"SIP/2.0 ") || line.ends_with(b" SIP/2.0")
}

#[derive(Default)]
struct Streams(HashMap<(SocketAddr, SocketAddr), Stream>);

/// One direction of a TCP connection.
#[derive(Default)]
struct Stream {
    /// The sequence number of the next byte expected, once known.
    next: Option<u32>,
    /// Bytes not yet split into messages.
    pending: Vec<u8>,
    /// The stream did not start like SIP: ignored from then on.
    not_sip: bool,
}

impl Stream {
    /// Takes one segment; the complete messages it finishes.
    fn segment(&mut self, seq: u32, syn: bool, payload: &[u8]) -> Vec<Vec<u8>> {
        if syn {
            *self = Stream {
                next: Some(seq.wrapping_add(1)),
                ..Stream::default()
            };
            return Vec::new();
        }
        if payload.is_empty() || self.not_sip {
            return Vec::new();
        }
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        let fresh = match self.next {
            None => payload,
            Some(next) => {
                // How far this segment starts before the next expected byte (wrapping).
                let behind = next.wrapping_sub(seq);
                if behind == 0 {
                    payload
                } else if behind < len {
                    &payload[behind as usize..]
                } else if behind < u32::MAX / 2 {
                    return Vec::new(); // wholly retransmitted
                } else {
                    // A gap: what was pending cannot be completed.
                    self.pending.clear();
                    payload
                }
            }
        };
        self.next = Some(seq.wrapping_add(len));
        self.pending.extend_from_slice(fresh);
        let mut out = Vec::new();
        loop {
            let start = self
                .pending
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(self.pending.len());
            self.pending.drain(..start);
            if self.pending.is_empty() {
                break;
            }
            if self.pending.len() >= 8 && !looks_like_sip(&self.pending) {
                if self.pending.contains(&b'\n') {
                    self.not_sip = true;
                    self.pending.clear();
                }
                break;
            }
            match message_len(&self.pending) {
                Some(n) if n <= self.pending.len() => out.push(self.pending.drain(..n).collect()),
                _ => break,
            }
        }
        if self.pending.len() > MAX_PENDING {
            self.pending.clear();
            self.not_sip = true;
        }
        out
    }
}

/// The length of the message at the start of `bytes` (headers, blank line, Content-Length
/// body; no Content-Length means no body), once its headers are complete.
fn message_len(bytes: &[u8]) -> Option<usize> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&bytes[..end]);
    let body = head
        .lines()
        .skip(1)
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            let name = name.trim();
            (name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l"))
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    end.checked_add(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:b@x SIP/2.0\r\nl: 4\r\n\r\nbody";
    const OK: &[u8] = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn a_stream_splits_by_content_length_across_segments() {
        let mut s = Stream::default();
        assert!(s.segment(99, true, b"").is_empty());
        let all = [INVITE, b"\r\n\r\n", OK].concat();
        let (a, b) = all.split_at(10);
        assert!(s.segment(100, false, a).is_empty());
        // A retransmission of the first segment changes nothing.
        assert!(s.segment(100, false, a).is_empty());
        let got = s.segment(110, false, b);
        assert_eq!(got, vec![INVITE.to_vec(), OK.to_vec()]);
    }

    #[test]
    fn a_stream_that_is_not_sip_is_ignored() {
        let mut s = Stream::default();
        assert!(s.segment(1, false, b"GET / HTTP/1.1\r\n\r\n").is_empty());
        assert!(s.segment(19, false, OK).is_empty());
    }

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(units_per_second(6).ok(), Some(1_000_000));
        assert_eq!(units_per_second(9).ok(), Some(1_000_000_000));
        assert_eq!(units_per_second(0x8a).ok(), Some(1024));
        assert!(units_per_second(0x7f).is_err());
    }
}
