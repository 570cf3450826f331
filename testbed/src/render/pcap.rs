//! A run as a pcapng capture (`testbed run --format pcap --out FILE`, the dashboard's `e` then
//! `p`): every SIP, DNS and HTTP message, one packet per message as it crossed the wire, in
//! IPv4/UDP or IPv4/TCP on the loopback addresses and real ports of the trace, stamped at
//! scenario time, with the TR step it shows as the packet's comment.
//!
//! What is in it, and what is not:
//! - the message's `Sent` record, or its `Received` one when the send was not recorded;
//! - the bytes: [`Message::bytes`] (SIP verbatim; HTTP as request/status line, headers and
//!   body — HTTPS exchanges appear decrypted, as HTTP on their TLS port; DNS encoded from what
//!   the resolver asked and got). A DNS query that got no answer in time has no answer packet;
//! - TCP: each connection opens with a SYN / SYN-ACK / ACK the first time its 4-tuple is seen
//!   (the first sender is taken as the client), sequence and acknowledgement numbers follow the
//!   bytes per direction, and a payload larger than [`MAX_SEGMENT`] is split;
//! - data channel messages (SCTP over DTLS over UDP) are left out: the trace holds them decoded,
//!   not as the DTLS records that crossed the wire.
//!
//! Timestamps are the scenario's fixed start time plus each record's time since the tap started,
//! kept non-decreasing so that the packets read in the trace's causal order.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use etherparse::{PacketBuilder, PacketBuilderStep, TcpHeader};
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use proto::trace::{Body, Message, Proto, Transport};

use super::ladder::Index;
use crate::run::Run;

/// The largest TCP payload put in one segment; larger messages are split.
pub const MAX_SEGMENT: usize = 32 * 1024;

/// Time to live of every packet (a loopback capture shows the sender's default).
const TTL: u8 = 64;

/// TCP window advertised in every segment.
const WINDOW: u16 = 65_535;

/// One IPv4 packet of the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The IPv4 packet (header, UDP or TCP header, payload).
    pub data: Vec<u8>,
}

/// The state of every TCP connection seen so far: next sequence number per direction.
#[derive(Debug, Default)]
pub struct Connections {
    next: HashMap<(SocketAddr, SocketAddr), u32>,
}

