//! What `testbed serve` prints once the world is up, in a stable order: the clock, the DNS
//! server, each operator's P-CSCF, the subscribers and their credentials, the Ms endpoints with
//! the client certificate they require and a `curl` example, and the control endpoint.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::node::{DNS, PCSCF_O, PCSCF_T, STI_AS_O, STI_VS_T};
use crate::solution::{Solution, Variant};
use crate::world::{ORIG, TERM, World};

use super::clock;

/// A P-CSCF: where an operator's subscribers register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcscf {
    /// Its node id (`pcscf-o`).
    pub id: String,
    /// The operator's domain (the Digest realm).
    pub domain: String,
    /// Its hostname.
    pub host: String,
    /// Its SIP address (UDP and TCP on the same port).
    pub addr: SocketAddr,
}

/// A subscriber an external client may register as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// The world's UE id (`ue-a`).
    pub id: String,
    /// Who it is.
    pub name: String,
    /// Its IMPU.
    pub impu: String,
    /// Its number.
    pub tn: String,
    /// Its IMPI (Digest username).
    pub impi: String,
    /// Its Digest password (a fixture secret).
    pub password: String,
    /// The P-CSCF to register at (id).
    pub pcscf: String,
    /// Whether the world's own UE registered it (an external client registering later takes
    /// over its calls).
    pub registered_by_world: bool,
}

/// An Ms server (STI-AS or STI-VS) and what a client presents to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ms {
    /// Its node id.
    pub id: String,
    /// Its hostname (the TLS server name).
    pub host: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its Ms path.
    pub path: &'static str,
    /// The client certificate chain it accepts (the operator's IMS AS).
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

/// Everything the banner shows.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The solution served, for people.
    pub solution: String,
    /// The variant whose world it is.
    pub variant: String,
    /// The clock chosen, and why.
    pub clock: String,
    /// The DNS server.
    pub dns: SocketAddr,
    /// The P-CSCFs.
    pub pcscfs: Vec<Pcscf>,
    /// The subscribers.
    pub subscribers: Vec<Subscriber>,
    /// STI-AS then STI-VS.
    pub ms: Vec<Ms>,
    /// The trust anchor of the world's TLS (for `--cacert`).
    pub tls_ca: PathBuf,
    /// The control endpoint.
    pub control: SocketAddr,
}

