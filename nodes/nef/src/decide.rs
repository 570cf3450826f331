//! The NEF's decisions, pure: who a client is, which designated IMPU an allocation gets, and
//! which authorization server an authorisation goes to.

use std::collections::{BTreeMap, BTreeSet};

use proto::wire::authz::{Allocation, AllocationRequest, AuthorizeRequest, AuthzOption};

use crate::refusal::NoServer;
use crate::{NefConfig, PoolEntry};

pub use kit::tls::dns_names;

/// A designated IMPU the NEF allocated: for whom, and which authorization server owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What was allocated.
    pub allocation: Allocation,
    /// The employee's own IMPU it was allocated for.
    pub employee_impu: String,
    /// The AF that asked for it: where option A authorisations go.
    pub authz_host: String,
}

/// What the NEF remembers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Allocated IMPUs.
    pub records: BTreeMap<String, Record>,
    /// IMPUs taken out of the pool while their provisioning is under way.
    pub reserved: BTreeSet<String>,
}

impl Table {
    fn taken(&self, impu: &str) -> bool {
        self.records.contains_key(impu) || self.reserved.contains(impu)
    }
}

/// Which of the `allowed` hosts the client is, by its TLS certificate (already verified against
/// the world's CA by the TLS layer); the reason if none.
pub fn identify<'a>(
    certificate: Option<&[u8]>,
    allowed: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> Result<String, String> {
    let der = certificate.ok_or_else(|| format!("no client certificate: {what} only"))?;
    let names = dns_names(der)?;
    allowed
        .into_iter()
        .find(|a| names.iter().any(|n| n.eq_ignore_ascii_case(a)))
        .map(str::to_owned)
        .ok_or_else(|| format!("client certificate names {names:?}: {what} only"))
}

/// The allocation already made for this realm, employee and third-party ID (a repeated request
/// gets the same IMPU).
pub fn existing<'a>(
    table: &'a Table,
    realm: &str,
    employee_impu: &str,
    id3p: &str,
) -> Option<&'a Allocation> {
    table
        .records
        .values()
        .find(|r| {
            r.allocation.realm == realm
                && r.employee_impu == employee_impu
                && r.allocation.id3p == id3p
        })
        .map(|r| &r.allocation)
}

/// The first IMPU of the pool neither allocated nor reserved.
pub fn next_free<'a>(pool: &'a [PoolEntry], table: &Table) -> Option<&'a PoolEntry> {
    pool.iter().find(|p| !table.taken(&p.impu))
}

/// What an allocation request comes to (step 0a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Asked before: the same allocation again.
    Existing(Allocation),
    /// This pool entry, now reserved until its provisioning at the HSS is settled.
    Reserved(PoolEntry),
    /// No free designated IMPU is left.
    Exhausted,
}

/// Step 0a: the existing allocation for this request, or the next free IMPU of the pool,
/// reserved in `table`.
pub fn reserve(
    table: &mut Table,
    pool: &[PoolEntry],
    realm: &str,
    request: &AllocationRequest,
) -> Reservation {
    if let Some(done) = existing(table, realm, &request.employee_impu, &request.id3p) {
        return Reservation::Existing(done.clone());
    }
    let Some(entry) = next_free(pool, table).cloned() else {
        return Reservation::Exhausted;
    };
    table.reserved.insert(entry.impu.clone());
    Reservation::Reserved(entry)
}

/// Where an authorisation goes and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The authorization server's host.
    pub authz_host: String,
    /// Why it was selected, for the trace.
    pub why: String,
}

