//! TCP ports that name one node. The trace names every port by the node that owns it, and its
//! text names ports by number alone (a Via `rport`, an SRV answer, an ICE candidate), so within
//! one world a port number must belong to one node, whatever the transport. UDP and TCP ports
//! are numbered independently, and Linux reuses numbers freely, so every TCP socket the world
//! opens here claims its number on the world's tap ([`Tap::claim_port`]) and holds a UDP socket
//! on the same number for the world's lifetime ([`Tap::keep_guard`]): no UDP socket of another
//! node (an ICE candidate, the DNS server) can then take it. A number the tap refuses is simply
//! not used: the socket is dropped and another picked.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::tap::Tap;

/// How many ports are tried before giving up.
const ATTEMPTS: usize = 64;

/// Whose socket it is: the world's tap and the node's name. `None` outside a world (unit tests
/// of one component): nothing is claimed.
pub type Owner<'a> = Option<(&'a Tap, &'a str)>;

fn unspecified(ipv4: bool) -> IpAddr {
    if ipv4 {
        IpAddr::from(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::from(Ipv6Addr::UNSPECIFIED)
    }
}

/// Whether `owner` may have `port`: it is free of UDP sockets and no other node of the world
/// used it. The guard socket is kept on the tap.
fn claim(owner: Owner<'_>, ip: IpAddr, port: u16) -> bool {
    let Some((tap, node)) = owner else {
        return true;
    };
    let Ok(guard) = std::net::UdpSocket::bind(SocketAddr::new(unspecified(ip.is_ipv4()), port))
    else {
        return false;
    };
    if !tap.claim_port(port, node) {
        return false;
    }
    tap.keep_guard(guard);
    true
}

fn exhausted() -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("no port free for this node in {ATTEMPTS} attempts"),
    )
}

/// Opens a TCP connection from a port bound for it alone (Linux shares a `connect`-time
/// ephemeral port between connections to different peers), claimed for `owner`.
pub async fn connect_tcp(peer: SocketAddr, owner: Owner<'_>) -> io::Result<TcpStream> {
    let any = unspecified(peer.is_ipv4());
    for _ in 0..ATTEMPTS {
        let socket = if peer.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(any, 0))?;
        let port = socket.local_addr()?.port();
        if claim(owner, any, port) {
            return socket.connect(peer).await;
        }
    }
    Err(exhausted())
}

/// A TCP listener on `ip` with an OS-chosen port, claimed for `owner`.
pub async fn listen_tcp(ip: IpAddr, owner: Owner<'_>) -> io::Result<TcpListener> {
    for _ in 0..ATTEMPTS {
        let listener = TcpListener::bind(SocketAddr::new(ip, 0)).await?;
        let port = listener.local_addr()?.port();
        if claim(owner, ip, port) {
            return Ok(listener);
        }
    }
    Err(exhausted())
}

/// A UDP socket on `ip` with an OS-chosen port that no other node of the world used, claimed
/// for `owner` (the socket itself holds the number against other UDP sockets; TCP sockets of
/// the world claim theirs through [`claim`], which the tap then refuses).
pub async fn bind_udp(ip: IpAddr, owner: Owner<'_>) -> io::Result<tokio::net::UdpSocket> {
    for _ in 0..ATTEMPTS {
        let socket = tokio::net::UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let port = socket.local_addr()?.port();
        if owner.is_none_or(|(tap, node)| tap.claim_port(port, node)) {
            return Ok(socket);
        }
    }
    Err(exhausted())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_claimed_port_is_held_against_udp_and_other_nodes() {
        let tap = Tap::new();
        let listener = listen_tcp(Ipv4Addr::LOCALHOST.into(), Some((&tap, "hss")))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        // The number is held for UDP too, and is the node's.
        assert!(std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_err());
        assert!(!tap.claim_port(port, "as"));
        assert_eq!(tap.ports(), vec![(port, "hss".to_owned())]);
        let stream = connect_tcp(listener.local_addr().unwrap(), Some((&tap, "as")))
            .await
            .unwrap();
        let client = stream.local_addr().unwrap().port();
        assert_ne!(client, port);
        assert!(std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, client)).is_err());
        tap.release_guards();
        drop(stream);
        drop(listener);
        assert!(std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
    }
}