impl Connections {
    /// The frames carrying `payload` from `src` to `dst` over TCP: a handshake first if the
    /// connection is new, then one segment (PSH, ACK) per [`MAX_SEGMENT`] bytes.
    pub fn send(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> anyhow::Result<Vec<Frame>> {
        let (s, d) = (ipv4(src)?, ipv4(dst)?);
        let mut frames = Vec::new();
        if !self.next.contains_key(&(src, dst)) {
            // Initial sequence numbers from the ports, so the same run gives the same file.
            let client_isn = isn(src, dst);
            let server_isn = isn(dst, src);
            let syn = PacketBuilder::ipv4(s, d, TTL)
                .tcp(src.port(), dst.port(), client_isn, WINDOW)
                .syn();
            frames.push(tcp(syn, &[])?);
            let syn_ack = PacketBuilder::ipv4(d, s, TTL)
                .tcp(dst.port(), src.port(), server_isn, WINDOW)
                .syn()
                .ack(client_isn.wrapping_add(1));
            frames.push(tcp(syn_ack, &[])?);
            let ack = PacketBuilder::ipv4(s, d, TTL)
                .tcp(src.port(), dst.port(), client_isn.wrapping_add(1), WINDOW)
                .ack(server_isn.wrapping_add(1));
            frames.push(tcp(ack, &[])?);
            self.next.insert((src, dst), client_isn.wrapping_add(1));
            self.next.insert((dst, src), server_isn.wrapping_add(1));
        }
        for chunk in payload.chunks(MAX_SEGMENT) {
            let seq = self.next.get(&(src, dst)).copied().unwrap_or_default();
            let ack = self.next.get(&(dst, src)).copied().unwrap_or_default();
            let segment = PacketBuilder::ipv4(s, d, TTL)
                .tcp(src.port(), dst.port(), seq, WINDOW)
                .psh()
                .ack(ack);
            frames.push(tcp(segment, chunk)?);
            // A chunk is at most MAX_SEGMENT (32 KiB) long, so it fits in a u32.
            let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            self.next.insert((src, dst), seq.wrapping_add(len));
        }
        Ok(frames)
    }
}

/// The frame carrying `payload` from `src` to `dst` in one UDP datagram.
pub fn udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> anyhow::Result<Frame> {
    let builder = PacketBuilder::ipv4(ipv4(src)?, ipv4(dst)?, TTL).udp(src.port(), dst.port());
    let mut data = Vec::with_capacity(builder.size(payload.len()));
    builder
        .write(&mut data, payload)
        .map_err(|e| anyhow!("building a UDP datagram of {} bytes: {e}", payload.len()))?;
    Ok(Frame { data })
}

fn tcp(builder: PacketBuilderStep<TcpHeader>, payload: &[u8]) -> anyhow::Result<Frame> {
    let mut data = Vec::with_capacity(builder.size(payload.len()));
    builder
        .write(&mut data, payload)
        .map_err(|e| anyhow!("building a TCP segment of {} bytes: {e}", payload.len()))?;
    Ok(Frame { data })
}

fn ipv4(addr: SocketAddr) -> anyhow::Result<[u8; 4]> {
    match addr {
        SocketAddr::V4(a) => Ok(a.ip().octets()),
        SocketAddr::V6(a) => a
            .ip()
            .to_ipv4_mapped()
            .map(|ip: Ipv4Addr| ip.octets())
            .ok_or_else(|| anyhow!("{addr} is IPv6; the pcap export writes IPv4 only")),
    }
}

/// A sequence number that depends only on the two ends (FNV-1a over the ports).
fn isn(from: SocketAddr, to: SocketAddr) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in from
        .port()
        .to_be_bytes()
        .iter()
        .chain(&to.port().to_be_bytes())
    {
        h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// One message of the run as the capture shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The trace record it comes from.
    pub record: usize,
    /// The message.
    pub message: &'a Message,
    /// Time since the tap started.
    pub at: Duration,
    /// The packet comment: sender → receiver, and the TR step it shows.
    pub comment: String,
}

/// The messages a capture of `run` holds, in trace order (see the module docs for which).
pub fn packets(run: &Run) -> Vec<Packet<'_>> {
    let idx = Index::new(run);
    let sent: std::collections::HashSet<u64> = run
        .trace
        .iter()
        .filter_map(|r| match &r.body {
            Body::Sent { msg, .. } => Some(*msg),
            _ => None,
        })
        .collect();
    let figure = run.variant.figure.figure;
    let mut out = Vec::new();
    for (i, r) in run.trace.iter().enumerate() {
        let (message, from, to) = match &r.body {
            Body::Sent { message, to, .. } => (message, r.node.as_str(), to.as_deref()),
            Body::Received {
                msg, from, message, ..
            } if !sent.contains(msg) => (message, from.as_deref().unwrap_or("?"), Some(&*r.node)),
            _ => continue,
        };
        if message.proto == Proto::Dc || (message.proto == Proto::Dns && message.wire.is_none()) {
            continue;
        }
        let mut comment = format!("{from} → {}", to.unwrap_or("?"));
        let step = idx.step(i);
        if !step.is_empty() {
            comment = format!("TR 33.790 Figure {figure} {step} · {comment}");
        }
        out.push(Packet {
            record: i,
            message,
            at: r.at,
            comment,
        });
    }
    out
}