/// Step 2: selects the third party's authorization server for a request — option B by its
/// realm, option A by the record of the designated IMPU. Why not when there is none.
pub fn select(
    config: &NefConfig,
    table: &Table,
    req: &AuthorizeRequest,
) -> Result<Selection, NoServer> {
    match req.option {
        AuthzOption::B => {
            let realm = req.realm.as_deref().ok_or(NoServer::NoRealm)?;
            let host = config
                .realms
                .get(realm)
                .ok_or_else(|| NoServer::UnknownRealm(realm.to_owned()))?;
            Ok(Selection {
                authz_host: host.clone(),
                why: format!("option B, realm {realm}"),
            })
        }
        AuthzOption::A => {
            let record = table
                .records
                .get(&req.impu)
                .ok_or_else(|| NoServer::NotDesignated(req.impu.clone()))?;
            Ok(Selection {
                authz_host: record.authz_host.clone(),
                why: format!(
                    "option A, designated IMPU of realm {}",
                    record.allocation.realm
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kit::fixtures;
    use proto::trace::Reason;

    const AUTHZ: &str = "authz.enterprise.example";
    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const ID3P: &str = "tel:+12025550100";

    fn der(host: &str) -> Vec<u8> {
        let pem = fixtures::read(&format!("pki/tls/{host}.pem")).unwrap();
        x509_parser::pem::Pem::iter_from_buffer(&pem)
            .next()
            .unwrap()
            .unwrap()
            .contents
    }

    fn record(impu: &str, employee: &str) -> Record {
        Record {
            allocation: Allocation {
                impu: impu.into(),
                tn: "+12025550100".into(),
                id3p: ID3P.into(),
                realm: AUTHZ.into(),
            },
            employee_impu: employee.into(),
            authz_host: AUTHZ.into(),
        }
    }

    #[test]
    fn clients_are_identified_by_their_certificate() {
        let authz = der(AUTHZ);
        let as_o = der("as.ims.mnc001.mcc001.3gppnetwork.org");
        assert_eq!(identify(Some(&authz), [AUTHZ], "AFs").unwrap(), AUTHZ);
        let e = identify(Some(&as_o), [AUTHZ], "AFs only").unwrap_err();
        assert!(e.contains("as.ims.mnc001") && e.contains("AFs only"), "{e}");
        assert!(
            identify(None, [AUTHZ], "AFs")
                .unwrap_err()
                .contains("no client certificate")
        );
        assert!(identify(Some(b"junk"), [AUTHZ], "AFs").is_err());
    }

    #[test]
    fn pool_is_allocated_in_order_and_reservations_count() {
        let c = NefConfig::load().unwrap();
        let mut t = Table::default();
        assert_eq!(next_free(&c.pool, &t).unwrap().impu, c.pool[0].impu);
        t.reserved.insert(c.pool[0].impu.clone());
        assert_eq!(next_free(&c.pool, &t).unwrap().impu, c.pool[1].impu);
        t.records
            .insert(c.pool[1].impu.clone(), record(&c.pool[1].impu, UE_A));
        assert!(next_free(&c.pool, &t).is_none());
        assert_eq!(
            existing(&t, AUTHZ, UE_A, ID3P).unwrap().impu,
            c.pool[1].impu
        );
        assert!(existing(&t, AUTHZ, UE_A, "tel:+1999").is_none());
        assert!(existing(&t, "other", UE_A, ID3P).is_none());
    }

    #[test]
    fn reservations_existing_reserved_exhausted() {
        let c = NefConfig::load().unwrap();
        let mut t = Table::default();
        let ask = |employee: &str| AllocationRequest {
            employee_impu: employee.into(),
            id3p: ID3P.into(),
        };
        assert_eq!(
            reserve(&mut t, &c.pool, AUTHZ, &ask(UE_A)),
            Reservation::Reserved(c.pool[0].clone())
        );
        assert!(t.reserved.contains(&c.pool[0].impu));
        t.reserved.clear();
        t.records
            .insert(c.pool[0].impu.clone(), record(&c.pool[0].impu, UE_A));
        assert_eq!(
            reserve(&mut t, &c.pool, AUTHZ, &ask(UE_A)),
            Reservation::Existing(record(&c.pool[0].impu, UE_A).allocation)
        );
        assert_eq!(
            reserve(&mut t, &c.pool, AUTHZ, &ask("sip:other@x")),
            Reservation::Reserved(c.pool[1].clone())
        );
        assert_eq!(
            reserve(&mut t, &c.pool, AUTHZ, &ask("sip:third@x")),
            Reservation::Exhausted
        );
    }

    #[test]
    fn selection_by_realm_or_designated_impu() {
        let c = NefConfig::load().unwrap();
        let mut t = Table::default();
        let mut req = AuthorizeRequest {
            impu: UE_A.into(),
            option: AuthzOption::B,
            realm: Some(AUTHZ.into()),
            id3p: Some(ID3P.into()),
            token: Some("t".into()),
            proof: None,
        };
        assert_eq!(select(&c, &t, &req).unwrap().authz_host, AUTHZ);
        req.realm = Some("authz.other.example".into());
        let e = select(&c, &t, &req).unwrap_err();
        assert!(
            e.to_string()
                .contains("no third party authorization server"),
            "{e}"
        );
        assert_eq!(e.reason(), Reason::NoRecord);
        req.realm = None;
        let e = select(&c, &t, &req).unwrap_err();
        assert!(e.to_string().contains("no realm"), "{e}");
        assert_eq!(e.reason(), Reason::Malformed);
        let designated = "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org";
        let a = AuthorizeRequest {
            impu: designated.into(),
            option: AuthzOption::A,
            realm: None,
            id3p: None,
            token: None,
            proof: None,
        };
        let e = select(&c, &t, &a).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{designated} is not a designated IMPU")
        );
        assert_eq!(e.reason(), Reason::NoRecord);
        t.records
            .insert(designated.into(), record(designated, UE_A));
        let s = select(&c, &t, &a).unwrap();
        assert_eq!(s.authz_host, AUTHZ);
        assert!(s.why.starts_with("option A"));
    }
}