/// The fixtures directory, absolute where it can be.
fn fixtures() -> PathBuf {
    let dir = kit::fixtures::dir();
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

impl Overview {
    /// The overview of a started world; `registered` lists the UEs the world registered.
    pub fn of(
        world: &World,
        solution: &Solution,
        variant: &Variant,
        clock: &clock::Choice,
        control: SocketAddr,
        registered: &[&str],
    ) -> anyhow::Result<Self> {
        let d = &world.description;
        let mut pcscfs = Vec::new();
        for (id, domain) in [(PCSCF_O, ORIG), (PCSCF_T, TERM)] {
            pcscfs.push(Pcscf {
                id: id.to_owned(),
                domain: domain.to_owned(),
                host: d.host(id)?.to_owned(),
                addr: world.addr(id)?,
            });
        }
        let mut subscribers = Vec::new();
        for ue in &d.ue {
            let Some(c) = d.credential(&ue.impu)? else {
                continue;
            };
            let pcscf = if ue.impu.ends_with(TERM) {
                PCSCF_T
            } else {
                PCSCF_O
            };
            subscribers.push(Subscriber {
                id: ue.id.clone(),
                name: ue.name.clone(),
                impu: ue.impu.clone(),
                tn: ue.tn.clone(),
                impi: c.impi,
                password: c.password,
                pcscf: pcscf.to_owned(),
                registered_by_world: registered.contains(&ue.id.as_str()),
            });
        }
        let pki = fixtures().join("pki");
        let mut ms = Vec::new();
        for (id, client, path) in [
            (STI_AS_O, "as-o", stir::ms::SIGNING_PATH),
            (STI_VS_T, "as-t", stir::ms::VERIFICATION_PATH),
        ] {
            let client_host = d.host(client)?;
            ms.push(Ms {
                id: id.to_owned(),
                host: d.host(id)?.to_owned(),
                addr: world.addr(id)?,
                path,
                cert: pki.join(format!("tls/{client_host}.chain.pem")),
                key: pki.join(format!("tls/{client_host}.key.pem")),
            });
        }
        Ok(Overview {
            solution: format!("Solution {} — {}", solution.number, solution.title),
            variant: variant.name(),
            clock: clock.why.clone(),
            dns: world.addr(DNS)?,
            pcscfs,
            subscribers,
            ms,
            tls_ca: pki.join("tls-ca.pem"),
            control,
        })
    }
}

fn shell(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The `curl` line asking `ms` (the STI-AS) to sign a `shaken` PASSporT for `orig` → `dest`
/// (TS 24.229 Annex V.2's `signingRequest`; the STI-AS sets `iat` itself).
pub fn curl_signing(ms: &Ms, ca: &Path, orig: &str, dest: &str) -> String {
    let body = format!(
        r#"{{"signingRequest":{{"attest":"A","orig":{{"tn":"{}"}},"dest":{{"tn":["{}"]}},"iat":'"$(date +%s)"'}}}}"#,
        proto::tn::digits(orig),
        proto::tn::digits(dest)
    );
    format!(
        "curl -s --resolve {host}:{port}:{ip} --cacert {ca} --cert {cert} --key {key} -H 'content-type: application/json' -d '{body}' https://{host}:{port}{path}",
        host = ms.host,
        port = ms.addr.port(),
        ip = ms.addr.ip(),
        ca = shell(ca),
        cert = shell(&ms.cert),
        key = shell(&ms.key),
        path = ms.path,
    )
}

/// The `curl` line having the world's `from` call `to` through the control endpoint.
pub fn curl_call(control: SocketAddr, from: &str, to: &str) -> String {
    format!(
        r#"curl -s -X POST http://{control}{path} -H 'content-type: application/json' -d '{{"from":"{from}","to":"{to}"}}'"#,
        path = super::control::CALLS_PATH
    )
}

/// The banner. Pure.
pub fn render(o: &Overview) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "testbed serve: {} (the world of {})",
        o.solution, o.variant
    );
    let _ = writeln!(s, "clock: {}", o.clock);
    let _ = writeln!(
        s,
        "dns: {} (UDP, TCP; authoritative for the world's names)",
        o.dns
    );
    let _ = writeln!(
        s,
        "\nP-CSCFs (SIP over UDP and TCP on one port; register and call here):"
    );
    for p in &o.pcscfs {
        let _ = writeln!(
            s,
            "  {} {} sip:{} UDP,TCP realm {}",
            p.id, p.addr, p.host, p.domain
        );
    }
    let _ = writeln!(
        s,
        "\nSubscribers (SIP Digest: SHA-256 when the first REGISTER names the IMPI in Authorization, as IMS UEs do; MD5 when it carries no Authorization — served worlds only, choice serve-digest-md5):"
    );
    for u in &o.subscribers {
        let pcscf = o
            .pcscfs
            .iter()
            .find(|p| p.id == u.pcscf)
            .map_or_else(String::new, |p| p.addr.to_string());
        let world = if u.registered_by_world {
            "registered by the world; a client registering it takes over its calls (latest registration wins)"
        } else {
            "not registered by the world (--external, or a trunk user): free for an external client"
        };
        let _ = writeln!(s, "  {} ({})", u.id, u.name);
        let _ = writeln!(s, "    impu {}", u.impu);
        let _ = writeln!(s, "    tn {}", u.tn);
        let _ = writeln!(s, "    impi {}", u.impi);
        let _ = writeln!(s, "    password {}", u.password);
        let _ = writeln!(s, "    p-cscf {} {pcscf}", u.pcscf);
        let _ = writeln!(s, "    {world}");
    }
    let _ = writeln!(
        s,
        "\nMs (HTTPS, TS 24.229 Annex V.2; mutual TLS: present the operator's IMS AS certificate; CA {}):",
        o.tls_ca.display()
    );
    for m in &o.ms {
        let _ = writeln!(
            s,
            "  {} https://{}:{}{} at {}",
            m.id,
            m.host,
            m.addr.port(),
            m.path,
            m.addr
        );
        let _ = writeln!(s, "    cert {}", m.cert.display());
        let _ = writeln!(s, "    key {}", m.key.display());
    }
    let caller = o.subscribers.iter().find(|u| u.id == crate::node::UE_A);
    let callee = o.subscribers.iter().find(|u| u.id == crate::node::UE_B);
    if let (Some(sti_as), Some(a), Some(b)) = (o.ms.first(), caller, callee) {
        let _ = writeln!(
            s,
            "  sign (STI-AS): {}",
            curl_signing(sti_as, &o.tls_ca, &a.tn, &b.tn)
        );
    }
    let _ = writeln!(
        s,
        "\ncontrol: http://{} (testbed tui --attach {})",
        o.control, o.control
    );
    if let Some(b) = callee {
        let _ = writeln!(
            s,
            "  call (the world's UE-A calls UE-B): {}",
            curl_call(o.control, crate::node::UE_A, &b.tn)
        );
    }
    let _ = writeln!(s, "\nready: Ctrl-C stops the world");
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn overview() -> Overview {
        let a: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        Overview {
            solution: "Solution 2 — x".into(),
            variant: "2:single".into(),
            clock: "system clock".into(),
            dns: a,
            pcscfs: vec![Pcscf {
                id: "pcscf-o".into(),
                domain: "ims.a".into(),
                host: "pcscf.ims.a".into(),
                addr: "127.0.0.1:5070".parse().unwrap(),
            }],
            subscribers: ["ue-a", "ue-b"]
                .iter()
                .map(|id| Subscriber {
                    id: (*id).into(),
                    name: "U".into(),
                    impu: format!("sip:+1{id}@ims.a"),
                    tn: if *id == "ue-a" {
                        "+1202".into()
                    } else {
                        "+1215".into()
                    },
                    impi: "i".into(),
                    password: "p".into(),
                    pcscf: "pcscf-o".into(),
                    registered_by_world: *id == "ue-a",
                })
                .collect(),
            ms: vec![Ms {
                id: "sti-as-o".into(),
                host: "sti-as.ims.a".into(),
                addr: "127.0.0.1:8443".parse().unwrap(),
                path: "/stir/v1/signing",
                cert: "/f/pki/tls/as.ims.a.chain.pem".into(),
                key: "/f/pki/tls/as.ims.a.key.pem".into(),
            }],
            tls_ca: "/f/pki/tls-ca.pem".into(),
            control: "127.0.0.1:7060".parse().unwrap(),
        }
    }

    #[test]
    fn banner_names_every_address_and_credential() {
        let text = render(&overview());
        assert!(text.contains("dns: 127.0.0.1:5060"), "{text}");
        assert!(text.contains("  pcscf-o 127.0.0.1:5070 sip:pcscf.ims.a UDP,TCP realm ims.a\n"));
        assert!(text.contains(
            "    password p\n    p-cscf pcscf-o 127.0.0.1:5070\n    registered by the world"
        ));
        assert!(text.contains("not registered by the world"));
        assert!(text.contains(
            "curl -s --resolve sti-as.ims.a:8443:127.0.0.1 --cacert /f/pki/tls-ca.pem --cert /f/pki/tls/as.ims.a.chain.pem --key /f/pki/tls/as.ims.a.key.pem"
        ));
        assert!(
            text.contains(r#""orig":{"tn":"1202"},"dest":{"tn":["1215"]}"#),
            "{text}"
        );
        assert!(text.contains("https://sti-as.ims.a:8443/stir/v1/signing"));
        assert!(
            text.contains("control: http://127.0.0.1:7060 (testbed tui --attach 127.0.0.1:7060)")
        );
        assert!(text.contains(r#"-d '{"from":"ue-a","to":"+1215"}'"#));
        assert!(text.ends_with("ready: Ctrl-C stops the world\n"));
    }

    #[test]
    fn paths_with_spaces_are_quoted() {
        assert_eq!(shell(Path::new("/a b/c")), "'/a b/c'");
        assert_eq!(shell(Path::new("/a/b.pem")), "/a/b.pem");
    }
}