/// The run as a pcapng file (raw IPv4 link type, nanosecond timestamps from `start_time`,
/// seconds since the epoch); see the module docs for what it holds.
pub fn pcap(run: &Run, start_time: i64) -> anyhow::Result<Vec<u8>> {
    let start = Duration::from_secs(
        u64::try_from(start_time).context("the scenario start time is before 1970")?,
    );
    let mut writer = PcapNgWriter::new(Vec::new())?;
    writer.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::RAW,
        snaplen: 0,
        options: vec![
            InterfaceDescriptionOption::IfName(Cow::Borrowed("lo")),
            InterfaceDescriptionOption::IfDescription(Cow::Owned(format!(
                "testbed {} (TR 33.790 Figure {})",
                run.variant.name(),
                run.variant.figure.figure
            ))),
            // pcap-file writes timestamps in nanoseconds; say so (the default is microseconds).
            InterfaceDescriptionOption::IfTsResol(9),
        ],
    })?;
    let mut connections = Connections::default();
    let mut last = Duration::ZERO;
    for packet in packets(run) {
        let m = packet.message;
        last = last.max(packet.at);
        let frames = match m.transport {
            Transport::Udp => vec![udp(m.src, m.dst, m.bytes())?],
            Transport::Tcp | Transport::Tls => connections.send(m.src, m.dst, m.bytes())?,
        };
        let payloads = frames.len();
        for (n, frame) in frames.into_iter().enumerate() {
            // Handshake segments (all but the payload-carrying ones) carry no comment.
            let carries = n + payload_segments(m) >= payloads;
            let options = if carries {
                vec![EnhancedPacketOption::Comment(Cow::Owned(
                    packet.comment.clone(),
                ))]
            } else {
                Vec::new()
            };
            let len = u32::try_from(frame.data.len())?;
            writer.write_pcapng_block(EnhancedPacketBlock {
                interface_id: 0,
                timestamp: start + last,
                original_len: len,
                data: Cow::Owned(frame.data),
                options,
            })?;
        }
    }
    Ok(writer.into_inner())
}

/// How many frames carry `m`'s bytes: one datagram, or one TCP segment per [`MAX_SEGMENT`]
/// bytes (none for an empty message, which [`Connections::send`] sends no segment for).
fn payload_segments(m: &Message) -> usize {
    match m.transport {
        Transport::Udp => 1,
        Transport::Tcp | Transport::Tls => m.bytes().len().div_ceil(MAX_SEGMENT),
    }
}

#[cfg(test)]
mod tests {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_large_payload_is_split_into_consecutive_segments() -> anyhow::Result<()> {
        let payload: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut conns = Connections::default();
        let frames = conns.send(addr(5060), addr(6000), &payload)?;
        // SYN, SYN-ACK, ACK, then 32 KiB + 32 KiB + 4464 bytes.
        assert_eq!(frames.len(), 6);
        let mut seqs = Vec::new();
        let mut joined = Vec::new();
        for frame in &frames[3..] {
            let sliced = SlicedPacket::from_ip(&frame.data)?;
            let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
                anyhow::bail!("not IPv4");
            };
            assert_eq!(ip.header().source(), [127, 0, 0, 1]);
            let h = ip.header().to_header();
            assert_eq!(h.header_checksum, h.calc_header_checksum());
            let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
                anyhow::bail!("not TCP");
            };
            assert!(tcp.psh() && tcp.ack() && !tcp.syn());
            seqs.push((tcp.sequence_number(), tcp.payload().len()));
            joined.extend_from_slice(tcp.payload());
        }
        assert_eq!(joined, payload);
        assert_eq!(seqs[0].1, MAX_SEGMENT);
        assert_eq!(seqs[2].1, 70_000 - 2 * MAX_SEGMENT);
        let isn = isn(addr(5060), addr(6000));
        assert_eq!(seqs[0].0, isn.wrapping_add(1));
        assert_eq!(seqs[1].0, isn.wrapping_add(1 + MAX_SEGMENT as u32));
        assert_eq!(seqs[2].0, isn.wrapping_add(1 + 2 * MAX_SEGMENT as u32));

        // The answer on the same connection: no new handshake, acking every byte sent.
        let back = conns.send(addr(6000), addr(5060), b"SIP/2.0 200 OK\r\n\r\n")?;
        assert_eq!(back.len(), 1);
        let sliced = SlicedPacket::from_ip(&back[0].data)?;
        let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
            anyhow::bail!("not TCP");
        };
        assert_eq!(tcp.acknowledgment_number(), isn.wrapping_add(1 + 70_000));
        Ok(())
    }
}
